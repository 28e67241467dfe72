package adminapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"time"
	"unicode/utf8"
)

// The admin API's paths.
const (
	pathHealth   = "/health"
	pathPersonas = "/api/v1/admin/personas"
	pathUsers    = "/api/v1/admin/users"
	pathLogin    = "/api/v1/auth/login"
)

// listEntry is what personactl keeps of a list entry: the detail, read
// next, has the rest (fresher). Keeping less keeps a long list small.
type listEntry struct {
	UserID    string   `json:"userId"`
	Email     string   `json:"email"`
	CreatedAt wireTime `json:"createdAt"`
	Actions7d int      `json:"actions7d"`
}

// wirePersona is a persona as the list (with actions7d) and the detail (with
// systemPrompt and moduleMix) spell it. Unknown fields are ignored; a known
// field of the wrong type is an error.
type wirePersona struct {
	UserID       string   `json:"userId"`
	Email        string   `json:"email"`
	Name         string   `json:"name"`
	Archetype    string   `json:"archetype"`
	SystemPrompt string   `json:"systemPrompt"`
	ModuleMix    wireMix  `json:"moduleMix"`
	TickCadence  string   `json:"tickCadence"`
	LastActiveAt wireTime `json:"lastActiveAt"`
	CreatedAt    wireTime `json:"createdAt"`
	Actions7d    int      `json:"actions7d"`
}

// wireMix is a moduleMix: an object of numbers. mana-auth also accepts and
// stores an array (its check is typeof === "object"); an array is read the
// way JavaScript's Object.entries reads it, with the indexes as keys.
type wireMix map[string]float64

func (m *wireMix) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if obj, ok := plainMix(b); ok {
		*m = obj
		return nil
	}
	switch {
	case len(b) > 0 && b[0] == '{':
		var obj map[string]float64
		if err := json.Unmarshal(b, &obj); err != nil {
			return mixTypeError(err)
		}
		*m = obj
	case len(b) > 0 && b[0] == '[':
		var arr []float64
		if err := json.Unmarshal(b, &arr); err != nil {
			return mixTypeError(err)
		}
		*m = make(wireMix, len(arr))
		for i, v := range arr {
			(*m)[strconv.Itoa(i)] = v
		}
	case string(b) == "null":
		*m = nil
	default:
		return &json.UnmarshalTypeError{Value: jsonValueKind(b), Type: reflect.TypeFor[map[string]float64]()}
	}
	return nil
}

// plainMix reads the common case without a second pass of encoding/json:
// {"key":number,…} with keys free of escapes and no spaces around the
// punctuation. Anything else (escapes, whitespace, other types, a key
// given twice) is left to encoding/json, with ok false.
func plainMix(b []byte) (obj map[string]float64, ok bool) {
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return nil, false
	}
	obj = make(map[string]float64, 4)
	rest := b[1 : len(b)-1]
	for len(rest) > 0 {
		if rest[0] != '"' {
			return nil, false
		}
		end := bytes.IndexByte(rest[1:], '"')
		if end < 0 {
			return nil, false
		}
		key := rest[1 : 1+end]
		if bytes.IndexByte(key, '\\') >= 0 || !utf8.Valid(key) || bytes.ContainsFunc(key, func(r rune) bool { return r < 0x20 }) {
			return nil, false
		}
		rest = rest[2+end:]
		if len(rest) == 0 || rest[0] != ':' {
			return nil, false
		}
		rest = rest[1:]
		n := bytes.IndexByte(rest, ',')
		num := rest
		if n >= 0 {
			num, rest = rest[:n], rest[n+1:]
			if len(rest) == 0 {
				return nil, false // a trailing comma
			}
		} else {
			rest = nil
		}
		if !jsonNumber(num) {
			return nil, false
		}
		v, err := strconv.ParseFloat(string(num), 64)
		if err != nil {
			return nil, false
		}
		if _, dup := obj[string(key)]; dup {
			return nil, false
		}
		obj[string(key)] = v
	}
	return obj, true
}

// jsonNumber reports whether b is a number as JSON writes it.
func jsonNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i)
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		if i = digits(b, i+1); b[i-1] == '.' {
			return false // no digit after the point
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		start := i
		if i = digits(b, i); i == start {
			return false
		}
	}
	return i == len(b)
}

// digits returns the index past the digits of b from i.
func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// mixTypeError reports a weight that is not a number as such.
func mixTypeError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &json.UnmarshalTypeError{Value: te.Value, Type: reflect.TypeFor[float64]()}
	}
	return err
}

// wireTime is an ISO-8601 timestamp or null.
type wireTime struct {
	t     time.Time
	valid bool
}

func (w *wireTime) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*w = wireTime{}
		return nil
	}
	s, ok := plainString(b)
	if !ok && (len(b) == 0 || b[0] != '"' || json.Unmarshal(b, &s) != nil) {
		return &json.UnmarshalTypeError{Value: jsonValueKind(b), Type: reflect.TypeFor[time.Time]()}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("time %q is not ISO-8601", s)
	}
	*w = wireTime{t: t.UTC(), valid: true}
	return nil
}

// plainString reads a JSON string that needs no decoding, as every
// timestamp mana-auth sends is: quoted, without escapes, valid UTF-8. b is
// a value the decoder has already checked. Anything else is left to
// encoding/json, with ok false.
func plainString(b []byte) (s string, ok bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	inner := b[1 : len(b)-1]
	if bytes.IndexByte(inner, '\\') >= 0 || !utf8.Valid(inner) {
		return "", false
	}
	return string(inner), true
}

func (w wireTime) ptr() *time.Time {
	if !w.valid {
		return nil
	}
	t := w.t
	return &t
}

// jsonValueKind names the kind of a raw JSON value as encoding/json does in
// its UnmarshalTypeError.Value.
func jsonValueKind(b []byte) string {
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

// objectWalker reads a JSON object one member at a time from a stream, so
// that large arrays inside it never sit in memory whole.
type objectWalker struct {
	dec *json.Decoder
}

func newObjectWalker(r io.Reader) *objectWalker { return &objectWalker{dec: json.NewDecoder(r)} }

// walk calls member for each key of the top-level object; member must consume
// the value (with w.dec) or return false to have it skipped.
func (w *objectWalker) walk(member func(key string) (consumed bool, err error)) error {
	if err := w.expectDelim('{', "an object"); err != nil {
		return err
	}
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		consumed, err := member(key)
		if err != nil {
			return err
		}
		if !consumed {
			if err := w.skip(); err != nil {
				return err
			}
		}
	}
	_, err := w.dec.Token() // the closing brace
	return err
}

// array reads an array value element by element; a null counts as empty.
func (w *objectWalker) array(elem func(i int) error) error {
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return &json.UnmarshalTypeError{Value: tokenKind(tok), Type: reflect.TypeFor[[]any]()}
	}
	for i := 0; w.dec.More(); i++ {
		if err := elem(i); err != nil {
			return err
		}
	}
	_, err = w.dec.Token() // the closing bracket
	return err
}

// skip consumes one value of any shape without keeping it.
func (w *objectWalker) skip() error {
	depth := 0
	for {
		tok, err := w.dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}

func (w *objectWalker) expectDelim(want json.Delim, what string) error {
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("the answer is %s, want %s", jsonKind(tokenKind(tok)), what)
	}
	return nil
}

func tokenKind(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '{' {
			return "object"
		}
		return "array"
	case string:
		return "string"
	case float64, json.Number:
		return "number"
	case bool:
		return "bool"
	case nil:
		return "null"
	}
	return "something else"
}
