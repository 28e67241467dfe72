package catalog

import (
	"bytes"
	"errors"
	"io"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// maxDepth is how deeply values may nest. A catalog needs four levels
// (catalog, personas, persona, moduleMix); the limit keeps a hostile file from
// exhausting the stack.
const maxDepth = 64

// tooDeep is the message for a value nested deeper than maxDepth.
const tooDeep = "values nest more than 64 levels deep; a catalog needs 4 (catalog, personas, persona, moduleMix)"

// decodeJSON reads one JSON document into a tree. A syntax error ends the
// reading, so it is then the only diagnostic and the returned tree is invalid.
// What encoding/json accepts is accepted: duplicate names (the validator
// reports them) and escapes of lone surrogates (read as U+FFFD).
func decodeJSON(file string, data []byte) (node, []Diagnostic) {
	r := jsonReader{
		dec:  jsontext.NewDecoder(bytes.NewReader(data), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)),
		data: data,
		ix:   newPositionIndex(data),
	}
	at := func(off int, msg string) []Diagnostic {
		p := r.ix.position(off)
		return []Diagnostic{{Severity: SeverityError, File: file, Line: p.line, Col: p.col, Message: msg}}
	}
	root, err := r.value(0)
	var located locatedError
	var se *jsontext.SyntacticError
	switch {
	case err == nil:
		if off := skipJSONSpace(data, int(r.dec.InputOffset())); off < len(data) {
			return node{}, at(off, "unexpected data after the end of the JSON document; a catalog is one object: remove what follows its closing }")
		}
		return root, nil
	case errors.As(err, &located):
		return node{}, at(located.off, located.msg)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return node{}, at(len(data), `the file ends in the middle of the JSON document; a closing }, ] or " is missing`)
	case errors.As(err, &se) && se.Err != nil:
		off := int(se.ByteOffset)
		if looksLikeYAML(data, off) {
			return node{}, at(off, "invalid JSON: "+se.Err.Error()+"; this looks like YAML: name the file .yaml or pass --catalog-format=yaml")
		}
		return node{}, at(off, "invalid JSON: "+se.Err.Error()+"; "+jsonSyntaxHint(se.Err.Error(), data, off))
	}
	return node{}, at(r.next(), "invalid JSON: "+err.Error())
}

// jsonReader builds a tree from the tokens of a jsontext.Decoder, which
// rejects what RFC 8259 does.
type jsonReader struct {
	dec  *jsontext.Decoder
	data []byte
	ix   *positionIndex
}

// locatedError is a problem the reader finds itself, at a byte offset.
type locatedError struct {
	off int
	msg string
}

func (e locatedError) Error() string { return e.msg }

// next returns the offset where the next token starts: the decoder's offset
// is the end of the previous token, before any whitespace, comma or colon.
func (r *jsonReader) next() int {
	off := int(r.dec.InputOffset())
	return off + len(r.data[off:]) - len(bytes.TrimLeft(r.data[off:], " \t\r\n,:"))
}

// value reads the next value; depth is how many objects and arrays enclose it.
func (r *jsonReader) value(depth int) (node, error) {
	start := r.next()
	tok, err := r.dec.ReadToken()
	if err != nil {
		return node{}, err
	}
	pos := r.ix.position(start)
	switch kind := tok.Kind(); kind {
	case '{', '[':
		if depth == maxDepth {
			return node{}, locatedError{start, tooDeep}
		}
		if kind == '{' {
			return r.object(pos, depth)
		}
		return r.array(pos, depth)
	case '"':
		return node{kind: kindString, lit: litJSON, pos: pos, text: tok.String()}, nil
	case '0':
		// A range error leaves ±Inf, which the validator reports as not finite.
		f, _ := tok.Float()
		return node{kind: kindNumber, pos: pos, text: tok.String(), number: f}, nil
	case 'n':
		return node{kind: kindNull, pos: pos, text: "null"}, nil
	}
	return node{kind: kindBool, pos: pos, text: tok.String()}, nil
}

func (r *jsonReader) object(pos position, depth int) (node, error) {
	n := node{kind: kindObject, pos: pos}
	for {
		start := r.next()
		// The decoder would read name as the literal null, misspelt.
		if start < len(r.data) && strings.IndexByte(`"}'`, r.data[start]) < 0 {
			return node{}, locatedError{start, "invalid JSON: this key is not quoted; keys must be strings in double quotes"}
		}
		tok, err := r.dec.ReadToken()
		if err != nil {
			return node{}, err
		}
		if tok.Kind() == '}' {
			return n, nil
		}
		// A token is valid until the next is read.
		key, keyPos := tok.String(), r.ix.position(start)
		v, err := r.value(depth + 1)
		if err != nil {
			return node{}, err
		}
		n.fields = append(n.fields, field{key: key, keyPos: keyPos, keyLit: litJSON, value: v})
	}
}

func (r *jsonReader) array(pos position, depth int) (node, error) {
	n := node{kind: kindArray, pos: pos}
	for r.dec.PeekKind() != ']' {
		v, err := r.value(depth + 1)
		if err != nil {
			return node{}, err
		}
		n.items = append(n.items, v)
	}
	_, err := r.dec.ReadToken()
	return n, err
}

// skipJSONSpace returns the offset of the first byte from off on that is not whitespace.
func skipJSONSpace(data []byte, off int) int {
	return len(data) - len(bytes.TrimLeft(data[min(off, len(data)):], " \t\r\n"))
}

// jsonSyntaxHint says how to mend the usual JSON mistakes. msg is the
// decoder's, about the character at off.
func jsonSyntaxHint(msg string, data []byte, off int) string {
	switch {
	case strings.HasPrefix(msg, "invalid character ','"):
		before := bytes.TrimRight(data[:off], " \t\r\n")
		after := skipJSONSpace(data, off+1)
		switch {
		case bytes.HasSuffix(before, []byte(":")):
			return "a value is missing after the colon"
		case after < len(data) && (data[after] == '}' || data[after] == ']'):
			return "JSON allows no comma before " + string(data[after]) + ": remove it"
		}
		return "a value is missing between two commas: remove one"
	case strings.HasPrefix(msg, `invalid character '\''`):
		return "JSON strings and keys take double quotes"
	case strings.Contains(msg, "after object value"), strings.Contains(msg, "after array element"):
		return "a comma is missing before this point"
	case strings.Contains(msg, "after object name"):
		return "a colon is missing after the key"
	case strings.Contains(msg, "expecting non-control character"):
		return `control characters such as newlines and tabs must be escaped in JSON strings (\n, \t)`
	}
	return "fix the JSON syntax at this point"
}

// looksLikeYAML reports whether a JSON syntax error at off means that a YAML
// catalog was read as JSON: the file starts with a YAML document marker, or the
// error is at its first character and that character could start a YAML key.
func looksLikeYAML(data []byte, off int) bool {
	first := skipJSONSpace(data, 0)
	if bytes.HasPrefix(data[first:], []byte("---")) {
		return true
	}
	if off != first || first == len(data) {
		return false
	}
	c := data[first]
	return c == '#' || c == '-' || c == '$' || c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}
