package manaauthdev

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestJSNumberPrintsLikeJSONStringify(t *testing.T) {
	cases := map[string]string{
		"0.30":                  "0.3",
		"1e2":                   "100",
		"1.0":                   "1",
		"-0":                    "0",
		"0.1":                   "0.1",
		"1e21":                  "1e+21",
		"123456789012345678901": "123456789012345680000",
		"1.5e-7":                "1.5e-7",
		"0.000001":              "0.000001",
		"1e400":                 "null", // Infinity
	}
	for in, want := range cases {
		if got := jsNumber(json.Number(in)); got != want {
			t.Errorf("jsNumber(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestJSONBTextOrdersKeysLikePostgreSQL(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{"todo": 0.3, "journal": 0.3, "notes": 0.2, "mood": 0.2}`, `{"mood":0.2,"todo":0.3,"notes":0.2,"journal":0.3}`},
		{`{"b":1,"a":{"zz":[1,{"y":true,"x":null}],"c":"é<>"}}`, `{"a":{"c":"é<>","zz":[1,{"x":null,"y":true}]},"b":1}`},
		{`{"a":1,"a":2}`, `{"a":2}`},
		{`[]`, `[]`},
	}
	for _, c := range cases {
		got, err := jsonbText([]byte(c.in))
		if err != nil || string(got) != c.want {
			t.Errorf("jsonbText(%s) = %s, %v; want %s", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{`{"a":"\u0000"}`, `{"a":1} x`, `{`} {
		if got, err := jsonbText([]byte(bad)); err == nil {
			t.Errorf("jsonbText(%s) = %s, want an error as jsonb gives", bad, got)
		}
	}
}

func TestTruthyAndLengthFollowJavaScript(t *testing.T) {
	falsy := []any{nil, false, "", json.Number("0"), json.Number("-0.0")}
	truthy_ := []any{true, "x", json.Number("1"), []any{}, map[string]any{}}
	for _, v := range falsy {
		if truthy(v) {
			t.Errorf("truthy(%#v) = true", v)
		}
	}
	for _, v := range truthy_ {
		if !truthy(v) {
			t.Errorf("truthy(%#v) = false", v)
		}
	}
	for s, want := range map[string]int{"abc": 3, "ä": 1, "😀": 2, "": 0} {
		if n, ok := jsLength(s); !ok || n != want {
			t.Errorf("jsLength(%q) = %d, want %d", s, n, want)
		}
	}
	if _, ok := jsLength(json.Number("12345678")); ok {
		t.Errorf("a number has no length in JavaScript")
	}
}

func TestILikeMatchesPostgreSQLPatterns(t *testing.T) {
	cases := []struct {
		s, pattern string
		want       bool
	}{
		{"persona.anna@mana.test", "%ANNA%", true},
		{"persona.anna@mana.test", "%persona_anna%", true},
		{"persona.anna@mana.test", `%persona\_anna%`, false},
		{"persona_anna@mana.test", `%persona\_anna%`, true},
		{"abc", "a%c", true},
		{"abc", "a_", false},
		{"", "%%", true},
		{"Größe", "%GRÖ%", true},
	}
	for _, c := range cases {
		p, err := likePattern(c.pattern)
		if err != nil {
			t.Fatalf("likePattern(%q): %v", c.pattern, err)
		}
		if got := p.MatchString(c.s); got != c.want {
			t.Errorf("%q ILIKE %q = %v, want %v", c.s, c.pattern, got, c.want)
		}
	}
	if _, err := likePattern(`%ab\`); err == nil {
		t.Errorf("a pattern ending in the escape character must be refused, as PostgreSQL does")
	}
}

func TestValidEmailFollowsZod(t *testing.T) {
	cases := map[string]bool{
		"persona.anna@mana.test":  true,
		"Persona.Upper@mana.test": true,
		"a+b@example.co.uk":       true,
		"x@y.z":                   false, // a one-letter top-level domain
		"x@y":                     false,
		".a@b.cd":                 false,
		"a..b@c.de":               false,
		"a.@b.cd":                 false,
		"@b.cd":                   false,
		"a b@c.de":                false,
	}
	for in, want := range cases {
		if got := validEmail(in); got != want {
			t.Errorf("validEmail(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestPasswordsAreSaltedHashes(t *testing.T) {
	a, err := hashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := hashPassword("correct horse")
	if a == b {
		t.Errorf("two hashes of one password are equal: no salt")
	}
	if !checkPassword(a, "correct horse") || checkPassword(a, "Correct horse") || checkPassword("garbage", "correct horse") {
		t.Errorf("checkPassword does not tell the right password from others")
	}
}

func TestNewIDIs32Alphanumerics(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewID()
		if len(id) != 32 {
			t.Fatalf("NewID() = %q", id)
		}
		for _, r := range id {
			if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
				t.Fatalf("NewID() = %q", id)
			}
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
	}
}

func TestJSStringIsJavaScriptsString(t *testing.T) {
	cases := []struct{ in, want string }{
		{`"text"`, "text"},
		{`42`, "42"},
		{`4.20`, "4.2"},
		{`1e21`, "1e+21"},
		{`1e400`, "Infinity"},
		{`-1e400`, "-Infinity"},
		{`true`, "true"},
		{`false`, "false"},
		{`{"a":1}`, "[object Object]"},
		{`{}`, "[object Object]"},
		{`[]`, ""},
		{`["a","b"]`, "a,b"},
		{`[1,null,[2,3],{"x":1}]`, "1,,2,3,[object Object]"},
	}
	for _, c := range cases {
		var v any
		dec := json.NewDecoder(strings.NewReader(c.in))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if got := jsString(v); got != c.want {
			t.Errorf("String(%s) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestJSParseIntReadsTheLeadingInteger(t *testing.T) {
	cases := []struct {
		in   string
		want float64 // NaN for NaN
	}{
		{"1", 1}, {"20", 20}, {"  7", 7}, {"+3", 3}, {"-2", -2}, {"2abc", 2}, {"1.9", 1},
		{"1e3", 1}, {"0x1A", 26}, {"0", 0}, {"abc", math.NaN()}, {"", math.NaN()}, {"-", math.NaN()},
		{"0x", math.NaN()}, {"99999999999999999999999", 1e23},
	}
	for _, c := range cases {
		got := jsParseInt(c.in)
		if got != c.want && !(math.IsNaN(got) && math.IsNaN(c.want)) {
			t.Errorf("parseInt(%q) = %v, want %v", c.in, got, c.want)
		}
	}
	for in, want := range map[float64]string{math.NaN(): "null", 0: "0", math.Copysign(0, -1): "0", 2: "2", -1: "-1", 1e21: "1e+21"} {
		if got := string(jsNumberJSON(in)); got != want {
			t.Errorf("JSON.stringify(%v) = %s, want %s", in, got, want)
		}
	}
}
