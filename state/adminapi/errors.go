package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/mana/personactl/internal/neutral"
)

// Errors callers can recognise with errors.Is.
var (
	// ErrNotFound: mana-auth has no persona with that user id (detail, delete).
	ErrNotFound = errors.New("persona not found")
	// ErrNotPersona: mana-auth refused to delete a user who is not a persona.
	ErrNotPersona = errors.New("user is not a persona")
	// ErrUnreachable: no connection to mana-auth could be made.
	ErrUnreachable = errors.New("mana-auth unreachable")
	// ErrNoToken: an admin call was made without an admin token.
	ErrNoToken = errors.New("no admin token")
	// ErrTokenExpired: the admin token's exp claim is in the past, so it was
	// not sent. Such an error matches ErrTokenRejected too.
	ErrTokenExpired = errors.New("admin token expired")
	// ErrTokenRejected: the admin token can do nothing more: mana-auth
	// answered 401 (expired, revoked, or never valid), or the token's exp
	// has passed. It is never retried, and once mana-auth refused it the
	// Client sends nothing more with it. A run that meets it should stop
	// starting new steps: the same token would fail them too, rollbacks
	// included; `personactl apply` again with a fresh token converges.
	ErrTokenRejected = errors.New("admin token rejected")
)

// APIError is an answer of mana-auth other than success, with the server's
// own words and what to do about it.
type APIError struct {
	Method string
	// Path is the path and query below the base URL.
	Path   string
	Status int
	// Message is the server's message: the text of whichever error envelope
	// it used ({statusCode,message}, {error,message}, {message,code}), or the
	// plain-text body.
	Message string
	// Details lists the failed rules of a 400 ValidationError.
	Details []string
	// Hint is the route's own hint, when it gave one.
	Hint string
	// Code is Better Auth's error code, when it gave one.
	Code string
	// Tries is how many times the request was sent.
	Tries int
	// RetryAfter is the wait the server asked for (429, 503), if any.
	RetryAfter time.Duration

	advice   string
	jsonBody bool
	// gaveUp says why retries stopped before the budget's attempts ran out.
	gaveUp string
	kind   error // ErrNotFound, ErrNotPersona, ErrTokenRejected or nil
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: mana-auth answered %d", e.Method, e.Path, e.Status)
	var words []string
	if e.Message != "" {
		words = append(words, e.Message)
	}
	words = append(words, e.Details...)
	if e.Hint != "" {
		words = append(words, "hint: "+e.Hint)
	}
	if e.Code != "" {
		words = append(words, "code "+e.Code)
	}
	if len(words) > 0 {
		// The first word is the headline ("ValidationError", "Forbidden");
		// the rest read as a list after it.
		b.WriteString(" (" + words[0])
		if len(words) > 1 {
			b.WriteString(": " + strings.Join(words[1:], "; "))
		}
		b.WriteString(")")
	}
	if e.Tries > 1 {
		fmt.Fprintf(&b, " after %d tries", e.Tries)
	}
	if e.gaveUp != "" {
		b.WriteString("; gave up: " + e.gaveUp)
	}
	if e.advice != "" {
		b.WriteString("; " + e.advice)
	}
	return b.String()
}

// Advice says what to do about the failure, the end of its message.
func (e *APIError) Advice() string { return e.advice }

// Is lets errors.Is recognise ErrNotFound, ErrNotPersona and ErrTokenRejected.
func (e *APIError) Is(target error) bool { return e.kind != nil && target == e.kind }

// transient says whether the same request may succeed if sent again: a
// rate limiter's 429 and a gateway's 502, 503, 504.
func (e *APIError) transient() bool {
	switch e.Status {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// gaveUp adds to err why the retries stopped early.
func gaveUp(err error, why string) error {
	var ae *APIError
	var ne *NetworkError
	switch {
	case errors.As(err, &ae):
		ae.gaveUp = why
	case errors.As(err, &ne):
		ne.msg += "; gave up: " + why
	default:
		return fmt.Errorf("%w; gave up: %s", err, why)
	}
	return err
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func parseRetryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(h, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(min(n, int64(math.MaxInt64/time.Second))) * time.Second, true
	}
	t, err := http.ParseTime(h)
	if err != nil {
		return 0, false
	}
	return max(0, t.Sub(now)), true
}

// BodyTooLargeError is an answer longer than the cap of its endpoint
// (MaxListBody, MaxOtherBody); the rest of it was not read.
type BodyTooLargeError struct {
	Method, Path string
	Limit        int64
	// Length is the length the answer announced, 0 when it did not.
	Length int64
}

func (e *BodyTooLargeError) Error() string {
	size := "longer than"
	if e.Length > 0 {
		size = fmt.Sprintf("%d bytes, more than", e.Length)
	}
	return fmt.Sprintf("%s %s: the answer is %s the %s this endpoint is allowed; personactl stopped reading it; check that MANA_AUTH_URL (or --auth) points at mana-auth itself, not at another service or a proxy's error page",
		e.Method, e.Path, size, sizeName(e.Limit))
}

func sizeName(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// apiError reads a non-2xx answer into an *APIError, with advice fitting the
// status and the request.
func (c *Client) apiError(r request, try int, resp *http.Response, raw []byte) *APIError {
	e := c.envelopeError(r, try, resp.StatusCode, raw)
	jsonBody := e.jsonBody

	switch s := resp.StatusCode; {
	case s >= 300 && s < 400:
		loc := Redact(c.scrub(resp.Header.Get("Location")))
		e.advice = fmt.Sprintf("mana-auth redirects to %q; set MANA_AUTH_URL (or --auth) to the address of mana-auth itself", loc)
	case s == http.StatusUnauthorized && r.auth:
		e.kind = ErrTokenRejected
		e.advice = c.adviceUnauthorized()
		c.rejected.Store(true)
	case s == http.StatusForbidden:
		e.advice = c.adviceForbidden()
	case s == http.StatusNotFound && !jsonBody:
		e.advice = fmt.Sprintf("mana-auth at %s has no such route; check that MANA_AUTH_URL (or --auth) points at mana-auth", c.shown)
	case s == http.StatusNotFound:
		e.kind = ErrNotFound
		e.advice = "no persona has this user id (it may have been deleted already)"
	case s == http.StatusBadRequest && r.path == pathLogin:
		e.advice = "mana-auth refused the login request; its message says why"
	case s == http.StatusBadRequest && r.method == http.MethodDelete:
		e.kind = ErrNotPersona
		e.advice = "this user is not a persona, and personactl never deletes other users"
	case s == http.StatusBadRequest:
		// Bodies are checked against these rules before sending, so the
		// service's rules and personactl's have come apart.
		e.advice = "mana-auth refused a body that passed personactl's check of its rules; this mana-auth may check more than personactl knows of; fix what its message names"
	case s == http.StatusInternalServerError && r.method == http.MethodPost && r.path == pathPersonas && strings.HasPrefix(e.Message, "Sign-up failed"):
		e.advice = "Better Auth refused to sign the new persona up; its message says why"
	case s == http.StatusInternalServerError && r.method == http.MethodPost && r.path == pathPersonas:
		e.advice = c.adviceUpsert500(r.email)
	case s == http.StatusInternalServerError:
		e.advice = advice500(r)
	case s == http.StatusTooManyRequests:
		e.advice = "mana-auth (or a proxy in front of it) limits the rate of requests; lower --parallelism, or try again later"
	case e.transient():
		e.advice = "mana-auth (or a proxy in front of it) is unavailable; try again later"
	}
	return e
}

// envelopeError reads an error answer's body into an *APIError without
// advice, with the token and the base URL's password scrubbed, and the
// server's words neutralised: they are shown on terminals and in pull
// requests, where an escape sequence or a line break of theirs must not act.
func (c *Client) envelopeError(r request, try, status int, raw []byte) *APIError {
	e := &APIError{Method: r.method, Path: r.path, Status: status, Tries: try}
	e.jsonBody = readEnvelope(raw, e)
	e.Message = neutral.Text(c.scrub(e.Message, r.secrets...))
	e.Hint = neutral.Text(c.scrub(e.Hint, r.secrets...))
	for i := range e.Details {
		e.Details[i] = neutral.Text(c.scrub(e.Details[i], r.secrets...))
	}
	e.Code = neutral.Text(c.scrub(e.Code, r.secrets...))
	if e.Message == "" && len(e.Details) == 0 && e.Hint == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

// adviceUpsert500 explains mana-auth's bare 500 to an upsert: a letter-case
// clash when that is the likely cause, else what it means for a write.
func (c *Client) adviceUpsert500(email string) string {
	if email != "" && email != strings.ToLower(email) {
		return fmt.Sprintf("mana-auth answers this way for an address with capitals (it stores %s, then looks up %s as sent); write the address in lowercase; its log has the cause", strings.ToLower(email), email)
	}
	if twin := c.caseTwin(email); twin != "" {
		return fmt.Sprintf("the live persona %s has this address in other letter case, and mana-auth answers an upsert of such an address this way; fix the address in mana-auth's database (lowercase), or delete that persona; its log has the cause", twin)
	}
	return "mana-auth failed while creating or updating this persona and gives no reason (it may or may not have been written; the upsert is safe to repeat): run the command again, and if it keeps failing, its log has the cause"
}

// advice500 says what mana-auth's bare 500 means for an endpoint.
func advice500(r request) string {
	switch {
	case r.method == http.MethodGet && r.path == pathPersonas:
		return "mana-auth failed to list the personas (nothing was changed); try again, and if it keeps failing, its log has the cause"
	case r.method == http.MethodGet && strings.HasPrefix(r.path, pathPersonas+"/"):
		return "mana-auth failed to read this persona (nothing was changed); try again, and if it keeps failing, its log has the cause"
	case r.method == http.MethodDelete:
		return "mana-auth failed while deleting this persona; it may or may not be deleted: the next plan reads it again; its log has the cause"
	case r.path == pathLogin:
		return "mana-auth failed while logging in (this attempt may or may not count toward a lockout); its log has the cause"
	}
	return "mana-auth failed; its log has the cause"
}

// readEnvelope fills e from whichever of mana-auth's error shapes raw holds,
// and reports whether raw was JSON at all. A body that is not JSON becomes
// the message as it is (first line, shortened).
func readEnvelope(raw []byte, e *APIError) (isJSON bool) {
	var env map[string]json.RawMessage
	if json.Unmarshal(raw, &env) != nil {
		text := strings.TrimSpace(string(raw))
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			text = text[:i]
		}
		e.Message = shorten(text, 200)
		return false
	}
	str := func(key string) string {
		var s string
		if v, ok := env[key]; ok && json.Unmarshal(v, &s) == nil {
			return s
		}
		return ""
	}
	headline, message := str("error"), str("message")
	switch {
	case headline != "" && message != "":
		e.Message = headline + ": " + message
	case headline != "":
		e.Message = headline
	default:
		e.Message = message
	}
	if v, ok := env["details"]; ok {
		var details []string
		if json.Unmarshal(v, &details) == nil {
			e.Details = details
		} else {
			// Whatever shape it has, the server's words are worth showing.
			e.Details = []string{shorten(string(v), 500)}
		}
	}
	e.Hint = str("hint")
	e.Code = str("code")
	return true
}

func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

func (c *Client) adviceUnauthorized() string {
	if s := c.session; s != nil {
		return fmt.Sprintf("mana-auth refused the admin token it issued to this run's sign-in as %s (it expired on the way, or mana-auth's signing key changed); nothing more is sent with it; %s", s.email, c.again())
	}
	if c.accepted.Load() {
		// Taken earlier in this run, refused now: it ran out, or was revoked.
		why := "it expired, or mana-auth no longer trusts it"
		if exp, ok := c.TokenExpiry(); ok {
			if now := c.now(); !exp.After(now) {
				why = fmt.Sprintf("it expired at %s", exp.UTC().Format(time.RFC3339))
			} else {
				why = fmt.Sprintf("it was revoked, or mana-auth's signing key changed (it expires only at %s)", exp.UTC().Format(time.RFC3339))
			}
		}
		return fmt.Sprintf("mana-auth accepted the admin token earlier in this run and now refuses it: %s; nothing more is sent with it; mint a fresh admin token, put it in %s and run `personactl apply` again: it converges from where this run stopped", why, c.tokenSource)
	}
	advice := "mana-auth refused the admin token from " + c.tokenSource + "; put a valid admin token there"
	if !c.hasClaims {
		advice += " (the one given is not a JWT)"
	}
	return advice
}

func (c *Client) adviceForbidden() string {
	if c.session != nil {
		return c.session.adviceForbidden()
	}
	mint := `mana-auth's own login issues role "user" even to admins, so an admin token has to be minted with the service's signing key; put one in ` + c.tokenSource
	if !c.hasClaims {
		return `the admin API needs a token with role "admin", and the token given is not a JWT whose role could be read; ` + mint
	}
	who := ""
	if c.claims.Email != "" {
		who = " (for " + c.claims.Email + ")"
	} else if c.claims.Subject != "" {
		who = " (for user " + c.claims.Subject + ")"
	}
	if c.claims.Role == "" {
		return fmt.Sprintf(`the token%s claims no role, and the admin API needs role "admin"; %s`, who, mint)
	}
	if c.claims.Role == "admin" {
		return fmt.Sprintf(`the token%s claims role "admin" but mana-auth still refused it: the route may not exist, or mana-auth no longer trusts this token; mint a new admin token with the service's signing key and put it in %s`, who, c.tokenSource)
	}
	return fmt.Sprintf(`the token%s claims role: %q, and the admin API needs role "admin"; %s`, who, c.claims.Role, mint)
}

// NetworkError is a request that got no answer (or only part of one), even
// after retries.
type NetworkError struct {
	Method, Path string
	// BaseURL is the mana-auth address that was tried.
	BaseURL string
	// Tries is how many times the request was sent.
	Tries int
	// Err is the last failure, as the transport reported it.
	Err error
	// Received counts the bytes of the answer's body read before it
	// failed; -1 when no answer began.
	Received int64

	msg       string
	unreached bool
	retryable bool
}

func (e *NetworkError) Error() string {
	return fmt.Sprintf("%s %s: %s", e.Method, e.Path, e.msg)
}

// Unwrap returns the transport's error.
func (e *NetworkError) Unwrap() error { return e.Err }

// Is lets errors.Is recognise ErrUnreachable.
func (e *NetworkError) Is(target error) bool { return target == ErrUnreachable && e.unreached }

// describe classifies e.Err and writes the message; scrub removes the token
// from the transport's text.
func (e *NetworkError) describe(timeout time.Duration, scrub func(string) string) {
	cause := e.Err
	var ue *url.Error
	if errors.As(cause, &ue) {
		// *url.Error repeats the method and the URL; keep what it wraps.
		cause = ue.Err
	}
	text := scrub(cause.Error())
	after := ""
	if e.Tries > 1 {
		after = fmt.Sprintf(" after %d tries", e.Tries)
	}
	var dns *net.DNSError
	var netErr net.Error
	switch {
	case errors.Is(e.Err, syscall.ECONNREFUSED), errors.As(e.Err, &dns) && !dns.IsTimeout:
		e.unreached, e.retryable = true, true
		if dns != nil && dns.IsNotFound {
			e.retryable = false
		}
		e.msg = fmt.Sprintf("cannot reach mana-auth at %s (%s)%s; mana-auth may not be running: start it, or check MANA_AUTH_URL (or --auth)", e.BaseURL, text, after)
	case (errors.Is(e.Err, os.ErrDeadlineExceeded) || errors.Is(e.Err, context.DeadlineExceeded) || errors.As(e.Err, &netErr) && netErr.Timeout()) && e.Received >= 0:
		e.retryable = true
		e.msg = fmt.Sprintf("mana-auth at %s was too slow (%d bytes in %s): its answer was still arriving when the deadline of one request passed%s; it may be overloaded, or the network slow: try again later", e.BaseURL, e.Received, seconds(timeout), after)
	case errors.Is(e.Err, os.ErrDeadlineExceeded), errors.Is(e.Err, context.DeadlineExceeded), errors.As(e.Err, &netErr) && netErr.Timeout():
		e.retryable = true
		e.msg = fmt.Sprintf("mana-auth at %s gave no answer within %s%s; it may be overloaded or stuck: try again later", e.BaseURL, timeout, after)
	case errors.Is(e.Err, syscall.ECONNRESET), errors.Is(e.Err, syscall.EPIPE), errors.Is(e.Err, syscall.ECONNABORTED),
		errors.Is(e.Err, io.EOF), errors.Is(e.Err, io.ErrUnexpectedEOF):
		e.retryable = true
		e.msg = fmt.Sprintf("the connection to mana-auth at %s broke before the answer was complete (%s)%s; try again", e.BaseURL, text, after)
	default:
		e.msg = fmt.Sprintf("talking to mana-auth at %s failed (%s)%s; check MANA_AUTH_URL (or --auth)", e.BaseURL, text, after)
	}
}

// DecodeError is a success answer whose body did not have the shape mana-auth
// gives that answer.
type DecodeError struct {
	Method, Path string
	// Field is the JSON path of the offending value, e.g. "personas[3].actions7d".
	Field string
	Err   error
}

func (e *DecodeError) Error() string {
	where := ""
	if e.Field != "" {
		where = e.Field + ": "
	}
	return fmt.Sprintf("%s %s: unexpected answer from mana-auth: %s%v; check that MANA_AUTH_URL (or --auth) points at a mana-auth whose admin API personactl supports", e.Method, e.Path, where, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// decodeError explains err, met while decoding the answer to r; prefix is the
// JSON path of the value being decoded ("personas[3]").
func decodeError(r request, prefix string, err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	field := prefix
	switch {
	case errors.As(err, &te):
		if te.Field != "" {
			field = joinField(prefix, te.Field)
		}
		err = fmt.Errorf("got %s, want %s", jsonKind(te.Value), goKindName(te.Type))
	case errors.As(err, &se):
		err = fmt.Errorf("malformed JSON at byte %d: %v", se.Offset, se)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		err = errors.New("the JSON ends too early")
	}
	return &DecodeError{Method: r.method, Path: r.path, Field: field, Err: err}
}

func joinField(prefix, field string) string {
	if prefix == "" {
		return field
	}
	return prefix + "." + field
}

// jsonKind turns UnmarshalTypeError.Value ("string", "number 1.5") into words.
func jsonKind(v string) string {
	switch {
	case v == "string":
		return "a string"
	case v == "object", v == "array":
		return "an " + v
	case strings.HasPrefix(v, "number"):
		if rest := strings.TrimSpace(strings.TrimPrefix(v, "number")); rest != "" {
			return "the number " + rest
		}
		return "a number"
	case v == "bool":
		return "a boolean"
	}
	return v
}

func goKindName(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Float64, reflect.Float32:
		return "a number"
	case reflect.Bool:
		return "a boolean"
	case reflect.Map, reflect.Struct:
		if t == reflect.TypeFor[time.Time]() {
			return "an ISO-8601 time string"
		}
		return "an object"
	case reflect.Slice:
		return "an array"
	}
	return t.String()
}
