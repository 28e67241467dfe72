package fastjson

import (
	"encoding/json"
	"reflect"
	"testing"
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
