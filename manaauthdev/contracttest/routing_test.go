package contracttest

import (
	"net/http"
	"testing"

	"github.com/mana/personactl/manaauthdev"
)

func TestGetWithTrailingSlashRedirectsAfterTheTokenCheck(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		for _, path := range []string{manaauthdev.PathPersonas, manaauthdev.PathPersonas + "/some-id", manaauthdev.PathUsers} {
			r := e.adminDo(t, http.MethodGet, path+"/", nil)
			if r.status != http.StatusMovedPermanently || len(r.raw) != 0 {
				t.Errorf("GET %s/: %s, want 301 without a body", path, r)
			}
			if loc := r.header.Get("Location"); loc != e.url+path {
				t.Errorf("GET %s/: Location %q, want the absolute %q", path, loc, e.url+path)
			}
			if ct := r.header.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
				t.Errorf("GET %s/: content-type %q", path, ct)
			}
		}
		expect(t, "GET list/ without a token", e.request(t, http.MethodGet, manaauthdev.PathPersonas+"/", "", nil), 401, missingHeader)
	})
}

func TestUnknownRoutesAnswerPlainTextNotFound(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		cases := []struct{ method, path string }{
			{http.MethodPost, manaauthdev.PathPersonas + "/"},
			{http.MethodPut, manaauthdev.PathPersonas + "/some-id"},
			{http.MethodPatch, manaauthdev.PathPersonas + "/some-id"},
			{http.MethodDelete, manaauthdev.PathPersonas},
			{http.MethodGet, "/api/v1/admin/personas-x"},
		}
		for _, c := range cases {
			body := any(nil)
			if c.method != http.MethodGet && c.method != http.MethodDelete {
				body = map[string]any{"email": "persona.anna@mana.test"}
			}
			r := e.adminDo(t, c.method, c.path, body)
			expect(t, c.method+" "+c.path+" as admin", r, 404, notFoundText)
			if ct := r.header.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
				t.Errorf("%s %s: content-type %q, want text/plain; charset=UTF-8", c.method, c.path, ct)
			}
		}
		expect(t, "GET an unknown admin path as non-admin", e.request(t, http.MethodGet, "/api/v1/admin/personas-x", bearer(e.user), nil), 403, adminRequired)
		expect(t, "GET outside the API", e.request(t, http.MethodGet, "/nowhere", "", nil), 404, notFoundText)
	})
}

func TestHeadOnTheListAnswersLikeGetWithoutBody(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		r := e.adminDo(t, http.MethodHead, manaauthdev.PathPersonas, nil)
		if r.status != 200 || len(r.raw) != 0 || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("HEAD list: %d %q content-type %q, want 200, no body, application/json", r.status, r.raw, r.header.Get("Content-Type"))
		}
	})
}
