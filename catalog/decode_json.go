package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
)

// maxDepth is how deeply values may nest. A catalog needs four levels
// (catalog, personas, persona, moduleMix); the limit keeps a hostile file from
// exhausting the stack.
const maxDepth = 64

// tooDeep is the message for a value nested deeper than maxDepth.
const tooDeep = "values nest more than 64 levels deep; a catalog needs 4 (catalog, personas, persona, moduleMix)"

// decodeJSON reads one JSON document into a tree. A syntax error ends the
// reading, so it is then the only diagnostic and the returned tree is invalid.
//
// The tree is built by jsonReader, which walks the bytes once. Building it
// from encoding/json's Decoder.Token would cost ten times as much (the decoder
// reads every string and number through reflection, 400ms for a catalog of
// 10,000 personas), so encoding/json is asked only when the reader rejects
// the file: its messages are the ones people know.
func decodeJSON(file string, data []byte) (node, []Diagnostic) {
	r := jsonReader{data: data, ix: newPositionIndex(data)}
	root, ok := r.document()
	switch {
	case r.tooDeep != nil:
		return node{}, []Diagnostic{{Severity: SeverityError, File: file, Line: r.tooDeep.line, Col: r.tooDeep.col, Message: tooDeep}}
	case !ok:
		return node{}, []Diagnostic{jsonSyntaxError(file, data)}
	}
	return root, nil
}

// jsonReader builds a tree from a JSON document as RFC 8259 defines it,
// rejecting exactly what encoding/json rejects. It only says whether the
// document is valid; jsonSyntaxError says what is wrong.
type jsonReader struct {
	data []byte
	off  int
	ix   *positionIndex
	// tooDeep is where values nest deeper than maxDepth, if they do.
	tooDeep *position
	// fields and items hold the members of the objects and arrays being read,
	// innermost last, so that each gets a slice of exactly its length
	// instead of one grown by appending.
	fields []field
	items  []node
}

// document reads the one value data holds, with nothing but whitespace after it.
func (r *jsonReader) document() (node, bool) {
	root, ok := r.value(0)
	r.skipSpace()
	return root, ok && r.off == len(r.data)
}

func (r *jsonReader) skipSpace() {
	for r.off < len(r.data) && isJSONSpace(r.data[r.off]) {
		r.off++
	}
}

func isJSONSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\r' || b == '\n' }

func (r *jsonReader) value(depth int) (node, bool) {
	r.skipSpace()
	if r.off == len(r.data) {
		return node{}, false
	}
	pos := r.ix.position(r.off)
	switch c := r.data[r.off]; {
	case c == '{' || c == '[':
		if depth == maxDepth {
			r.tooDeep = &pos
			return node{}, false
		}
		if c == '{' {
			return r.object(pos, depth)
		}
		return r.array(pos, depth)
	case c == '"':
		s, ok := r.string()
		return node{kind: kindString, lit: litJSON, pos: pos, text: s}, ok
	case c == '-' || ('0' <= c && c <= '9'):
		return r.number(pos)
	}
	for _, lit := range []struct {
		text string
		kind kind
	}{{"true", kindBool}, {"false", kindBool}, {"null", kindNull}} {
		if bytes.HasPrefix(r.data[r.off:], []byte(lit.text)) {
			r.off += len(lit.text)
			return node{kind: lit.kind, pos: pos, text: lit.text}, true
		}
	}
	return node{}, false
}

func (r *jsonReader) object(pos position, depth int) (node, bool) {
	n := node{kind: kindObject, pos: pos}
	r.off++ // {
	r.skipSpace()
	if r.consume('}') {
		return n, true
	}
	base := len(r.fields)
	defer func() { r.fields = r.fields[:base] }()
	for {
		r.skipSpace()
		if r.off == len(r.data) || r.data[r.off] != '"' {
			return node{}, false
		}
		keyPos := r.ix.position(r.off)
		key, ok := r.string()
		if !ok {
			return node{}, false
		}
		r.skipSpace()
		if !r.consume(':') {
			return node{}, false
		}
		v, ok := r.value(depth + 1)
		if !ok {
			return node{}, false
		}
		r.fields = append(r.fields, field{key: key, keyPos: keyPos, keyLit: litJSON, value: v})
		r.skipSpace()
		if r.consume('}') {
			n.fields = slices.Clone(r.fields[base:])
			return n, true
		}
		if !r.consume(',') {
			return node{}, false
		}
	}
}

func (r *jsonReader) array(pos position, depth int) (node, bool) {
	n := node{kind: kindArray, pos: pos}
	r.off++ // [
	r.skipSpace()
	if r.consume(']') {
		return n, true
	}
	base := len(r.items)
	defer func() { r.items = r.items[:base] }()
	for {
		v, ok := r.value(depth + 1)
		if !ok {
			return node{}, false
		}
		r.items = append(r.items, v)
		r.skipSpace()
		if r.consume(']') {
			n.items = slices.Clone(r.items[base:])
			return n, true
		}
		if !r.consume(',') {
			return node{}, false
		}
	}
}

// consume skips c if it comes next.
func (r *jsonReader) consume(c byte) bool {
	if r.off < len(r.data) && r.data[r.off] == c {
		r.off++
		return true
	}
	return false
}

// string reads a string literal. Most have no escapes and are sliced out as
// they are; the others are unquoted by encoding/json, which knows every escape.
func (r *jsonReader) string() (string, bool) {
	start := r.off
	r.off++ // "
	escaped := false
	for r.off < len(r.data) {
		switch c := r.data[r.off]; {
		case c == '"':
			r.off++
			if !escaped {
				return string(r.data[start+1 : r.off-1]), true
			}
			var s string
			err := json.Unmarshal(r.data[start:r.off], &s)
			return s, err == nil
		case c == '\\':
			escaped = true
			r.off += 2 // the escape's first character can never end the string
		case c < 0x20: // control characters must be escaped
			return "", false
		default:
			r.off++
		}
	}
	return "", false
}

// number reads a number as JSON's grammar has it:
// -? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?
func (r *jsonReader) number(pos position) (node, bool) {
	start := r.off
	r.consume('-')
	if !r.consume('0') && r.digits() == 0 {
		return node{}, false
	}
	if r.consume('.') && r.digits() == 0 {
		return node{}, false
	}
	if r.consume('e') || r.consume('E') {
		if !r.consume('+') {
			r.consume('-')
		}
		if r.digits() == 0 {
			return node{}, false
		}
	}
	text := string(r.data[start:r.off])
	// A range error leaves ±Inf, which the validator reports as not finite.
	f, _ := strconv.ParseFloat(text, 64)
	return node{kind: kindNumber, pos: pos, text: text, number: f}, true
}

// digits skips a run of digits and returns its length.
func (r *jsonReader) digits() int {
	start := r.off
	for r.off < len(r.data) && '0' <= r.data[r.off] && r.data[r.off] <= '9' {
		r.off++
	}
	return r.off - start
}

// jsonSyntaxError says what is wrong with data, which jsonReader rejected, and
// where, by reading it with encoding/json's tokens up to the first error.
func jsonSyntaxError(file string, data []byte) Diagnostic {
	dec := json.NewDecoder(bytes.NewReader(data))
	ix := newPositionIndex(data)
	at := func(off int, msg string) Diagnostic {
		p := ix.position(off)
		return Diagnostic{Severity: SeverityError, File: file, Line: p.line, Col: p.col, Message: msg}
	}
	for depth := 0; ; {
		start := nextToken(data, int(dec.InputOffset()))
		tok, err := dec.Token()
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			off := badChar(data, se, start)
			if looksLikeYAML(data, off) {
				return at(off, "invalid JSON: "+se.Error()+"; this looks like YAML: name the file .yaml or pass --catalog-format=yaml")
			}
			return at(off, "invalid JSON: "+se.Error()+"; "+jsonSyntaxHint(se.Error()))
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return at(len(data), `the file ends in the middle of the JSON document; a closing }, ] or " is missing`)
		case err != nil:
			return at(start, "invalid JSON: "+err.Error())
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 { // the document is complete, so what follows is the problem
			off := int(dec.InputOffset())
			for off < len(data) && isJSONSpace(data[off]) {
				off++
			}
			return at(off, "unexpected data after the end of the JSON document; a catalog is one object: remove what follows its closing }")
		}
	}
}

// nextToken returns the offset where the token after off starts: the
// decoder's offset is the end of the previous token, before any whitespace,
// comma or colon.
func nextToken(data []byte, off int) int {
	for off < len(data) && (isJSONSpace(data[off]) || data[off] == ',' || data[off] == ':') {
		off++
	}
	return off
}

// badChar returns the offset of the character a SyntaxError complains about;
// start is where the token being read begins. Errors between tokens carry the
// decoder's offset, which is that character's. Errors inside a string, number
// or literal carry a count of the bytes the decoder has scanned inside values
// so far, which locates nothing once tokens have been read; reading the value
// again on its own reproduces the error with a count from the value's start.
func badChar(data []byte, se *json.SyntaxError, start int) int {
	var again *json.SyntaxError
	err := json.NewDecoder(bytes.NewReader(data[start:])).Decode(new(json.RawMessage))
	if errors.As(err, &again) && again.Error() == se.Error() {
		return start + int(again.Offset) - 1 // Offset counts the bad character too
	}
	return int(se.Offset)
}

// jsonSyntaxHint says how to mend the usual JSON mistakes.
func jsonSyntaxHint(msg string) string {
	switch {
	case strings.HasPrefix(msg, "invalid character '}' looking for beginning of object key"):
		return "JSON allows no comma before }: remove it"
	case strings.HasPrefix(msg, "invalid character ']' looking for beginning of value"):
		return "a value is missing; JSON allows no comma before ]: remove it"
	case strings.HasPrefix(msg, `invalid character '\''`):
		return "JSON strings and keys take double quotes"
	case strings.HasSuffix(msg, "after object key:value pair"), strings.HasSuffix(msg, "after array element"):
		return "a comma is missing before this point"
	case strings.HasSuffix(msg, "after object key"):
		return "a colon is missing after the key"
	case strings.HasSuffix(msg, "looking for beginning of object key string"):
		return `keys must be strings in double quotes`
	case strings.Contains(msg, "in string literal"):
		return `control characters such as newlines and tabs must be escaped in JSON strings (\n, \t)`
	}
	return "fix the JSON syntax at this point"
}

// looksLikeYAML reports whether a JSON syntax error at off means that a YAML
// catalog was read as JSON: the file starts with a YAML document marker, or the
// error is at its first character and that character could start a YAML key.
func looksLikeYAML(data []byte, off int) bool {
	first := 0
	for first < len(data) && isJSONSpace(data[first]) {
		first++
	}
	if bytes.HasPrefix(data[first:], []byte("---")) {
		return true
	}
	if off != first || first == len(data) {
		return false
	}
	c := data[first]
	return c == '#' || c == '-' || c == '$' || c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}
