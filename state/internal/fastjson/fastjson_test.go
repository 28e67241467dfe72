package fastjson

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
)

type doc struct {
	UserID string  `json:"user_id"`
	Email  string  `json:"email"`
	Score  float64 `json:"score"`
}

// TestMatchesNamesAsEncodingJSON: any letter case matches, and nothing
// else does: json/v2 on its own would also ignore underscores.
func TestMatchesNamesAsEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`{"user_id":"u1","email":"a@mana.test","score":1.5}`,
		`{"USER_ID":"u1","Email":"a@mana.test","sCoRe":1.5}`,
		`{"userid":"u1","e-mail":"a@mana.test","Score":1.5}`,
		`{"user_id":"u1","unknown":{"nested":[1,2]}}`,
	} {
		var fast, std doc
		if err := Unmarshal([]byte(in), &fast); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if err := json.Unmarshal([]byte(in), &std); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fast, std) {
			t.Errorf("%s: %+v, encoding/json reads %+v", in, fast, std)
		}
	}
}

// TestRefusesWhatEncodingJSONMightReadOtherwise: a name given twice (in
// any letter case) and invalid UTF-8 are errors, so that the caller's
// encoding/json path decides them.
func TestRefusesWhatEncodingJSONMightReadOtherwise(t *testing.T) {
	for _, in := range []string{
		`{"email":"a@mana.test","email":"b@mana.test"}`,
		`{"email":"a@mana.test","EMAIL":"b@mana.test"}`,
		"{\"email\":\"\xff\"}",
		`{"email":`,
		`[]`,
	} {
		var d doc
		if err := Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("%q was read as %+v; want an error", in, d)
		}
	}
}

// TestReadsTimesAsEncodingJSON: a time is read by time.Time's UnmarshalJSON
// from the value's bytes as they are, so an escape in it fails as it does
// in encoding/json, and null leaves it as it was.
func TestReadsTimesAsEncodingJSON(t *testing.T) {
	type doc struct {
		At time.Time `json:"at"`
	}
	earlier := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, in := range []string{
		`{"at":"2026-11-29T10:00:00Z"}`,
		`{"at":"2026-11-29T10:00:00+01:00"}`,
		`{"at":null}`,
		`{"at":"2026-11-29T10:00:00\u005a"}`,
		`{"at":"2026\u002d11-29T10:00:00Z"}`,
		`{"at":1}`,
		`{"at":"yesterday"}`,
	} {
		fast, std := doc{At: earlier}, doc{At: earlier}
		fastErr := Unmarshal([]byte(in), &fast)
		stdErr := json.Unmarshal([]byte(in), &std)
		switch {
		case (fastErr == nil) != (stdErr == nil):
			t.Errorf("%s: error %v, encoding/json's %v", in, fastErr, stdErr)
		case fastErr == nil && !fast.At.Equal(std.At):
			t.Errorf("%s: %v, encoding/json reads %v", in, fast.At, std.At)
		}
	}
}

// TestDecodeLeavesToEncodingJSONWhatOnePassRefuses: a name given twice is
// read as encoding/json reads it (the last wins), and a broken document
// fails with encoding/json's error, which callers describe.
func TestDecodeLeavesToEncodingJSONWhatOnePassRefuses(t *testing.T) {
	var d doc
	if err := Decode([]byte(`{"user_id":"u1","score":2,"email":"a@mana.test","email":"b@mana.test"}`), &d); err != nil {
		t.Fatal(err)
	}
	if want := (doc{UserID: "u1", Score: 2, Email: "b@mana.test"}); d != want {
		t.Errorf("read %+v, want %+v", d, want)
	}
	var syntax *json.SyntaxError
	if err := Decode([]byte(`{"email":`), &d); !errors.As(err, &syntax) {
		t.Errorf("a broken document: %T %v, want encoding/json's *SyntaxError", err, err)
	}
}
