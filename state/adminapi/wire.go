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

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// The admin API's paths.
const (
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

func (m *wireMix) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	if dec.PeekKind() != '[' {
		return jsonv2.UnmarshalDecode(dec, (*map[string]float64)(m))
	}
	var arr []float64
	if err := jsonv2.UnmarshalDecode(dec, &arr); err != nil {
		return err
	}
	*m = make(wireMix, len(arr))
	for i, v := range arr {
		(*m)[strconv.Itoa(i)] = v
	}
	return nil
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
	s, err := jsontext.AppendUnquote(nil, b)
	if err != nil {
		return &json.UnmarshalTypeError{Value: jsonValueKind(b), Type: reflect.TypeFor[time.Time]()}
	}
	t, err := time.Parse(time.RFC3339Nano, string(s))
	if err != nil {
		return fmt.Errorf("time %q is not ISO-8601", s)
	}
	*w = wireTime{t: t.UTC(), valid: true}
	return nil
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

// wireOptions make json/v2 accept what encoding/json accepts: names match
// fields in any letter case and in nothing else (json/v2's own
// case-insensitive matching also ignores underscores and dashes), a name
// may be given twice, and a string need not be UTF-8.
var wireOptions = jsonv2.JoinOptions(
	jsonv2.MatchCaseInsensitiveNames(true),
	jsonv1.MatchCaseSensitiveDelimiter(true),
	jsontext.AllowDuplicateNames(true),
	jsontext.AllowInvalidUTF8(true),
)

// wireError explains an error of json/v2 as decodeError explains one of
// encoding/json, the field named by its path ("feedbackByModule[0].avgRating").
func wireError(r request, err error) error {
	var syn *jsontext.SyntacticError
	var sem *jsonv2.SemanticError
	switch {
	case errors.As(err, &syn) && errors.Is(syn.Err, io.ErrUnexpectedEOF):
		return decodeError(r, pointerField(syn.JSONPointer), syn.Err)
	case errors.As(err, &syn):
		return decodeError(r, pointerField(syn.JSONPointer), fmt.Errorf("malformed JSON at byte %d: %v", syn.ByteOffset, syn.Err))
	case !errors.As(err, &sem):
		return decodeError(r, "", err)
	}
	value := jsonValueKind([]byte{byte(sem.JSONKind)})
	if value == "number" && len(sem.JSONValue) > 0 {
		value += " " + string(sem.JSONValue)
	}
	var te *json.UnmarshalTypeError
	switch {
	case sem.JSONPointer == "":
		return decodeError(r, "", fmt.Errorf("the answer is %s, want an object", jsonKind(value)))
	case errors.As(sem.Err, &te): // from wireTime
	case sem.Err == nil, errors.Is(sem.Err, strconv.ErrRange), errors.Is(sem.Err, strconv.ErrSyntax):
		te = &json.UnmarshalTypeError{Value: value, Type: sem.GoType}
	default:
		return decodeError(r, pointerField(sem.JSONPointer), sem.Err)
	}
	return decodeError(r, pointerField(sem.JSONPointer), te)
}

// pointerField writes a JSON pointer as a field path: "/a/0/b" is "a[0].b".
func pointerField(p jsontext.Pointer) string {
	field := ""
	for tok := range p.Tokens() {
		if _, err := strconv.Atoi(tok); err == nil {
			field += "[" + tok + "]"
		} else {
			field = joinField(field, tok)
		}
	}
	return field
}
