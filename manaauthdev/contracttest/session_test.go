package contracttest

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mana/personactl/manaauthdev"
	"github.com/mana/personactl/manaauthdev/devtest"
)

// The service with its role line fixed (testdata/contract/README.md, "With
// mana-auth's role line fixed"), which mana-auth-dev serves with
// FixedRoleClaim, and what the recording leaves to the source: the cookie
// over https, the origins a logout trusts, the tokens' lifetime.

// signIn signs in as Mana's web app does and returns the session cookie
// ("name=value") and the answer.
func signIn(t *testing.T, e *env, email, password string) (string, response) {
	t.Helper()
	r := e.request(t, http.MethodPost, manaauthdev.PathSignIn, "", map[string]string{"email": email, "password": password}, "Origin", manaauthdev.WebAppOrigin)
	if r.status != http.StatusOK {
		t.Fatalf("sign-in of %s: %s", email, r)
	}
	cookie, _, _ := strings.Cut(r.header.Get("Set-Cookie"), ";")
	return cookie, r
}

// role returns the role claim of a token.
func role(t *testing.T, token string) any {
	t.Helper()
	parts := strings.Split(token, ".")
	var claims map[string]any
	raw, err := base64.RawURLEncoding.DecodeString(parts[min(1, len(parts)-1)])
	if err != nil || json.Unmarshal(raw, &claims) != nil {
		t.Fatalf("%q is not a JWT", token)
	}
	return claims["role"]
}

// tokens returns the token of each route that issues one for the cookie.
func tokens(t *testing.T, e *env, cookie string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, route := range []struct{ method, path, field string }{
		{http.MethodPost, manaauthdev.PathRefresh, "accessToken"},
		{http.MethodPost, manaauthdev.PathSessionToToken, "accessToken"},
		{http.MethodGet, manaauthdev.PathToken, "token"},
		{http.MethodGet, manaauthdev.PathGetSession, ""},
		{http.MethodGet, manaauthdev.PathSession, ""},
	} {
		r := e.request(t, route.method, route.path, "", nil, "Cookie", cookie)
		if r.status != http.StatusOK {
			t.Fatalf("%s %s: %s", route.method, route.path, r)
		}
		if route.field == "" {
			out[route.path] = r.header.Get("set-auth-jwt")
		} else {
			out[route.path], _ = r.object()[route.field].(string)
		}
	}
	return out
}

func TestFixedRoleClaim(t *testing.T) {
	t.Parallel()
	for name, opts := range map[string][]devtest.Option{"memory": nil, "postgres": {devtest.WithPostgres()}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			inst := devtest.Start(t, append(opts, devtest.WithFixedRoleClaim())...)
			e := &env{url: inst.URL, inst: inst, store: inst.Store, fresh: true}
			inst.AddAdmin(t, "admin@example.test", "admin-password-123")
			cookie, answer := signIn(t, e, "admin@example.test", "admin-password-123")
			if got := answer.object()["user"].(map[string]any)["role"]; got != "admin" {
				t.Errorf("the admin's sign-in answers user.role %v, want admin", got)
			}
			for path, token := range tokens(t, e, cookie) {
				if role(t, token) != "admin" {
					t.Errorf("%s gives a token claiming role %v, want admin", path, role(t, token))
				}
				if r := e.request(t, http.MethodGet, manaauthdev.PathPersonas, bearer(token), nil); r.status != http.StatusOK {
					t.Errorf("the admin API answers the token of %s with %s", path, r)
				}
			}
			if _, body := inst.Login(t, "admin@example.test", "admin-password-123"); !strings.Contains(body, `"role":"admin"`) {
				t.Errorf("the runner's login as the admin: %s, want user.role admin", body)
			}

			// A plain user: role "user" everywhere; sign-up cannot choose its role.
			r := e.request(t, http.MethodPost, manaauthdev.PathSignUp, "", map[string]string{"email": "plain@example.test", "password": "plain-password-1", "name": "Plain", "role": "admin"})
			if got := r.object()["user"].(map[string]any)["role"]; r.status != http.StatusOK || got != "user" {
				t.Fatalf("sign-up with role admin: %s, want 200 with user.role user", r)
			}
			inst.VerifyEmail(t, "plain@example.test")
			plain, _ := signIn(t, e, "plain@example.test", "plain-password-1")
			for path, token := range tokens(t, e, plain) {
				if role(t, token) != "user" {
					t.Errorf("%s gives the plain user a token claiming role %v", path, role(t, token))
				}
			}
			issued := tokens(t, e, plain)[manaauthdev.PathRefresh]

			// A promotion takes effect at the next refresh; a token already
			// issued keeps its role.
			u, err := inst.Store.UserByEmail(t.Context(), "plain@example.test")
			if err != nil {
				t.Fatal(err)
			}
			if err := inst.Store.SetUserRole(t.Context(), u.ID, manaauthdev.RoleAdmin); err != nil {
				t.Fatal(err)
			}
			if r := e.request(t, http.MethodGet, manaauthdev.PathPersonas, bearer(issued), nil); r.status != http.StatusForbidden {
				t.Errorf("a token issued before the promotion: %s, want 403", r)
			}
			if got := role(t, tokens(t, e, plain)[manaauthdev.PathRefresh]); got != "admin" {
				t.Errorf("the refresh after the promotion claims role %v, want admin", got)
			}
		})
	}
}

// TestDefaultRoleClaim: as the service is today, the admin's sign-in shows
// no role and every token it gets claims "user", so the admin API refuses
// it with 403.
func TestDefaultRoleClaim(t *testing.T) {
	t.Parallel()
	inst := devtest.Start(t)
	e := &env{url: inst.URL, inst: inst, store: inst.Store, fresh: true}
	inst.AddAdmin(t, "admin@example.test", "admin-password-123")
	cookie, answer := signIn(t, e, "admin@example.test", "admin-password-123")
	if _, ok := answer.object()["user"].(map[string]any)["role"]; ok {
		t.Errorf("the sign-in answer shows a role: %s", answer)
	}
	for path, token := range tokens(t, e, cookie) {
		if role(t, token) != "user" {
			t.Errorf("%s gives the admin a token claiming role %v, want user", path, role(t, token))
		}
		if r := e.request(t, http.MethodGet, manaauthdev.PathPersonas, bearer(token), nil); r.status != http.StatusForbidden {
			t.Errorf("the admin API answers the token of %s with %s, want 403", path, r)
		}
	}
}

// TestLogoutOrigins: with the cookie, a logout needs an Origin or a Referer
// of the web app or of the service itself; another origin is refused and
// the session stays.
func TestLogoutOrigins(t *testing.T) {
	t.Parallel()
	inst := devtest.Start(t)
	e := &env{url: inst.URL, inst: inst, store: inst.Store, fresh: true}
	inst.AddAdmin(t, "admin@example.test", "admin-password-123")
	for _, tc := range []struct {
		header, value string
		status        int
		ended         bool
	}{
		{"Origin", "https://evil.example", http.StatusForbidden, false},
		{"Origin", "null", http.StatusForbidden, false},
		{"Origin", inst.URL, http.StatusOK, true},
		{"Referer", inst.URL + "/some/page", http.StatusOK, true},
		{"Origin", manaauthdev.WebAppOrigin, http.StatusOK, true},
	} {
		cookie, _ := signIn(t, e, "admin@example.test", "admin-password-123")
		r := e.request(t, http.MethodPost, manaauthdev.PathLogout, "", nil, "Cookie", cookie, tc.header, tc.value)
		if r.status != tc.status {
			t.Errorf("logout with %s %s: %s, want %d", tc.header, tc.value, r, tc.status)
		}
		refreshed := e.request(t, http.MethodPost, manaauthdev.PathRefresh, "", nil, "Cookie", cookie)
		if ended := refreshed.status == http.StatusUnauthorized; ended != tc.ended {
			t.Errorf("logout with %s %s: session ended %v, want %v (refresh: %s)", tc.header, tc.value, ended, tc.ended, refreshed)
		}
	}
}

// TestSessionCookieOverHTTPS: served over https, the cookie is
// __Secure-mana.session_token, and only that name is read.
func TestSessionCookieOverHTTPS(t *testing.T) {
	t.Parallel()
	srv := manaauthdev.New(manaauthdev.Options{})
	ts := httptest.NewTLSServer(srv)
	defer ts.Close()
	if _, err := srv.AddAdmin(t.Context(), "admin@example.test", "admin-password-123"); err != nil {
		t.Fatal(err)
	}
	do := func(method, path, body string, header ...string) *http.Response {
		req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := do(http.MethodPost, manaauthdev.PathSignIn, `{"email":"admin@example.test","password":"admin-password-123"}`)
	cookie, _, _ := strings.Cut(resp.Header.Get("Set-Cookie"), ";")
	if !strings.HasPrefix(cookie, "__Secure-mana.session_token=") {
		t.Fatalf("the cookie over https is %q", cookie)
	}
	if resp := do(http.MethodPost, manaauthdev.PathRefresh, "", "Cookie", cookie); resp.StatusCode != http.StatusOK {
		t.Errorf("refresh with the __Secure- cookie: %s", resp.Status)
	}
	plain := strings.TrimPrefix(cookie, "__Secure-")
	if resp := do(http.MethodPost, manaauthdev.PathRefresh, "", "Cookie", plain); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("refresh with the cookie named without __Secure- over https: %s, want 401", resp.Status)
	}
}

// TestTokenTTL: the access tokens of a refresh and of the runner's login
// live Options.TokenTTL; after it the admin API refuses them as expired,
// and the server counts that refusal.
func TestTokenTTL(t *testing.T) {
	t.Parallel()
	clock := manaauthdev.NewClock(time.Now())
	inst := devtest.Start(t, devtest.WithNow(clock.Now), devtest.WithTokenTTL(time.Minute), devtest.WithFixedRoleClaim())
	e := &env{url: inst.URL, inst: inst, store: inst.Store, fresh: true}
	inst.AddAdmin(t, "admin@example.test", "admin-password-123")
	cookie, _ := signIn(t, e, "admin@example.test", "admin-password-123")
	token := tokens(t, e, cookie)[manaauthdev.PathRefresh]
	clock.Advance(59 * time.Second)
	if r := e.request(t, http.MethodGet, manaauthdev.PathPersonas, bearer(token), nil); r.status != http.StatusOK {
		t.Fatalf("the token 59 s after it was issued: %s", r)
	}
	if n := inst.Server.ExpiredTokenRequests(); n != 0 {
		t.Errorf("%d requests counted with an expired token before any was sent", n)
	}
	clock.Advance(time.Second)
	if r := e.request(t, http.MethodGet, manaauthdev.PathPersonas, bearer(token), nil); r.status != http.StatusUnauthorized {
		t.Errorf("the token 60 s after it was issued: %s, want 401", r)
	}
	if n := inst.Server.ExpiredTokenRequests(); n != 1 {
		t.Errorf("%d requests counted with an expired token, want 1", n)
	}
}
