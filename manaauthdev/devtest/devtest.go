// Package devtest starts mana-auth-dev for a test: a real HTTP server on
// 127.0.0.1 with admin and user tokens it minted, stopped when the test ends.
//
//	inst := devtest.Start(t)                         // in memory
//	inst := devtest.Start(t, devtest.WithPostgres()) // in a fresh database
//
// Tests then talk to inst.URL over HTTP with inst.AdminToken (an admin) or
// inst.UserToken (a valid token without the admin role), and reach behind
// the API's back through inst.Store.
package devtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mana/personactl/manaauthdev"
)

// Instance is a running mana-auth-dev.
type Instance struct {
	URL        string // e.g. http://127.0.0.1:43567, no trailing slash
	AdminToken string // minted by Server for TokenTTL; claims sub=AdminID, role=admin
	UserToken  string // minted by Server for TokenTTL; claims sub=UserID, role=user
	AdminID    string // the sub claim of AdminToken (no such user is stored)
	UserID     string // the sub claim of UserToken (no such user is stored)
	Server     *manaauthdev.Server
	Store      manaauthdev.Store
}

type config struct {
	postgres bool
	now      func() time.Time
	server   manaauthdev.Options
}

// Option changes how Start builds the instance.
type Option func(*config)

// TokenTTL is how long an Instance's AdminToken and UserToken live by the
// server's clock; Server.MintToken makes shorter-lived ones.
const TokenTTL = 12 * time.Hour

// WithNow gives the server a clock: timestamps, the 7-day window of
// actions7d, token expiry and the login lockout's windows follow it. A
// manaauthdev.Clock moves it: WithNow(clock.Now).
func WithNow(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithFixedRoleClaim makes the server issue tokens claiming the user's
// role, as mana-auth does once its role line is fixed
// (manaauthdev.Options.FixedRoleClaim); without it every token it issues
// to a user claims "user", as the real service's do today.
func WithFixedRoleClaim() Option { return func(c *config) { c.server.FixedRoleClaim = true } }

// WithTokenTTL sets how long the access tokens the server issues to users
// live (a login's, a refresh's); 15 minutes without it.
func WithTokenTTL(d time.Duration) Option { return func(c *config) { c.server.TokenTTL = d } }

// WithIssued tells issued every session token and access token the
// server hands out.
func WithIssued(issued func(secret string)) Option {
	return func(c *config) { c.server.Issued = issued }
}

// Token returns a JWT-shaped token carrying claims, the way mana-auth's
// tokens look (EdDSA header, base64url parts), signed by a key no instance
// trusts: the token of another server, answered 401 "Invalid or expired
// token" (unless given whole as manaauthdev.Options.AdminToken). Tokens an
// instance accepts come from inst.Server.MintToken or inst.Server.Sign.
func Token(claims map[string]any) string { return manaauthdev.SignToken(claims) }

// Start runs mana-auth-dev on 127.0.0.1 on a free port until the test ends.
func Start(t testing.TB, opts ...Option) *Instance {
	t.Helper()
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	var store manaauthdev.Store = manaauthdev.NewMemoryStore()
	if cfg.postgres {
		store = startPostgres(t)
	}
	inst := &Instance{AdminID: manaauthdev.NewID(), UserID: manaauthdev.NewID(), Store: store}
	server := cfg.server
	server.Store, server.Now = store, cfg.now
	inst.Server = manaauthdev.New(server)
	inst.AdminToken = inst.Server.MintTokenFor(inst.AdminID, "admin@mana-auth-dev.test", manaauthdev.RoleAdmin, TokenTTL)
	inst.UserToken = inst.Server.MintTokenFor(inst.UserID, "user@mana-auth-dev.test", manaauthdev.RoleUser, TokenTTL)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mana-auth-dev: listening on 127.0.0.1: %v", err)
	}
	hs := &http.Server{Handler: inst.Server, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	inst.URL = "http://" + ln.Addr().String()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := hs.Shutdown(ctx); err != nil {
			hs.Close()
		}
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("mana-auth-dev stopped with: %v", err)
		}
	})
	return inst
}

// Expired returns a token like AdminToken, signed by the server, whose exp
// lies two minutes in the past by the server's clock.
func (i *Instance) Expired() string {
	now := i.Server.Now()
	claims := manaauthdev.TokenClaims(i.AdminID, "admin@mana-auth-dev.test", manaauthdev.RoleAdmin, now.Add(-17*time.Minute), manaauthdev.AccessTokenTTL)
	return i.Server.Sign(claims)
}

// Login sends the persona runner's login, POST /api/v1/auth/login, and
// returns the status and the body of the answer.
func (i *Instance) Login(t testing.TB, email, password string) (int, string) {
	t.Helper()
	status, raw := i.send(t, manaauthdev.PathLogin, map[string]string{"email": email, "password": password})
	return status, string(raw)
}

// LockOut locks the runner's login of the address exactly as given, as
// five wrong passwords would: for 30 minutes by the server's clock.
func (i *Instance) LockOut(t testing.TB, email string) {
	t.Helper()
	if err := i.Server.LockOut(context.Background(), email); err != nil {
		t.Fatalf("locking out %s: %v", email, err)
	}
}

// SignUpHuman signs a person up through Better Auth's route, as the web app
// does, and returns the user id the server answered. The address is stored
// lowercased and unverified. For an address that exists the id is made up
// and nothing is created, as in the real service.
func (i *Instance) SignUpHuman(t testing.TB, email, password, name string) string {
	t.Helper()
	var out struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	i.post(t, manaauthdev.PathSignUp, map[string]string{"email": email, "password": password, "name": name}, &out)
	return out.User.ID
}

// VerifyEmail marks the user with that address verified, as the mailed link
// would (there is no mail locally).
func (i *Instance) VerifyEmail(t testing.TB, email string) {
	t.Helper()
	ctx := context.Background()
	u, err := i.Store.UserByEmail(ctx, strings.ToLower(email))
	if err == nil {
		err = i.Store.MarkVerified(ctx, u.ID)
	}
	if err != nil {
		t.Fatalf("verifying %s: %v", email, err)
	}
}

// AddAdmin creates a verified user with role admin who signs in with
// password, and returns its id.
func (i *Instance) AddAdmin(t testing.TB, email, password string) string {
	t.Helper()
	u, err := i.Server.AddAdmin(context.Background(), email, password)
	if err != nil {
		t.Fatalf("adding the admin %s: %v", email, err)
	}
	return u.ID
}

// SignIn signs in with email and password and fails the test unless the
// server answers 200 (which records a session).
func (i *Instance) SignIn(t testing.TB, email, password string) {
	t.Helper()
	i.post(t, manaauthdev.PathSignIn, map[string]string{"email": email, "password": password}, nil)
}

// SignedInHuman creates a person who has signed in: signs up, verifies and
// signs in, and returns the user id. Such a user makes the users search
// answer 500 (the real service's bug).
func (i *Instance) SignedInHuman(t testing.TB, email, name string) string {
	t.Helper()
	password := "pw-" + manaauthdev.NewID()
	id := i.SignUpHuman(t, email, password, name)
	i.VerifyEmail(t, email)
	i.SignIn(t, email, password)
	return id
}

// send posts body, as JSON, to path and returns the answer's status and body.
func (i *Instance) send(t testing.TB, path string, body any) (int, []byte) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	resp, err := http.Post(i.URL+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: reading the answer: %v", path, err)
	}
	return resp.StatusCode, raw
}

// post is send of an answer that must be 200, decoded into out unless it is nil.
func (i *Instance) post(t testing.TB, path string, body any, out any) {
	t.Helper()
	status, raw := i.send(t, path, body)
	if status != http.StatusOK {
		t.Fatalf("POST %s: %d %s: %s", path, status, http.StatusText(status), raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("POST %s: decoding %s: %v", path, raw, err)
		}
	}
}
