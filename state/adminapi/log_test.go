package adminapi_test

import (
	"context"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mana/personactl/internal/logtest"
	"github.com/mana/personactl/state/adminapi"
)

// TestDebugLogHasEveryTry: with a logger, each try of each request is one
// record with its method, path, status, bytes, duration and retry number,
// a retried 503 included; neither the token, a password nor a query (an
// address searched for) reaches the log.
func TestDebugLogHasEveryTry(t *testing.T) {
	inst := start(t)
	target, err := url.Parse(inst.URL)
	must(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var lists atomic.Int64
	flaky := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/api/v1/admin/personas" && lists.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	log, records := logtest.New()
	c := newClient(t, adminapi.Options{BaseURL: flaky, Token: inst.AdminToken, Log: log})
	ctx := context.Background()
	req := personaRequest("persona.log@mana.test", 1)
	if _, err := c.Upsert(ctx, req); err != nil {
		t.Fatal(errText(t, err))
	}
	if _, err := c.Personas(ctx); err != nil {
		t.Fatal(errText(t, err))
	}
	if _, err := c.Reader().AddressOwners(ctx, []string{"someone.else@mana.test"}); err != nil {
		t.Fatal(errText(t, err))
	}
	if _, err := c.Login(ctx, req.Email, req.Password); err != nil {
		t.Fatal(errText(t, err))
	}

	type try struct {
		method, path  string
		status, retry float64
	}
	var got []try
	for _, r := range records.Records("http") {
		got = append(got, try{r["method"].(string), r["path"].(string), r["status"].(float64), r["retry"].(float64)})
		if r["duration"] == nil || r["bytes"] == nil || r["level"] != "DEBUG" {
			t.Errorf("a record without duration or bytes, or not at debug level: %v", r)
		}
		if r["status"] == 200.0 && r["bytes"].(float64) == 0 {
			t.Errorf("an answer of 200 read without its bytes counted: %v", r)
		}
	}
	want := []try{
		{"POST", "/api/v1/admin/personas", 200, 0},
		{"GET", "/api/v1/admin/personas", 503, 0},
		{"GET", "/api/v1/admin/personas", 200, 1},
		{"GET", "/api/v1/admin/personas/" + mustID(t, c, req.Email), 200, 0},
		{"GET", "/api/v1/admin/users", 200, 0},
		{"POST", "/api/v1/auth/login", 200, 0},
	}
	if len(got) < len(want) {
		t.Fatalf("logged %d tries, want at least %d:\n%s", len(got), len(want), records.Text())
	}
	for i, w := range want {
		if got[i] != w {
			t.Errorf("try %d logged as %+v, want %+v", i+1, got[i], w)
		}
	}
	text := records.Text()
	for what, s := range map[string]string{"the token": inst.AdminToken, "the password": req.Password, "a query": "?", "the address searched for": "someone.else"} {
		if strings.Contains(text, s) {
			t.Errorf("the log holds %s:\n%s", what, text)
		}
	}
}

// mustID is the user ID of the persona at email.
func mustID(t *testing.T, c *adminapi.Client, email string) string {
	t.Helper()
	id, found, err := c.PersonaID(context.Background(), email)
	if err != nil || !found {
		t.Fatalf("PersonaID(%s): %v, found %v", email, err, found)
	}
	return id
}
