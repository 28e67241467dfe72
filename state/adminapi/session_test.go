package adminapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mana/personactl/manaauthdev"
	"github.com/mana/personactl/manaauthdev/devtest"
	"github.com/mana/personactl/state/adminapi"
)

const (
	adminEmail    = "ops@example.test"
	adminPassword = "admin-password-canary-7c1e"
)

// signedIn starts mana-auth-dev with an admin and returns it with a
// client signed in as that admin on the server's clock. The server's
// session tokens and access tokens are secrets no error may show.
func signedIn(t *testing.T, clock *manaauthdev.Clock, opts ...devtest.Option) (*devtest.Instance, *adminapi.Client) {
	t.Helper()
	secret(adminPassword)
	inst := devtest.Start(t, append(opts, devtest.WithNow(clock.Now), devtest.WithIssued(func(s string) { secret(s) }))...)
	inst.AddAdmin(t, adminEmail, adminPassword)
	c := newClient(t, adminapi.Options{BaseURL: inst.URL, Now: clock.Now})
	if err := c.SignIn(context.Background(), adminEmail, adminPassword); err != nil {
		t.Fatalf("SignIn: %s", errText(t, err))
	}
	return inst, c
}

// TestSignedInRunOutlivesItsTokens: a signed-in client keeps working
// across five lifetimes of its access token, renewing it while a third of
// its lifetime is left: each admin request takes 15 s (of a 60 s token) to
// reach mana-auth, and none arrives with an expired token.
func TestSignedInRunOutlivesItsTokens(t *testing.T) {
	clock := manaauthdev.NewClock(time.Now())
	inst := devtest.Start(t, devtest.WithNow(clock.Now), devtest.WithFixedRoleClaim(), devtest.WithTokenTTL(time.Minute))
	inst.AddAdmin(t, adminEmail, adminPassword)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, manaauthdev.PathAdmin) {
			clock.Advance(15 * time.Second)
		}
		inst.Server.ServeHTTP(w, r)
	}))
	defer slow.Close()
	c := newClient(t, adminapi.Options{BaseURL: slow.URL, Now: clock.Now})
	if err := c.SignIn(context.Background(), adminEmail, adminPassword); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.TokenExpiry(); ok {
		t.Error("a signed-in client reports a token expiry, which would make a run refuse to start")
	}
	for range 12 { // 12 × 25 s: five lifetimes
		if err := c.CheckAdmin(context.Background()); err != nil {
			t.Fatalf("CheckAdmin: %s", errText(t, err))
		}
		clock.Advance(10 * time.Second)
	}
	if n := inst.Server.ExpiredTokenRequests(); n != 0 {
		t.Errorf("%d admin requests carried an expired token", n)
	}
	if n := inst.Server.Faults().Requests(http.MethodPost, manaauthdev.PathRefresh); n < 6 {
		t.Errorf("%d refreshes over five lifetimes of a token", n)
	}
	if n := inst.Server.Faults().Requests(http.MethodPost, manaauthdev.PathSignIn); n != 1 {
		t.Errorf("%d sign-ins, want 1", n)
	}
}

// TestSignInRefusedOnce: a wrong password is one sign-in request, never
// retried, and one sentence that says what to check, without the
// password; an address not verified is told as such.
func TestSignInRefusedOnce(t *testing.T) {
	inst := devtest.Start(t)
	inst.AddAdmin(t, adminEmail, adminPassword)
	c := newClient(t, adminapi.Options{BaseURL: inst.URL})
	err := c.SignIn(context.Background(), adminEmail, secret("wrong-password-canary-11"))
	var se *adminapi.SignInError
	if !errors.As(err, &se) {
		t.Fatalf("a wrong password: %v, want a *SignInError", err)
	}
	wantIn(t, errText(t, err), "refused the admin sign-in of "+adminEmail, "the address or the password is wrong", "MANA_ADMIN_PASSWORD_FILE")
	if n := inst.Server.Faults().Requests(http.MethodPost, manaauthdev.PathSignIn); n != 1 {
		t.Errorf("%d sign-in requests for a wrong password, want 1", n)
	}
	if n := len(inst.Server.Faults().Counts()); n != 1 {
		t.Errorf("requests to %d routes after a refused sign-in: %v", n, inst.Server.Faults().Counts())
	}

	inst.SignUpHuman(t, "new@example.test", "new-password-1", "New")
	err = newClient(t, adminapi.Options{BaseURL: inst.URL}).SignIn(context.Background(), "new@example.test", "new-password-1")
	wantIn(t, errText(t, err), "not verified")
}

// TestSignedInForbiddenSaysWhy: after a sign-in whose token claims role
// "user", the admin API's 403 is explained: as mana-auth is today (no role
// in the sign-in's answer), the account is not an admin or mana-auth drops
// the role, with the line that fixes it; with the role line fixed, the
// account is not an admin.
func TestSignedInForbiddenSaysWhy(t *testing.T) {
	_, c := signedIn(t, manaauthdev.NewClock(time.Now()))
	err := c.CheckAdmin(context.Background())
	wantIn(t, errText(t, err), "403", `claims role "user"`, "this account is not an admin, or mana-auth drops the role",
		"if auth.users.role is 'admin'", "role: { type: 'string', defaultValue: 'user', input: false }", "user.additionalFields", "better-auth.config.ts")

	inst := devtest.Start(t, devtest.WithFixedRoleClaim())
	inst.SignUpHuman(t, "plain@example.test", "plain-password-1", "Plain")
	inst.VerifyEmail(t, "plain@example.test")
	c = newClient(t, adminapi.Options{BaseURL: inst.URL})
	if err := c.SignIn(context.Background(), "plain@example.test", "plain-password-1"); err != nil {
		t.Fatal(err)
	}
	text := errText(t, c.CheckAdmin(context.Background()))
	wantIn(t, text, "plain@example.test is not an admin", `role "user"`, "MANA_ADMIN_EMAIL")
	if strings.Contains(text, "additionalFields") {
		t.Errorf("the fixed service's non-admin is told about the role line: %s", text)
	}
}

// TestSignedInRefreshRefusedStops: once mana-auth refuses the refresh (the
// session ended: after its 7 days here), the request fails as with a
// rejected token, and nothing more is sent.
func TestSignedInRefreshRefusedStops(t *testing.T) {
	clock := manaauthdev.NewClock(time.Now())
	inst, c := signedIn(t, clock, devtest.WithFixedRoleClaim())
	ctx := context.Background()
	inst.Server.Faults().ResetCounts()
	clock.Advance(8 * 24 * time.Hour)
	err := c.CheckAdmin(ctx)
	if !errors.Is(err, adminapi.ErrTokenRejected) {
		t.Fatalf("refresh refused: %v, want ErrTokenRejected", err)
	}
	wantIn(t, errText(t, err), "401", "Session expired", "no longer takes this run's admin sign-in as "+adminEmail, "signs in anew")
	if err := c.CheckAdmin(ctx); !errors.Is(err, adminapi.ErrTokenRejected) {
		t.Errorf("the next request: %v, want ErrTokenRejected", err)
	}
	counts := inst.Server.Faults().Counts()
	if counts["POST "+manaauthdev.PathRefresh] != 1 || len(counts) != 1 {
		t.Errorf("requests after the refresh was refused: %v, want the one refresh", counts)
	}
}

// failFirst answers the first request to path with 503 and passes every
// other to h.
type failFirst struct {
	h      http.Handler
	path   string
	failed atomic.Bool
	seen   atomic.Int64
}

func (f *failFirst) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == f.path {
		f.seen.Add(1)
		if !f.failed.Swap(true) {
			http.Error(w, "upstream busy", http.StatusServiceUnavailable)
			return
		}
	}
	f.h.ServeHTTP(w, r)
}

// TestSignedInRefreshRetried: a refresh that meets a passing failure is
// retried like any request, and the admin request it was for succeeds.
func TestSignedInRefreshRetried(t *testing.T) {
	clock := manaauthdev.NewClock(time.Now())
	inst := devtest.Start(t, devtest.WithNow(clock.Now), devtest.WithFixedRoleClaim())
	inst.AddAdmin(t, adminEmail, adminPassword)
	proxy := &failFirst{h: inst.Server, path: manaauthdev.PathRefresh}
	ts := httptest.NewServer(proxy)
	defer ts.Close()
	c := newClient(t, adminapi.Options{BaseURL: ts.URL, Now: clock.Now})
	if err := c.SignIn(context.Background(), adminEmail, adminPassword); err != nil {
		t.Fatalf("SignIn, its first refresh answered 503: %v", err)
	}
	if err := c.CheckAdmin(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := proxy.seen.Load(); n != 2 {
		t.Errorf("%d refresh requests, want the one that met 503 and its retry", n)
	}
}

// TestSignOutEndsTheSession: SignOut sends the cookie with the auth URL's
// origin, which mana-auth trusts, so the session ends; the client then
// sends nothing more.
func TestSignOutEndsTheSession(t *testing.T) {
	clock := manaauthdev.NewClock(time.Now())
	inst, c := signedIn(t, clock, devtest.WithFixedRoleClaim())
	ctx := context.Background()
	admin, err := inst.Store.UserByEmail(ctx, adminEmail)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SignOut(ctx); err != nil {
		t.Fatalf("SignOut: %s", errText(t, err))
	}
	if rc, _ := inst.Store.RowCounts(ctx, admin.ID); rc.Sessions != 0 {
		t.Errorf("%d sessions of the admin after SignOut", rc.Sessions)
	}
	if err := c.SignOut(ctx); err != nil {
		t.Errorf("a second SignOut: %v", err)
	}
	if n := inst.Server.Faults().Requests(http.MethodPost, manaauthdev.PathLogout); n != 1 {
		t.Errorf("%d logouts, want 1", n)
	}
}

// TestSignInSendsTheRecordedHeaders: against answers shaped as recorded,
// the client sends the cookie back exactly as Set-Cookie gave it (still
// URL-encoded), with no Authorization, and an Origin of the auth URL with
// the sign-in and the logout.
func TestSignInSendsTheRecordedHeaders(t *testing.T) {
	const cookieValue = "sessiontoken2.c2lnbmF0dXJl%2Bc2ln%3D"
	var mu sync.Mutex
	got := map[string]http.Header{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		got[r.URL.Path] = r.Header.Clone()
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/auth/sign-in/email":
			w.Header().Add("Set-Cookie", "mana.session_token="+cookieValue+"; Max-Age=604800; Path=/; HttpOnly; SameSite=Lax")
			io.WriteString(w, `{"redirect":false,"token":"sessiontoken2","user":{"name":"Admin","email":"admin@example.test","id":"x"}}`)
		case "/api/v1/auth/refresh":
			io.WriteString(w, `{"accessToken":"`+secret(devtest.Token(map[string]any{"role": "admin", "iat": 1, "exp": 4102444800}))+`","refreshToken":"sessiontoken2"}`)
		case "/api/v1/auth/logout":
			io.WriteString(w, `{"success":true}`)
		}
	}))
	defer ts.Close()
	c := newClient(t, adminapi.Options{BaseURL: ts.URL})
	ctx := context.Background()
	if err := c.SignIn(ctx, "admin@example.test", "admin-password-123"); err != nil {
		t.Fatal(err)
	}
	c.SignOut(ctx)
	if o := got["/api/auth/sign-in/email"].Get("Origin"); o != ts.URL {
		t.Errorf("the sign-in's Origin %q, want %q", o, ts.URL)
	}
	for _, path := range []string{"/api/v1/auth/refresh", "/api/v1/auth/logout"} {
		if ck := got[path].Get("Cookie"); ck != "mana.session_token="+cookieValue {
			t.Errorf("%s: Cookie %q, want the one Set-Cookie gave", path, ck)
		}
		if a := got[path].Get("Authorization"); a != "" {
			t.Errorf("%s: an Authorization header %q", path, a)
		}
	}
	if o := got["/api/v1/auth/logout"].Get("Origin"); o != ts.URL {
		t.Errorf("the logout's Origin %q, want %q", o, ts.URL)
	}
}

// TestSignInOverHTTPS: over https the cookie is __Secure-mana.session_token,
// and the client uses it.
func TestSignInOverHTTPS(t *testing.T) {
	srv := manaauthdev.New(manaauthdev.Options{FixedRoleClaim: true})
	ts := httptest.NewTLSServer(srv)
	defer ts.Close()
	if _, err := srv.AddAdmin(context.Background(), adminEmail, adminPassword); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, adminapi.Options{BaseURL: ts.URL, HTTPClient: ts.Client()})
	if err := c.SignIn(context.Background(), adminEmail, adminPassword); err != nil {
		t.Fatal(err)
	}
	if err := c.CheckAdmin(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestSignedInRenewsOnceForParallelRequests: requests in flight together
// when the token is due share one refresh.
func TestSignedInRenewsOnceForParallelRequests(t *testing.T) {
	clock := manaauthdev.NewClock(time.Now())
	inst, c := signedIn(t, clock, devtest.WithFixedRoleClaim())
	inst.Server.Faults().ResetCounts()
	clock.Advance(14 * time.Minute)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if err := c.CheckAdmin(context.Background()); err != nil {
				t.Error(errText(t, err))
			}
		})
	}
	wg.Wait()
	if n := inst.Server.Faults().Requests(http.MethodPost, manaauthdev.PathRefresh); n != 1 {
		t.Errorf("%d refreshes for 10 requests in parallel, want 1", n)
	}
}
