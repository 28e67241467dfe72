package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Signing in as an admin, the way Mana's web app does (recorded in
// testdata/contract/admin-token-exchanges.json): Better Auth's sign-in
// sets a signed session cookie, and mana-auth's refresh route turns that
// cookie into a 15-minute access token, as often as asked. Nothing else
// works: the runner's login sets no cookie, and its refreshToken is
// refused everywhere. The cookie and the tokens live in this process's
// memory only.

// Paths of a signed-in session.
const (
	pathSignIn  = "/api/auth/sign-in/email"
	pathRefresh = "/api/v1/auth/refresh"
	pathLogout  = "/api/v1/auth/logout"
)

// sessionCookies are the names Better Auth gives the session cookie (over
// https with the __Secure- prefix).
var sessionCookies = []string{"mana.session_token", "__Secure-mana.session_token"}

// RenewMargin is the most time before its expiry at which a signed-in
// run's access token is renewed; a token that lives less is renewed when
// a third of its lifetime is left.
const RenewMargin = 2 * time.Minute

// session is an admin's sign-in: the cookie and the token refreshed from it.
type session struct {
	email string
	// role is user.role of the sign-in's answer; roleShown is false when
	// the answer has none, as mana-auth's has none while it drops the role.
	role      string
	roleShown bool
	// origin is the auth URL's origin, which mana-auth trusts for a logout.
	origin string

	mu     sync.Mutex
	cookie string // "name=value", the value as Set-Cookie gave it
	token  string
	claims TokenClaims
	// renewAt is when the token is refreshed, by the client's clock.
	renewAt time.Time

	// secrets are scrubbed from any text: the cookie, every token. They
	// have a lock of their own: a refresh holds mu while its error is
	// scrubbed.
	secretsMu sync.Mutex
	secrets   []string
}

func (s *session) addSecrets(v ...string) {
	s.secretsMu.Lock()
	defer s.secretsMu.Unlock()
	s.secrets = append(s.secrets, v...)
}

// SignInError is a sign-in mana-auth refused (a wrong address or password,
// an address not verified): the run cannot start.
type SignInError struct {
	Email, Reason string
}

func (e *SignInError) Error() string {
	return fmt.Sprintf("mana-auth refused the admin sign-in of %s: %s", e.Email, e.Reason)
}

// SignIn signs in to mana-auth as the admin with this address and
// password, POST /api/auth/sign-in/email as Mana's web app does, and gets
// the first access token with the session's cookie; from then on every
// admin request carries a token refreshed the same way when less than
// RenewMargin (or a third of its lifetime) is left. Call it once, before
// the Client is used.
//
// The sign-in is sent once: a refusal is never retried (a wrong password
// is a *SignInError), nor is a request that may have reached the server,
// and the password appears in no error. A refresh is retried like any
// request; mana-auth's 401 or 403 to it ends the run's sending (an error
// matching ErrTokenRejected). SignOut ends the session.
func (c *Client) SignIn(ctx context.Context, email, password string) error {
	if email == "" || password == "" {
		return errors.New("signing in to mana-auth needs the admin's address and password")
	}
	body, err := json.Marshal(struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}{email, password})
	if err != nil {
		return err
	}
	u, _ := url.Parse(c.baseString)
	s := &session{email: email, origin: u.Scheme + "://" + u.Host}
	var refused string
	r := request{method: http.MethodPost, path: pathSignIn, body: body, sendOnce: true, secrets: []string{password},
		header: map[string]string{"Origin": s.origin}}
	r.gotHeader = func(h http.Header) {
		for _, ck := range (&http.Response{Header: h}).Cookies() {
			for _, name := range sessionCookies {
				if ck.Name == name && ck.Value != "" {
					s.cookie = ck.Name + "=" + ck.Value
					s.addSecrets(ck.Value, strings.SplitN(ck.Value, ".", 2)[0])
				}
			}
		}
	}
	r.read = func(b io.Reader) error {
		var answer struct {
			User *struct {
				Role *string `json:"role"`
			} `json:"user"`
		}
		if err := json.NewDecoder(b).Decode(&answer); err != nil {
			return asDecodeError(r, "", err)
		}
		if answer.User != nil && answer.User.Role != nil {
			s.role, s.roleShown = *answer.User.Role, true
		}
		return nil
	}
	r.answer = func(resp *http.Response, raw []byte) bool {
		var env struct{ Code string }
		json.Unmarshal(raw, &env)
		switch {
		case resp.StatusCode == http.StatusUnauthorized:
			refused = "the address or the password is wrong; check MANA_ADMIN_EMAIL (or --admin-email) and the password in MANA_ADMIN_PASSWORD_FILE (--admin-password-file) or MANA_ADMIN_PASSWORD"
		case resp.StatusCode == http.StatusForbidden && env.Code == "EMAIL_NOT_VERIFIED":
			refused = "the address is not verified yet; verify it (the link mana-auth mailed), then run again"
		}
		return refused != ""
	}
	o, err := c.doAttempts(ctx, r)
	switch {
	case err != nil && o.sent && o.unanswered:
		return fmt.Errorf("signing in to mana-auth as %s got no answer (it is not retried): %w", email, err)
	case err != nil:
		return fmt.Errorf("signing in to mana-auth as %s: %w", email, err)
	case refused != "":
		return &SignInError{Email: email, Reason: refused}
	case s.cookie == "":
		return fmt.Errorf("mana-auth accepted the sign-in of %s but set no session cookie (mana.session_token); check that MANA_AUTH_URL (or --auth) points at mana-auth itself", email)
	}
	c.session = s
	s.mu.Lock()
	defer s.mu.Unlock()
	return c.refresh(ctx, s)
}

// bearer returns the admin token to send: the one given, or the session's,
// refreshed first when it is due.
func (c *Client) bearer(ctx context.Context) (string, error) {
	s := c.session
	if s == nil {
		return c.token, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.renewAt.IsZero() || c.now().Before(s.renewAt) {
		return s.token, nil
	}
	if err := c.checkToken(); err != nil {
		return "", err // another request's refresh was refused meanwhile
	}
	return s.token, c.refresh(ctx, s)
}

// refresh gets a new access token with the cookie; s.mu is held.
func (c *Client) refresh(ctx context.Context, s *session) error {
	if s.cookie == "" {
		return &tokenError{kind: ErrTokenRejected, msg: "not sent: this run signed out of mana-auth already"}
	}
	var answer struct {
		AccessToken string `json:"accessToken"`
	}
	r := request{method: http.MethodPost, path: pathRefresh, header: map[string]string{"Cookie": s.cookie}}
	r.read = func(b io.Reader) error {
		if err := json.NewDecoder(b).Decode(&answer); err != nil {
			return asDecodeError(r, "", err)
		}
		if answer.AccessToken == "" || strings.ContainsFunc(answer.AccessToken, unicode.IsSpace) || strings.ContainsFunc(answer.AccessToken, unicode.IsControl) {
			return &DecodeError{Method: r.method, Path: r.path, Field: "accessToken", Err: errors.New("missing, or not one token")}
		}
		return nil
	}
	received := c.now()
	err := c.do(ctx, r)
	var ae *APIError
	if errors.As(err, &ae) && (ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden) {
		c.rejected.Store(true)
		return &tokenError{kind: ErrTokenRejected, msg: fmt.Sprintf("%s; mana-auth no longer takes this run's admin sign-in as %s, so nothing more is sent; %s", ae.Error(), s.email, c.again())}
	}
	if err != nil {
		return fmt.Errorf("refreshing the admin token: %w", err)
	}
	s.token = answer.AccessToken
	s.addSecrets(s.token)
	s.claims, _ = Claims(s.token)
	s.renewAt = renewAt(s.claims, received)
	return nil
}

// renewAt is when a token received at the client's time received is to
// be renewed. Its lifetime is read from its own iat and exp, so that a
// clock of the client's that differs from mana-auth's does not matter;
// zero when the token does not tell its expiry (it is never renewed).
func renewAt(claims TokenClaims, received time.Time) time.Time {
	if claims.ExpiresAt.IsZero() {
		return time.Time{}
	}
	if claims.IssuedAt.IsZero() || !claims.ExpiresAt.After(claims.IssuedAt) {
		return claims.ExpiresAt.Add(-RenewMargin)
	}
	lifetime := claims.ExpiresAt.Sub(claims.IssuedAt)
	return received.Add(lifetime - min(RenewMargin, lifetime/3))
}

// SignOut ends the session SignIn began, POST /api/v1/auth/logout with its
// cookie and the auth URL's origin (mana-auth ends a session only for an
// origin it trusts), so that a run leaves no 7-day session behind. The
// cookie and the token are forgotten whatever mana-auth answers; the error
// says why the session may outlive the run. Without a sign-in it does
// nothing.
func (c *Client) SignOut(ctx context.Context) error {
	s := c.session
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cookie == "" {
		return nil
	}
	r := request{method: http.MethodPost, path: pathLogout, header: map[string]string{"Cookie": s.cookie, "Origin": s.origin}}
	err := c.do(ctx, r)
	s.cookie, s.token, s.renewAt = "", "", time.Time{}
	if err != nil {
		return fmt.Errorf("ending the admin's mana-auth session: %w; it ends by itself in 7 days", err)
	}
	return nil
}

// again says how a run stopped by its token converges.
func (c *Client) again() string {
	if c.session != nil {
		return "run `personactl apply` again: it signs in anew and converges from where this run stopped"
	}
	return "mint a fresh admin token, put it in " + c.tokenSource + " and run `personactl apply` again: it converges from where this run stopped"
}

// secretsNow are the session's secrets: its cookie and every token.
func (s *session) secretsNow() []string {
	if s == nil {
		return nil
	}
	s.secretsMu.Lock()
	defer s.secretsMu.Unlock()
	return append([]string(nil), s.secrets...)
}

// adviceForbidden explains a 403 to a signed-in run. mana-auth's tokens
// say role "user" for every account, admins included, while its Better
// Auth configuration lacks role in user.additionalFields; its sign-in
// answer then shows no role, which is how this case is told from an
// account that is not an admin (the fixed service shows "user").
func (s *session) adviceForbidden() string {
	s.mu.Lock()
	role := s.claims.Role
	s.mu.Unlock()
	switch {
	case role == "admin":
		return fmt.Sprintf(`the token mana-auth issued to %s claims role "admin" but the admin API refused it: the route may not exist here; check MANA_AUTH_URL (or --auth)`, s.email)
	case s.roleShown:
		return fmt.Sprintf(`%s is not an admin: mana-auth gives it role %q; set MANA_ADMIN_EMAIL (or --admin-email) to an admin's address, or make this account one (auth.users.role = 'admin')`, s.email, s.role)
	}
	return fmt.Sprintf(`the token mana-auth issued to %s claims role %q: this account is not an admin, or mana-auth drops the role (it does while role is missing from user.additionalFields in services/mana-auth/src/auth/better-auth.config.ts); if auth.users.role is 'admin' for %s, add the line role: { type: 'string', defaultValue: 'user', input: false }, to user.additionalFields there and restart mana-auth, or until then set MANA_ADMIN_JWT_FILE to an admin token minted with mana-auth's signing key (docs/token.md)`, s.email, role, s.email)
}
