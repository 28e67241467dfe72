package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
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
	// not sent.
	ErrTokenExpired = errors.New("admin token expired")
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

	advice string
	kind   error // ErrNotFound, ErrNotPersona or nil
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
	if e.advice != "" {
		b.WriteString("; " + e.advice)
	}
	return b.String()
}

// Is lets errors.Is recognise ErrNotFound and ErrNotPersona.
func (e *APIError) Is(target error) bool { return e.kind != nil && target == e.kind }

// transient says whether the same request may succeed if sent again.
func (e *APIError) transient() bool {
	switch e.Status {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// apiError reads a non-2xx answer into an *APIError, with advice fitting the
// status and the request.
func (c *Client) apiError(r request, try int, resp *http.Response) *APIError {
	e := &APIError{Method: r.method, Path: r.path, Status: resp.StatusCode, Tries: try}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	jsonBody := readEnvelope(raw, e)
	e.Message = c.scrub(e.Message)
	e.Hint = c.scrub(e.Hint)
	for i := range e.Details {
		e.Details[i] = c.scrub(e.Details[i])
	}
	e.Code = c.scrub(e.Code)
	if e.Message == "" && len(e.Details) == 0 && e.Hint == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}

	switch s := resp.StatusCode; {
	case s >= 300 && s < 400:
		loc := c.scrub(resp.Header.Get("Location"))
		e.advice = fmt.Sprintf("mana-auth redirects to %q; set MANA_AUTH_URL (or --auth) to the address of mana-auth itself", loc)
	case s == http.StatusUnauthorized:
		e.advice = c.adviceUnauthorized()
	case s == http.StatusForbidden:
		e.advice = c.adviceForbidden()
	case s == http.StatusNotFound && !jsonBody:
		e.advice = fmt.Sprintf("mana-auth at %s has no such route; check that MANA_AUTH_URL (or --auth) points at mana-auth", c.shown)
	case s == http.StatusNotFound:
		e.kind = ErrNotFound
		e.advice = "no persona has this user id (it may have been deleted already)"
	case s == http.StatusBadRequest && r.method == http.MethodDelete:
		e.kind = ErrNotPersona
		e.advice = "this user is not a persona, and personactl never deletes other users"
	case s == http.StatusBadRequest:
		// Bodies are checked against these rules before sending, so the
		// service's rules and personactl's have come apart.
		e.advice = "mana-auth refused a body that passed personactl's check of its rules; this mana-auth may check more than admin-api.md describes"
	case s == http.StatusInternalServerError && r.method == http.MethodPost && r.path == pathPersonas && strings.HasPrefix(e.Message, "Sign-up failed"):
		e.advice = "Better Auth refused to sign the new persona up; its message says why"
	case s == http.StatusInternalServerError && r.method == http.MethodPost && r.path == pathPersonas:
		e.advice = "mana-auth failed; it answers this way when the address already exists in other letter case (addresses must be lowercase); its log has the cause"
	case s == http.StatusInternalServerError:
		e.advice = "mana-auth failed; its log has the cause"
	case e.transient():
		e.advice = "mana-auth (or a proxy in front of it) is unavailable; try again later"
	}
	return e
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
	advice := "mana-auth refused the admin token; set MANA_ADMIN_JWT (or --jwt) to a valid admin token"
	if !c.hasClaims {
		advice += " (the one given is not a JWT)"
	}
	return advice
}

func (c *Client) adviceForbidden() string {
	const mint = `mana-auth's own login issues role "user" even to admins, so an admin token has to be minted with the service's signing key; set MANA_ADMIN_JWT (or --jwt) to one`
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
		return fmt.Sprintf(`the token%s claims role "admin" but mana-auth still refused it: the route may not exist, or mana-auth no longer trusts this token; mint a new admin token with the service's signing key and set MANA_ADMIN_JWT (or --jwt) to it`, who)
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

// DecodeError is a success answer whose body did not have the shape
// admin-api.md describes.
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
