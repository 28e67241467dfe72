package manaauthdev

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
)

// The real service is TypeScript: its checks follow JavaScript's truthiness
// and string length, and what it stores went through JSON.parse and
// JSON.stringify. These helpers reproduce exactly that much of JavaScript.

// truthy reports whether JavaScript would treat the decoded JSON value as true.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return true
		}
		return f != 0 && !math.IsNaN(f)
	default: // objects and arrays
		return true
	}
}

// jsLength is value.length in JavaScript: UTF-16 code units for a string,
// elements for an array, and ok=false (undefined) for anything else.
func jsLength(v any) (n int, ok bool) {
	switch x := v.(type) {
	case string:
		return utf16Len(x), true
	case []any:
		return len(x), true
	}
	return 0, false
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// jsNumber formats a JSON number the way JSON.stringify(JSON.parse(n)) does.
func jsNumber(n json.Number) string {
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return "null"
	}
	switch {
	case math.IsInf(f, 0) || math.IsNaN(f):
		return "null"
	case f == 0:
		return "0"
	}
	abs := math.Abs(f)
	if abs >= 1e21 || abs < 1e-6 {
		s := strconv.FormatFloat(f, 'e', -1, 64) // 1.5e-07
		mant, exp, _ := strings.Cut(s, "e")
		sign := exp[:1]
		digits := strings.TrimLeft(exp[1:], "0")
		return mant + "e" + sign + digits
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// jsString is JavaScript's String(v) for a decoded JSON value: numbers
// as JavaScript prints them, arrays joined with "," (null elements as ""),
// objects as "[object Object]".
func jsString(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(x)
	case string:
		return x
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil && math.IsInf(f, 0) {
			if f > 0 {
				return "Infinity"
			}
			return "-Infinity"
		}
		return jsNumber(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			if e != nil {
				parts[i] = jsString(e)
			}
		}
		return strings.Join(parts, ",")
	default:
		return "[object Object]"
	}
}

// jsParseInt is JavaScript's parseInt(s) without a radix: leading white
// space, a sign, then "0x" and hexadecimal digits or decimal digits, up to
// the first other character; NaN when there are no digits.
func jsParseInt(s string) float64 {
	// Lowercase: no other character lowers to a digit or an x.
	s = strings.ToLower(strings.TrimLeftFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == '\uFEFF' }))
	sign := 1.0
	if s != "" && (s[0] == '+' || s[0] == '-') {
		if s[0] == '-' {
			sign = -1
		}
		s = s[1:]
	}
	base, digits := 10.0, "0123456789"
	if len(s) > 1 && s[0] == '0' && s[1] == 'x' {
		base, digits, s = 16, "0123456789abcdef", s[2:]
	}
	end := 0
	for end < len(s) && strings.IndexByte(digits, s[end]) >= 0 {
		end++
	}
	if end == 0 {
		return math.NaN()
	}
	if base == 10 {
		n, _ := strconv.ParseFloat(s[:end], 64) // correctly rounded, as JavaScript's
		return sign * n
	}
	n := 0.0
	for i := range end {
		n = n*base + float64(strings.IndexByte(digits, s[i]))
	}
	return sign * n
}

// jsNumberJSON is JSON.stringify of a JavaScript number: NaN and the
// infinities become null.
func jsNumberJSON(f float64) json.RawMessage {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return json.RawMessage("null")
	}
	return json.RawMessage(jsNumber(json.Number(strconv.FormatFloat(f, 'g', -1, 64))))
}

// errJSONBNull is what PostgreSQL says about a NUL character in jsonb.
var errJSONBNull = errors.New(`unsupported Unicode escape sequence: \u0000 cannot be converted to text`)

// parseJSON is JSON.parse: one JSON value, its numbers as written, and
// nothing after it.
func parseJSON(raw []byte) (v any, err error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data")
	}
	return v, nil
}

// jsonbText returns the JSON text PostgreSQL's jsonb gives back for raw:
// object keys sorted shorter first, then bytewise, duplicate keys resolved
// last-wins, insignificant whitespace dropped.
func jsonbText(raw []byte) (json.RawMessage, error) {
	v, err := parseJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid input syntax for type json: %w", err)
	}
	var buf bytes.Buffer
	err = writeJSONB(&buf, v, false)
	return buf.Bytes(), err
}

// jsonbFromValue is jsonbText for a value the service decoded, its
// numbers first rewritten as JavaScript prints them.
func jsonbFromValue(v any) (json.RawMessage, error) {
	var buf bytes.Buffer
	err := writeJSONB(&buf, v, true)
	return buf.Bytes(), err
}

// writeJSONB writes v as jsonb gives it back, its numbers as JavaScript
// prints them when jsNumbers is set.
func writeJSONB(buf *bytes.Buffer, v any, jsNumbers bool) error {
	switch x := v.(type) {
	case json.Number:
		if jsNumbers {
			buf.WriteString(jsNumber(x))
			return nil
		}
	case string:
		if strings.ContainsRune(x, 0) {
			return errJSONBNull
		}
	case []any:
		buf.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeJSONB(buf, e, jsNumbers); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
		return nil
	case map[string]any:
		keys := slices.SortedFunc(maps.Keys(x), func(a, b string) int {
			return cmp.Or(cmp.Compare(len(a), len(b)), strings.Compare(a, b))
		})
		buf.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeJSONB(buf, k, false); err != nil {
				return err
			}
			buf.WriteByte(':')
			if err := writeJSONB(buf, x[k], jsNumbers); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
		return nil
	}
	// null, booleans, strings and numbers as written.
	b, err := marshal(v)
	buf.Write(b)
	return err
}
