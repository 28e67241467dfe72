package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"time"

	"github.com/mana/personactl/state"
)

// Login logs in as a persona the way the runner does, POST
// /api/v1/auth/login with the address and its password (no admin token is
// sent), and says whether the runner can. Every successful login creates a
// session in mana-auth, as the runner's do.
//
// At most one login request reaches the server per call, because each
// failed one counts toward the address's lockout: a request that failed
// before it was written (refused, DNS, a dial timeout) is retried within
// the retry budget; one that may have been written and got no answer is
// state.LoginUnknown, not retried; no answer is retried, 401 and 429 included.
// Any other answer (400 VALIDATION, 5xx) is an *APIError with the server's
// words. The password appears in no error.
func (c *Client) Login(ctx context.Context, email, password string) (state.LoginResult, error) {
	if email == "" || password == "" {
		return state.LoginResult{}, fmt.Errorf("login as %q: an address and a password are needed", email)
	}
	body, err := json.Marshal(struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}{email, password})
	if err != nil {
		return state.LoginResult{}, fmt.Errorf("login as %s: %w", email, err)
	}
	var res state.LoginResult
	r := request{method: http.MethodPost, path: pathLogin, body: body, sendOnce: true, email: email, secrets: []string{password}}
	r.read = func(b io.Reader) error {
		kind, err := decodeLoginAnswer(b)
		if err != nil {
			return asDecodeError(r, "", err)
		}
		res = state.LoginResult{Status: state.LoginNotPersona, Kind: kind}
		if kind == "persona" {
			res.Status = state.LoginReady
		}
		return nil
	}
	r.answer = func(resp *http.Response, raw []byte) bool {
		status, after, ok := readLoginRefusal(resp.StatusCode, resp.Header.Get("Retry-After"), raw, c.now())
		if ok {
			res = state.LoginResult{Status: status, RetryAfter: after}
		}
		return ok
	}
	o, err := c.doOutcome(ctx, r)
	if err != nil && o.sent && o.unanswered {
		res = state.LoginResult{Status: state.LoginUnknown, Reason: c.scrub(err.Error(), password)}
		if ctx.Err() != nil {
			return res, fmt.Errorf("login as %s: %w", email, context.Cause(ctx))
		}
		return res, nil
	}
	if err != nil {
		return state.LoginResult{}, fmt.Errorf("login as %s: %w", email, err)
	}
	return res, nil
}

// decodeLoginAnswer reads user.kind from a successful login's answer; the
// tokens in it are not kept.
func decodeLoginAnswer(b io.Reader) (kind string, err error) {
	var answer struct {
		User *struct {
			Kind *string `json:"kind"`
		} `json:"user"`
	}
	if err := json.NewDecoder(b).Decode(&answer); err != nil {
		return "", err
	}
	if answer.User == nil {
		return "", &fieldError{field: "user", err: errors.New("missing")}
	}
	if answer.User.Kind == nil || *answer.User.Kind == "" {
		return "", &fieldError{field: "user.kind", err: errors.New("missing: cannot tell whether the user is a persona")}
	}
	return *answer.User.Kind, nil
}

// readLoginRefusal reads the answers a login refusal may be: a wrong
// password (401 INVALID_CREDENTIALS) or a locked address (429
// ACCOUNT_LOCKED, for retryAfterSec, or else Retry-After). ok is false for
// anything else.
func readLoginRefusal(status int, retryAfter string, raw []byte, now time.Time) (state.LoginStatus, time.Duration, bool) {
	var env struct {
		Error         string   `json:"error"`
		RetryAfterSec *float64 `json:"retryAfterSec"`
	}
	if json.Unmarshal(raw, &env) != nil {
		return 0, 0, false
	}
	switch {
	case status == http.StatusUnauthorized && env.Error == "INVALID_CREDENTIALS":
		return state.LoginWrongPassword, 0, true
	case status == http.StatusTooManyRequests && env.Error == "ACCOUNT_LOCKED":
		if s := env.RetryAfterSec; s != nil && *s >= 0 && *s < math.MaxInt32 {
			return state.LoginLocked, time.Duration(*s * float64(time.Second)), true
		}
		after, _ := parseRetryAfter(retryAfter, now)
		return state.LoginLocked, after, true
	}
	return 0, 0, false
}
