package contracttest

import (
	"net/http"
	"testing"
	"time"

	"github.com/mana/personactl/manaauthdev"
	"github.com/mana/personactl/manaauthdev/devtest"
)

const (
	missingHeader = `{"statusCode":401,"message":"Missing or invalid Authorization header"}`
	invalidToken  = `{"statusCode":401,"message":"Invalid or expired token"}`
	adminRequired = `{"error":"Forbidden","message":"Admin access required"}`
	internalError = `{"statusCode":500,"message":"Internal server error"}`
	notFoundJSON  = `{"error":"Not found"}`
	notFoundText  = "404 Not Found"
)

// expect fails the test unless r has the status and exactly the body.
func expect(t *testing.T, what string, r response, status int, body string) {
	t.Helper()
	if r.status != status || string(r.raw) != body {
		t.Errorf("%s: %d %s\n  want %d %s", what, r.status, r.raw, status, body)
	}
}

func TestAuthenticationComesFirstOnEveryAdminRoute(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		expired := devtest.Token(map[string]any{
			"sub": "someone", "email": "admin@example.test", "role": "admin",
			"aud": "mana", "exp": time.Now().Add(-2 * time.Minute).Unix(),
		})
		requests := []struct {
			method, path string
			body         any
		}{
			{http.MethodGet, manaauthdev.PathPersonas, nil},
			{http.MethodHead, manaauthdev.PathPersonas, nil},
			{http.MethodPost, manaauthdev.PathPersonas, "this is not json"}, // the body is never read
			{http.MethodGet, manaauthdev.PathPersonas + "/does-not-exist-123", nil},
			{http.MethodDelete, manaauthdev.PathPersonas + "/does-not-exist-123", nil},
			{http.MethodPut, manaauthdev.PathPersonas + "/some-id", `{"name":"x"}`},
			{http.MethodGet, manaauthdev.PathUsers + "?search=x", nil},
			{http.MethodGet, manaauthdev.PathPersonas + "/", nil}, // before the trailing-slash redirect
			{http.MethodGet, "/api/v1/admin/personas-x", nil},
		}
		auths := []struct {
			name, header string
			status       int
			body         string
		}{
			{"no header", "", 401, missingHeader},
			{"Basic scheme", "Basic YWRtaW46YWRtaW4=", 401, missingHeader},
			{"lowercase bearer with the admin token", "bearer " + e.admin, 401, missingHeader},
			{"Bearer and nothing", "Bearer ", 401, missingHeader},
			{"garbage token", "Bearer not-a-jwt", 401, invalidToken},
			{"expired admin token", "Bearer " + expired, 401, invalidToken},
			{"valid non-admin token", "Bearer " + e.user, 403, adminRequired},
		}
		for _, req := range requests {
			for _, a := range auths {
				r := e.request(t, req.method, req.path, a.header, req.body)
				body := a.body
				if req.method == http.MethodHead {
					body = ""
				}
				expect(t, req.method+" "+req.path+" with "+a.name, r, a.status, body)
				if ct := r.header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("%s %s with %s: content-type %q, want application/json", req.method, req.path, a.name, ct)
				}
			}
		}
	})
}

func TestTokenOutsideAdminRoutesIsNotNeeded(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		r := e.request(t, http.MethodGet, manaauthdev.PathHealth, "", nil)
		if r.status != 200 || Keys(r.body) != "service,status,timestamp" {
			t.Fatalf("GET /health: %s", r)
		}
		m := r.object()
		if m["status"] != "ok" || m["service"] != "mana-auth" || !Timestamp.MatchString(m["timestamp"].(string)) {
			t.Errorf("GET /health: %s", r.raw)
		}
	})
}
