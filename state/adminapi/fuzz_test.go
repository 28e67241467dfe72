package adminapi

// Fuzz targets for every decoder of mana-auth's answers. Each runs its seeds
// (below, plus testdata/fuzz/<name>) as an ordinary test; `go test -fuzz`
// explores from them. Beyond not panicking, each checks what a caller
// relies on: a decoded answer has what it promises, an error names the
// endpoint, and no error ever shows the token or a password.

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mana/personactl/state"
)

const fuzzToken = "eyJhbGciOiJFZERTQSJ9.eyJyb2xlIjoiYWRtaW4ifQ.fuzz-signature"

func fuzzClient(t *testing.T) *Client {
	c, err := New(Options{BaseURL: "http://fuzz:hunter2@127.0.0.1:1", Token: fuzzToken})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// checkDecodeError: an error out of a decoder names the request, and says
// what to do.
func checkDecodeError(t *testing.T, r request, err error) {
	t.Helper()
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("error %T %v, want a *DecodeError", err, err)
	}
	if text := err.Error(); !strings.HasPrefix(text, r.method+" "+r.path+": ") || !strings.Contains(text, "MANA_AUTH_URL") {
		t.Fatalf("error %q does not name the request and what to do", text)
	}
}

// recordedBodies returns the bodies recorded from the real service for
// requests whose path starts with prefix (and method, if given).
func recordedBodies(f *testing.F, method, prefix string) [][]byte {
	raw, err := os.ReadFile("../../testdata/contract/mana-auth-exchanges.json")
	if err != nil {
		f.Fatal(err)
	}
	var file struct {
		Exchanges []struct {
			Request struct {
				Method, Path string
			} `json:"request"`
			Response struct {
				Body json.RawMessage `json:"body"`
			} `json:"response"`
		} `json:"exchanges"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		f.Fatal(err)
	}
	var out [][]byte
	for _, e := range file.Exchanges {
		if strings.HasPrefix(e.Request.Path, prefix) && (method == "" || e.Request.Method == method) {
			out = append(out, e.Response.Body)
		}
	}
	return out
}

func FuzzList(f *testing.F) {
	for _, b := range recordedBodies(f, "GET", "/api/v1/admin/personas") {
		f.Add(b)
	}
	f.Add([]byte(`{"personas":[{"userId":"u1","email":"Persona.A@mana.test","createdAt":"2026-04-22T10:11:12.345Z","actions7d":2}],"x":[1,{"y":null}]}`))
	f.Add([]byte(`{"personas":null}`))
	f.Add([]byte(`{"personas":[{"userId":""}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := request{method: http.MethodGet, path: pathPersonas}
		var got []listEntry
		err := readList(r, bytes.NewReader(body), func(p listEntry) bool { got = append(got, p); return true })
		if err != nil {
			checkDecodeError(t, r, err)
			return
		}
		for i, p := range got {
			if p.UserID == "" {
				t.Fatalf("entry %d has no user id", i)
			}
		}
		// Stopping early reads a prefix of the same entries.
		var first []listEntry
		_ = readList(r, bytes.NewReader(body), func(p listEntry) bool { first = append(first, p); return false })
		if len(got) > 0 && (len(first) != 1 || first[0] != got[0]) {
			t.Fatalf("stopping at the first entry gave %v, want %v", first, got[:1])
		}
	})
}

func FuzzDetail(f *testing.F) {
	for _, b := range recordedBodies(f, "GET", "/api/v1/admin/personas/") {
		f.Add(b)
	}
	f.Add([]byte(`{"persona":{"userId":"u1","moduleMix":[0.25,0.75],"lastActiveAt":null,"createdAt":"2026-04-22T10:11:12Z"},"recentActions":[{},{}],"feedbackByModule":[{"avgRating":2.6}]}`))
	f.Add([]byte(`{"persona":null}`))
	f.Add([]byte(`{"persona":{"moduleMix":{"a":1e400}}}`))
	f.Add([]byte(`{"persona":{"name":"A"},"recentActions":[{}],"persona":{"email":"x"},"recentActions":[{},{}],"persona":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := request{method: http.MethodGet, path: pathPersonas + "/u1"}
		var d detailAnswer
		err := readDetail(r, bytes.NewReader(body), &d)
		if err != nil {
			checkDecodeError(t, r, err)
			return
		}
		if d.actions < 0 {
			t.Fatalf("%d actions", d.actions)
		}
		p := merge(listEntry{UserID: "u1"}, d)
		if p.UserID != "u1" {
			t.Fatalf("merged user id %q", p.UserID)
		}
	})
}

func FuzzUpsertAnswer(f *testing.F) {
	for _, b := range recordedBodies(f, "POST", "/api/v1/admin/personas") {
		f.Add(b)
	}
	f.Add([]byte(`{"ok":true,"userId":"u1","email":"persona.a@mana.test"}`))
	f.Add([]byte(`{"userId":7}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := request{method: http.MethodPost, path: pathPersonas}
		id, err := readUpsertAnswer(r, bytes.NewReader(body))
		if err != nil {
			checkDecodeError(t, r, err)
			return
		}
		if id == "" {
			t.Fatal("an upsert answer without a user id was accepted")
		}
	})
}

func FuzzUsersSearch(f *testing.F) {
	for _, b := range recordedBodies(f, "GET", "/api/v1/admin/users") {
		f.Add(b)
	}
	f.Add([]byte(`{"users":[],"total":0,"page":1,"limit":20}`))
	f.Add([]byte(`{"users":null,"total":0}`))
	f.Add([]byte(`{"users":[{"id":"u","email":"a@b"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := request{method: http.MethodGet, path: pathUsers + "?search=a%40b&limit=100"}
		page, err := readSearchPage(r, bytes.NewReader(body))
		if err != nil {
			checkDecodeError(t, r, err)
			return
		}
		// An answer is read as "nobody has it" only when it says so.
		if page.Users == nil || page.Total == nil {
			t.Fatalf("a page without its list or total was accepted: %s", body)
		}
	})
}

func FuzzErrorEnvelope(f *testing.F) {
	for _, b := range recordedBodies(f, "", "/") {
		f.Add(400, b)
	}
	f.Add(500, []byte(`{"statusCode":500,"message":"Internal server error"}`))
	f.Add(401, []byte(`{"error":"Bearer `+fuzzToken+`","message":"`+fuzzToken+`","details":["hunter2"],"hint":"x","code":"C"}`))
	f.Add(404, []byte("404 Not Found"))
	f.Add(400, []byte(`{"error":"ValidationError","details":[{"deep":true}]}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 300 || status > 599 {
			return
		}
		c := fuzzClient(t)
		for _, r := range []request{
			{method: http.MethodGet, path: pathPersonas, auth: true},
			{method: http.MethodPost, path: pathPersonas, auth: true, email: "persona.a@mana.test"},
			{method: http.MethodDelete, path: pathPersonas + "/u1", auth: true},
			{method: http.MethodPost, path: pathLogin, secrets: []string{"derived-password"}},
		} {
			resp := &http.Response{StatusCode: status, Header: http.Header{"Location": {"http://u:hunter2@elsewhere/?sig=s3cr3t"}}}
			e := c.apiError(r, 1, resp, body)
			text := e.Error()
			if !strings.HasPrefix(text, r.method+" "+r.path+": mana-auth answered ") {
				t.Fatalf("error %q does not name the request", text)
			}
			for _, secret := range []string{fuzzToken, "hunter2", "s3cr3t", "derived-password"} {
				if strings.Contains(text, secret) && (secret != "derived-password" || r.path == pathLogin) {
					t.Fatalf("error shows %q: %s", secret, text)
				}
			}
			if !utf8.ValidString(e.Message) && utf8.Valid(body) {
				t.Fatalf("a valid body gave an invalid message %q", e.Message)
			}
		}
	})
}

func FuzzLoginAnswer(f *testing.F) {
	raw, err := os.ReadFile("../../testdata/contract/login-exchanges.json")
	if err != nil {
		f.Fatal(err)
	}
	var all []struct {
		Request *struct {
			Path string `json:"path"`
		} `json:"request"`
		Response *struct {
			Status  int             `json:"status"`
			Headers map[string]any  `json:"headers"`
			Body    json.RawMessage `json:"body"`
		} `json:"response"`
	}
	if err := json.Unmarshal(raw, &all); err != nil {
		f.Fatal(err)
	}
	for _, e := range all {
		if e.Request != nil && e.Response != nil && e.Request.Path == pathLogin {
			after, _ := e.Response.Headers["retry-after"].(string)
			f.Add(e.Response.Status, after, []byte(e.Response.Body))
		}
	}
	f.Add(429, "Fri, 27 Nov 2026 08:30:00 GMT", []byte(`{"error":"ACCOUNT_LOCKED","retryAfterSec":-5}`))
	f.Add(429, "", []byte(`{"error":"ACCOUNT_LOCKED","retryAfterSec":1e300}`))
	f.Fuzz(func(t *testing.T, status int, retryAfter string, body []byte) {
		now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
		if st, after, ok := readLoginRefusal(status, retryAfter, body, now); ok {
			if st != state.LoginWrongPassword && st != state.LoginLocked {
				t.Fatalf("a refusal read as %v", st)
			}
			if after < 0 {
				t.Fatalf("locked for %v", after)
			}
		}
		kind, err := decodeLoginAnswer(bytes.NewReader(body))
		if err == nil && kind == "" {
			t.Fatal("a login answer without user.kind was accepted")
		}
		if err != nil {
			r := request{method: http.MethodPost, path: pathLogin}
			checkDecodeError(t, r, asDecodeError(r, "", err))
		}
	})
}
