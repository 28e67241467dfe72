package catalog

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Characters that hide what a reviewer reads: a name or prompt that shows
// one thing in a pull request's diff while the runner is given another.
// Bidirectional controls reorder the text around them (the "Trojan Source"
// trick); C0 and C1 control characters are invisible, or act on the
// terminal that prints them (a carriage return rewrites the line, an
// escape sequence recolours or clears it).

// hiddenRuneName names the characters hiddenRune finds, as Unicode does.
var hiddenRuneName = map[rune]string{
	0x00: "NULL", 0x01: "START OF HEADING", 0x02: "START OF TEXT", 0x03: "END OF TEXT",
	0x04: "END OF TRANSMISSION", 0x05: "ENQUIRY", 0x06: "ACKNOWLEDGE", 0x07: "BELL",
	0x08: "BACKSPACE", 0x09: "CHARACTER TABULATION", 0x0A: "LINE FEED", 0x0B: "LINE TABULATION",
	0x0C: "FORM FEED", 0x0D: "CARRIAGE RETURN", 0x0E: "SHIFT OUT", 0x0F: "SHIFT IN",
	0x10: "DATA LINK ESCAPE", 0x11: "DEVICE CONTROL ONE", 0x12: "DEVICE CONTROL TWO", 0x13: "DEVICE CONTROL THREE",
	0x14: "DEVICE CONTROL FOUR", 0x15: "NEGATIVE ACKNOWLEDGE", 0x16: "SYNCHRONOUS IDLE", 0x17: "END OF TRANSMISSION BLOCK",
	0x18: "CANCEL", 0x19: "END OF MEDIUM", 0x1A: "SUBSTITUTE", 0x1B: "ESCAPE",
	0x1C: "INFORMATION SEPARATOR FOUR", 0x1D: "INFORMATION SEPARATOR THREE", 0x1E: "INFORMATION SEPARATOR TWO", 0x1F: "INFORMATION SEPARATOR ONE",
	0x7F: "DELETE", 0x85: "NEXT LINE", 0x9B: "CONTROL SEQUENCE INTRODUCER",
	0x061C: "ARABIC LETTER MARK", 0x200E: "LEFT-TO-RIGHT MARK", 0x200F: "RIGHT-TO-LEFT MARK",
	0x202A: "LEFT-TO-RIGHT EMBEDDING", 0x202B: "RIGHT-TO-LEFT EMBEDDING", 0x202C: "POP DIRECTIONAL FORMATTING",
	0x202D: "LEFT-TO-RIGHT OVERRIDE", 0x202E: "RIGHT-TO-LEFT OVERRIDE",
	0x2066: "LEFT-TO-RIGHT ISOLATE", 0x2067: "RIGHT-TO-LEFT ISOLATE", 0x2068: "FIRST STRONG ISOLATE", 0x2069: "POP DIRECTIONAL ISOLATE",
}

// isBidiControl reports whether r is one of Unicode's bidirectional
// formatting characters.
func isBidiControl(r rune) bool {
	return r == 0x061C || r == 0x200E || r == 0x200F || (0x202A <= r && r <= 0x202E) || (0x2066 <= r && r <= 0x2069)
}

// hiddenRune returns the byte offset and value of the first character of s
// that hides what a reviewer reads, or -1. multiline allows line feeds and
// tabs, which a prompt may hold. It looks at bytes rather than decoding
// runes: every prompt of a catalog passes through it.
func hiddenRune(s string, multiline bool) (int, rune) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < 0x20 || c == 0x7F:
			if !multiline || (c != '\n' && c != '\t') {
				return i, rune(c)
			}
		case c < 0xC2: // ASCII, or a continuation byte
		case c == 0xC2: // U+0080 to U+00BF; C1 is U+0080 to U+009F
			if i+1 < len(s) && 0x80 <= s[i+1] && s[i+1] <= 0x9F {
				return i, rune(s[i+1])
			}
		case c == 0xD8: // U+0600 to U+063F
			if i+1 < len(s) && s[i+1] == 0x9C {
				return i, 0x061C
			}
		case c == 0xE2: // U+2000 to U+2FFF
			if r, _ := utf8.DecodeRuneInString(s[i:]); isBidiControl(r) {
				return i, r
			}
		}
	}
	return -1, 0
}

// hiddenReason says why the character r cannot stay, and what to do.
func hiddenReason(r rune, member string) string {
	switch {
	case isBidiControl(r):
		return "it changes the order in which the text around it is shown, so it hides what a reviewer reads; remove it"
	case (r == '\n' || r == '\t') && member != "systemPrompt":
		return "only systemPrompt may hold line breaks and tabs; remove it (in YAML, write the value on the key's line rather than after | or >)"
	case r == '\r' && member == "systemPrompt":
		return `a carriage return makes a terminal write over the line before it, so it hides what a reviewer reads; end lines with a line feed alone (\n)`
	}
	return "control characters are invisible, or act on the terminal that shows them, so they hide what a reviewer reads; remove it"
}

// runeName is "U+202E RIGHT-TO-LEFT OVERRIDE", or "U+0090 (a C1 control
// character)" for a character Unicode gives no name.
func runeName(r rune) string {
	if name, ok := hiddenRuneName[r]; ok {
		return fmt.Sprintf("U+%04X %s", r, name)
	}
	return fmt.Sprintf("U+%04X (a C1 control character)", r)
}

// hidden reports the first character of a string value or key that hides
// what a reviewer reads, located at the character itself, and says whether
// there was one. member is the persona member the string belongs to, which
// decides what is allowed; what names the string ("personas[0].name"), and
// is called only for a string that has such a character, since every
// string of a catalog is checked.
func (v *validator) hidden(s string, at position, style litStyle, member string, what func() string) bool {
	off, r := hiddenRune(s, member == "systemPrompt")
	if off < 0 {
		return false
	}
	index := utf8.RuneCountInString(s[:off]) // which character of s, from 0
	more := 0
	for rest := s[off+utf8.RuneLen(r):]; ; {
		next, _ := hiddenRune(rest, member == "systemPrompt")
		if next < 0 {
			break
		}
		more++
		_, size := utf8.DecodeRuneInString(rest[next:])
		rest = rest[next+size:]
	}
	also := ""
	if more > 0 {
		also = fmt.Sprintf(" (the first of %d such characters)", more+1)
	}
	p := v.locate(s, index, r, at, style)
	v.errorf(p, "%s has %s at character %d%s: %s", what(), runeName(r), index+1, also, hiddenReason(r, member))
	return true
}

// litStyle says how a string value is written in its file, so that a
// position inside it can be found: where the decoded text came from.
type litStyle uint8

const (
	// litUnknown: the value's text cannot be traced in the file (it comes
	// through a YAML alias), so a position inside it is the value's own.
	litUnknown litStyle = iota
	// litJSON: a JSON string, which may hold escapes.
	litJSON
	// litYAMLDouble: a double-quoted YAML scalar, which may hold escapes.
	litYAMLDouble
	// litYAMLRaw: a plain, single-quoted or block YAML scalar: every
	// character but a line break is written as it is.
	litYAMLRaw
)

// locate returns where in the file the character at index (counted in
// runes) of the string s starts: the escape sequence or the raw character
// that wrote it. at is where the string starts. When the character cannot
// be traced (through an alias, or a line break YAML folded), it returns at.
func (v *validator) locate(s string, index int, r rune, at position, style litStyle) position {
	if style == litUnknown || v.data == nil {
		return at
	}
	// Which occurrence of r in s to find.
	nth := 0
	for _, c := range []rune(s)[:index] {
		if c == r {
			nth++
		}
	}
	start, ok := v.offset(at)
	if !ok {
		return at
	}
	data := v.data
	off := start
	if style == litJSON || style == litYAMLDouble {
		// Past the opening quote, and in YAML an anchor or tag before it.
		q := bytes.IndexByte(data[off:], '"')
		if q < 0 {
			return at
		}
		off += q + 1
	}
	breaks := r == '\n' || r == '\r'
	for off < len(data) {
		c, size := utf8.DecodeRune(data[off:])
		if (style == litJSON || style == litYAMLDouble) && c == '"' {
			return at
		}
		decoded, escLen := c, 0
		if c == '\\' && style != litYAMLRaw {
			decoded, escLen = unescape(data[off:], style)
		}
		// A raw line break is folded in YAML; only an escape writes one
		// for certain.
		if decoded == r && (escLen > 0 || !breaks) {
			if nth == 0 {
				return newPositionIndex(data).position(off)
			}
			nth--
		}
		if escLen > 0 {
			off += escLen
		} else {
			off += size
		}
	}
	return at
}

// jsonEscapes are the one-letter escapes of JSON and of YAML's double
// quotes that write a control character; yamlEscapes are YAML's own.
var (
	jsonEscapes = map[byte]rune{'n': '\n', 't': '\t', 'r': '\r', 'b': '\b', 'f': '\f'}
	yamlEscapes = map[byte]rune{'0': 0, 'a': '\a', 'v': '\v', 'e': 0x1B, 'N': 0x85, '\t': '\t'}
)

// unescape reads the escape sequence at the start of b (which starts with
// a backslash) and returns the character it writes, or -1 for one that
// writes none (YAML's escaped line break), and its length in bytes.
func unescape(b []byte, style litStyle) (rune, int) {
	if len(b) < 2 {
		return -1, len(b)
	}
	hex := func(n int) (rune, int) {
		if len(b) < 2+n {
			return -1, len(b)
		}
		v, err := strconv.ParseUint(string(b[2:2+n]), 16, 32)
		if err != nil {
			return -1, 2
		}
		return rune(v), 2 + n
	}
	yaml := style == litYAMLDouble
	switch c := b[1]; {
	case c == 'u':
		return hex(4)
	case yaml && c == 'x':
		return hex(2)
	case yaml && c == 'U':
		return hex(8)
	case yaml && (c == '\n' || c == '\r'):
		return -1, 2
	}
	if r, ok := jsonEscapes[b[1]]; ok {
		return r, 2
	}
	if r, ok := yamlEscapes[b[1]]; ok && yaml {
		return r, 2
	}
	r, size := utf8.DecodeRune(b[1:])
	return r, 1 + size
}

// offset returns the byte offset of a position in the file.
func (v *validator) offset(p position) (int, bool) {
	if p.line < 1 || p.col < 1 {
		return 0, false
	}
	ix := newPositionIndex(v.data)
	for off := range v.data {
		if ix.position(off) == p {
			return off, true
		}
	}
	return 0, false
}
