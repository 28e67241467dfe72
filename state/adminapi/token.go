package adminapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"
)

// TokenClaims are the claims of a mana-auth JWT, read without verifying the
// signature: good for explaining a refusal, never for trusting anything.
type TokenClaims struct {
	Subject   string
	Email     string
	Role      string
	Issuer    string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// Claims decodes the middle segment of a JWT (base64url JSON). It reports
// false for anything that is not three dot-separated segments whose middle
// is a JSON object. A claim of an unexpected type is left empty.
func Claims(token string) (TokenClaims, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[1] == "" {
		return TokenClaims{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return TokenClaims{}, false
	}
	var m map[string]any
	if json.Unmarshal(payload, &m) != nil || m == nil {
		return TokenClaims{}, false
	}
	str := func(k string) string { s, _ := m[k].(string); return s }
	return TokenClaims{Subject: str("sub"), Email: str("email"), Role: str("role"), Issuer: str("iss"),
		IssuedAt: unixClaim(m["iat"]), ExpiresAt: unixClaim(m["exp"])}, true
}

func unixClaim(v any) time.Time {
	f, ok := v.(float64)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 || f > 1e12 {
		return time.Time{}
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}

// tokenError is a problem with the token found before anything was sent.
type tokenError struct {
	msg  string
	kind error
}

func (e *tokenError) Error() string { return e.msg }

// Is matches the error's kind; an expired token is also a rejected one.
func (e *tokenError) Is(target error) bool {
	return target == e.kind || target == ErrTokenRejected && (e.kind == ErrTokenExpired || e.kind == ErrTokenRejected)
}

// checkToken refuses to send a request that is bound to be refused for a
// missing or expired token, and says what to do instead.
func (c *Client) checkToken() error {
	if c.rejected.Load() {
		return &tokenError{kind: ErrTokenRejected, msg: "not sent: mana-auth refused the admin token earlier in this run (401); " + c.again()}
	}
	if c.session != nil {
		return nil // refreshed before it is sent
	}
	if c.token == "" {
		return &tokenError{kind: ErrNoToken, msg: "no admin token: set MANA_ADMIN_JWT (or --jwt) to an admin token for mana-auth"}
	}
	if !c.hasClaims || c.claims.ExpiresAt.IsZero() {
		return nil // not a JWT we can read: the server decides
	}
	now := c.now()
	if !c.claims.ExpiresAt.After(now) {
		msg := fmt.Sprintf("the admin token from %s expired at %s (%s ago); mint a new admin token and put it there",
			c.tokenSource, c.claims.ExpiresAt.UTC().Format(time.RFC3339), humanDuration(now.Sub(c.claims.ExpiresAt)))
		if c.accepted.Load() {
			msg += " and run `personactl apply` again: it converges from where this run stopped"
		}
		return &tokenError{kind: ErrTokenExpired, msg: msg}
	}
	return nil
}

// humanDuration renders d the way a person says it: "3 days 4h", "2h5m", "40s".
func humanDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		days := d / (24 * time.Hour)
		return fmt.Sprintf("%d days %dh", days, (d-days*24*time.Hour)/time.Hour)
	case d >= time.Hour:
		return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	default:
		return d.Round(time.Second).String()
	}
}

// TokenExpiry returns the given admin token's exp claim, read without
// verifying the token; false when the token is not a JWT or has no exp,
// and for a signed-in client, whose token is renewed as it goes.
func (c *Client) TokenExpiry() (time.Time, bool) {
	if c.session != nil || !c.hasClaims || c.claims.ExpiresAt.IsZero() {
		return time.Time{}, false
	}
	return c.claims.ExpiresAt, true
}

// TokenClaims returns the claims of the admin token the client sends now
// (a signed-in client's latest), read without verifying it; false when it
// is not a JWT.
func (c *Client) TokenClaims() (TokenClaims, bool) {
	if s := c.session; s != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.claims, s.token != ""
	}
	return c.claims, c.hasClaims
}

// CheckAdmin asks the admin API one question that needs an admin token (a
// users search that matches nobody) and returns its refusal, if any: nil
// when the admin API takes the token.
func (c *Client) CheckAdmin(ctx context.Context) error {
	r := request{method: http.MethodGet, path: pathUsers + "?search=personactl-auth-check&limit=1", auth: true}
	// The search's own 500 (its bug: a page holding anyone who has signed
	// in answers 500) comes after the token was taken.
	r.answer = func(resp *http.Response, _ []byte) bool { return resp.StatusCode == http.StatusInternalServerError }
	return c.do(ctx, r)
}
