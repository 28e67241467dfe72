// Package fastjson decodes the large and the many JSON documents a plan
// reads (the state file, the admin API's detail answers) in one pass, with the
// implementation of the standard library's encoding/json/v2
// (github.com/go-json-experiment/json, which Go 1.27 ships as
// encoding/json/v2). encoding/json scans a document twice, once to check
// it and once to decode it, and allocates more on the way: on a
// 10,000-persona state file, one pass takes well under half the time.
//
// It accepts a subset of what encoding/json accepts: an object that gives
// a name twice (in any letter case), or a string that is not UTF-8, is an
// error here. Every caller decodes again with encoding/json when Unmarshal
// fails (Decode does both), so that encoding/json decides each document
// that is not plain and says what is wrong with it; where Unmarshal
// succeeds, its result is
// the one encoding/json would give. FuzzStateDocumentOnePass (state/file,
// whose state holds the persona values state/postgres decodes too) and
// FuzzDetail (state/adminapi) check that on the types decoded here.
package fastjson

import (
	stdjson "encoding/json"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// options make names match fields in any letter case, and in nothing
// else, as encoding/json matches them: json/v2's own case-insensitive
// matching also ignores underscores and dashes ("userid" would fill
// user_id).
var options = json.JoinOptions(
	json.MatchCaseInsensitiveNames(true),
	jsonv1.MatchCaseSensitiveDelimiter(true),
	json.WithUnmarshalers(json.UnmarshalFromFunc(unmarshalTime)),
)

// unmarshalTime reads a time.Time as encoding/json does, through its
// UnmarshalJSON with the value's bytes as they are: json/v2 would decode
// the string's escapes first, and so read "…\u005a" (Z), which
// encoding/json refuses.
func unmarshalTime(dec *jsontext.Decoder, t *time.Time) error {
	raw, err := dec.ReadValue()
	if err != nil {
		return err
	}
	return t.UnmarshalJSON(raw)
}

// Unmarshal decodes data into v, or fails where encoding/json might decide
// otherwise; v may then hold part of data and must be decoded afresh.
func Unmarshal(data []byte, v any) error {
	return json.Unmarshal(data, v, options)
}

// Decode decodes data into v in one pass or, where that fails, afresh with
// encoding/json, whose result and errors (its error types) the caller then
// gets.
func Decode[T any](data []byte, v *T) error {
	if Unmarshal(data, v) == nil {
		return nil
	}
	var zero T
	*v = zero
	return stdjson.Unmarshal(data, v)
}
