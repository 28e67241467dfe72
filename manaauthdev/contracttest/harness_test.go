package contracttest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mana/personactl/manaauthdev"
	"github.com/mana/personactl/manaauthdev/devtest"
)

// env is one server under test.
type env struct {
	url   string
	admin string // an admin token
	user  string // a valid token without the admin role
	// inst and store are nil against MANA_AUTH_URL: no back doors there.
	inst  *devtest.Instance
	store manaauthdev.Store
	// fresh: the server holds nothing but what this test created.
	fresh bool
}

// target starts servers of one kind.
type target struct {
	name  string
	start func(t *testing.T) *env
	// shared: one server for every test (MANA_AUTH_URL), which therefore
	// run one at a time; local servers are per test and run in parallel.
	shared bool
}

// sharedServer serialises the tests against MANA_AUTH_URL.
var sharedServer sync.Mutex

func localTarget(name string, opts ...devtest.Option) target {
	return target{name: name, start: func(t *testing.T) *env {
		inst := devtest.Start(t, opts...)
		return &env{url: inst.URL, admin: inst.AdminToken, user: inst.UserToken, inst: inst, store: inst.Store, fresh: true}
	}}
}

// targets are mana-auth-dev in memory and in PostgreSQL, plus the server
// of MANA_AUTH_URL when it is set (to a loopback address: tests talk to
// this machine only).
func targets(t *testing.T) []target {
	out := []target{localTarget("memory"), localTarget("postgres", devtest.WithPostgres())}
	base := os.Getenv("MANA_AUTH_URL")
	if base == "" {
		return out
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("MANA_AUTH_URL=%q: %v", base, err)
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		t.Logf("MANA_AUTH_URL=%s is not a loopback address: the contract tests talk to this machine only; not testing it", base)
		return out
	}
	admin, user := os.Getenv("MANA_ADMIN_JWT"), os.Getenv("MANA_USER_JWT")
	if admin == "" || user == "" {
		t.Fatalf("MANA_AUTH_URL is set: set MANA_ADMIN_JWT (an admin token) and MANA_USER_JWT (a non-admin token) too")
	}
	return append(out, target{name: "external", shared: true, start: func(t *testing.T) *env {
		return &env{url: strings.TrimSuffix(base, "/"), admin: admin, user: user}
	}})
}

// forEachTarget runs check against every target, each in a new server
// except the shared one. The calling test runs in parallel with others.
func forEachTarget(t *testing.T, check func(t *testing.T, e *env)) {
	t.Parallel()
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			if tg.shared {
				sharedServer.Lock()
				defer sharedServer.Unlock()
			} else {
				t.Parallel()
			}
			check(t, tg.start(t))
		})
	}
}

// needsBackDoor skips the test against a server without a reachable store.
func (e *env) needsBackDoor(t *testing.T) {
	t.Helper()
	if e.store == nil {
		t.Skip("needs the database behind the API (a back door), which MANA_AUTH_URL does not give")
	}
}

// needsFresh skips the test against a server that may hold other data.
func (e *env) needsFresh(t *testing.T) {
	t.Helper()
	if !e.fresh {
		t.Skip("needs a server holding nothing else")
	}
}

// response is one answer, its body decoded when it is JSON.
type response struct {
	status int
	header http.Header
	raw    []byte
	body   any
}

func (r response) String() string { return http.StatusText(r.status) + " " + string(r.raw) }

// object returns the body as a JSON object (nil when it is not one).
func (r response) object() map[string]any {
	m, _ := r.body.(map[string]any)
	return m
}

var noRedirects = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// request sends one request. body may be nil, a string or []byte (sent as
// is), or any other value (sent as JSON). auth is the whole Authorization
// header ("" for none).
func (e *env) request(t *testing.T, method, path, auth string, body any, header ...string) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, e.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	out := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && len(raw) > 0 {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			t.Fatalf("%s %s: answer is not JSON: %v: %s", method, path, err, raw)
		}
	}
	return out
}

func bearer(token string) string { return "Bearer " + token }

// adminDo is request with the admin token.
func (e *env) adminDo(t *testing.T, method, path string, body any) response {
	t.Helper()
	return e.request(t, method, path, bearer(e.admin), body)
}

// persona is a request body of the upsert.
type persona map[string]any

// newPersona returns a valid upsert body for a unique lowercase address
// starting with prefix; against a shared server the persona is deleted
// when the test ends.
func (e *env) newPersona(t *testing.T, prefix string) persona {
	t.Helper()
	email := prefix + "-" + strings.ToLower(manaauthdev.NewID()[:10]) + "@mana.test"
	p := persona{
		"email":        email,
		"name":         "Contract " + prefix,
		"password":     passwordFor(email),
		"archetype":    "contract-test",
		"systemPrompt": "A persona of the contract tests.",
		"moduleMix":    map[string]any{"todo": 0.5, "journal": 0.3, "mood": 0.2},
		"tickCadence":  "daily",
	}
	if !e.fresh {
		t.Cleanup(func() { e.deleteByEmail(t, email) })
	}
	return p
}

// upsert posts p and fails the test unless the answer is 200; it returns
// the user id.
func (e *env) upsert(t *testing.T, p persona) string {
	t.Helper()
	r := e.adminDo(t, http.MethodPost, manaauthdev.PathPersonas, map[string]any(p))
	if r.status != http.StatusOK {
		t.Fatalf("POST %v: %s", p["email"], r)
	}
	id, _ := r.object()["userId"].(string)
	return id
}

// list returns the persona list's entries.
func (e *env) list(t *testing.T) []map[string]any {
	t.Helper()
	r := e.adminDo(t, http.MethodGet, manaauthdev.PathPersonas, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET list: %s", r)
	}
	var out []map[string]any
	for _, p := range r.object()["personas"].([]any) {
		out = append(out, p.(map[string]any))
	}
	return out
}

// detail returns the detail answer of a persona, failing unless 200.
func (e *env) detail(t *testing.T, id string) map[string]any {
	t.Helper()
	r := e.adminDo(t, http.MethodGet, manaauthdev.PathPersonas+"/"+url.PathEscape(id), nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET detail %s: %s", id, r)
	}
	return r.object()
}

func (e *env) deleteByEmail(t *testing.T, email string) {
	for _, p := range e.list(t) {
		if p["email"] == email {
			e.adminDo(t, http.MethodDelete, manaauthdev.PathPersonas+"/"+p["userId"].(string), nil)
		}
	}
}

// passwordFor is the password the tests give an address (any stable
// function of it will do: the real runner's derivation is not under test).
func passwordFor(email string) string {
	return "pw-" + strings.NewReplacer("@", "-at-", ".", "-").Replace(email)
}

// testdataFile returns the path of a file of the project's testdata
// directory (the recordings and fixtures are part of the repository).
func testdataFile(t *testing.T, rel string) string {
	t.Helper()
	path := filepath.Join("..", "..", "testdata", filepath.FromSlash(rel))
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s: %v; it is part of the repository, restore it with git", path, err)
	}
	return path
}
