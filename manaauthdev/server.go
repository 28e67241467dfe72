package manaauthdev

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Paths the stand-in serves.
const (
	PathHealth   = "/health"
	PathSignUp   = "/api/auth/sign-up/email"
	PathSignIn   = "/api/auth/sign-in/email"
	PathAdmin    = "/api/v1/admin"
	PathPersonas = "/api/v1/admin/personas"
	PathPersona  = "/api/v1/admin/personas/{id}" // a pattern, for request counts
	PathUsers    = "/api/v1/admin/users"
	PathLogin    = "/api/v1/auth/login" // the persona runner's login
	// PathOtherAdmin and PathOther are the request-count patterns of paths
	// the service does not serve, under /api/v1/admin and elsewhere.
	PathOtherAdmin  = "/api/v1/admin/(other)"
	PathOther       = "(other)"
	timestampLayout = "2006-01-02T15:04:05.000Z"
)

// Options configure a Server.
//
// Tokens: the server mints its own (MintToken), signed with a key of its
// own, and accepts them until their exp by its clock. AdminToken and
// UserToken, when set, are static tokens accepted whole besides (an admin,
// and a valid user without the admin role), for compatibility with tokens
// given on the command line; they must differ (Check).
type Options struct {
	AdminToken string           // a static token of an admin; "" for none
	UserToken  string           // a static token of a user without the admin role (answered 403); "" for none
	Store      Store            // nil: a new MemoryStore
	Now        func() time.Time // the clock of timestamps, token expiry and the login lockout; nil: time.Now
	Log        io.Writer        // one line per request; nil: no log
	// TokenTTL is how long the access tokens of a login, a refresh or a
	// session live; zero: AccessTokenTTL, as mana-auth's.
	TokenTTL time.Duration
	// FixedRoleClaim issues tokens claiming the user's role, as mana-auth
	// does once role is in Better Auth's user.additionalFields; without it
	// every token claims "user", admins' included, as mana-auth does today.
	FixedRoleClaim bool
	// Issued, when set, is told each session token and access token the
	// server hands out (for tests that check a client keeps them secret).
	Issued func(secret string)
}

// Check reports options New refuses: the same static token for the admin
// and the user would make every user's token an admin's.
func (o Options) Check() error {
	if o.AdminToken != "" && o.AdminToken == o.UserToken {
		return errors.New("the admin token and the user token are the same string, so the user's token would be an admin's; give them different values, or leave the user token out to have one minted")
	}
	return nil
}

// Server is mana-auth-dev: an http.Handler answering like mana-auth's persona
// admin API, the runner's login and the parts of Better Auth that tests need.
type Server struct {
	adminToken string
	userToken  string
	key        ed25519.PrivateKey // signs the server's tokens
	adminID    string             // the subject of MintToken(RoleAdmin, …)
	userID     string             // the subject of MintToken of other roles
	store      Store
	now        func() time.Time
	faults     *Faults
	// cookieKey signs the session cookies; tokenTTL, fixedRoleClaim and
	// onIssue are Options'.
	cookieKey      []byte
	tokenTTL       time.Duration
	fixedRoleClaim bool
	onIssue        func(string)
	// expiredTokens counts the admin requests refused for an expired token.
	expiredTokens atomic.Int64

	// clearing holds, by address string, when a success's clearing of its
	// failed logins was sent (see ClearLag).
	clearMu  sync.Mutex
	clearing map[string]time.Time

	logMu sync.Mutex
	log   io.Writer
}

// New returns a Server for opts. It panics when opts.Check fails (a
// program that takes the tokens from its user calls Check first).
func New(opts Options) *Server {
	if err := opts.Check(); err != nil {
		panic("manaauthdev.New: " + err.Error())
	}
	s := &Server{
		adminToken: opts.AdminToken,
		userToken:  opts.UserToken,
		key:        newSigningKey(),
		adminID:    NewID(),
		userID:     NewID(),
		store:      opts.Store,
		now:        opts.Now,
		log:        opts.Log,
		faults:     newFaults(),
		clearing:   map[string]time.Time{},

		cookieKey:      []byte(NewID()),
		tokenTTL:       opts.TokenTTL,
		fixedRoleClaim: opts.FixedRoleClaim,
		onIssue:        opts.Issued,
	}
	if s.store == nil {
		s.store = NewMemoryStore()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.tokenTTL <= 0 {
		s.tokenTTL = AccessTokenTTL
	}
	if s.onIssue == nil {
		s.onIssue = func(string) {}
	}
	return s
}

// Now returns the time by the server's clock.
func (s *Server) Now() time.Time { return s.now() }

// Store returns the server's store (for tests' back doors).
func (s *Server) Store() Store { return s.store }

// Faults returns the fault injection switches of the server.
func (s *Server) Faults() *Faults { return s.faults }

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	path := r.URL.EscapedPath()
	pattern := routePattern(path)
	s.faults.count(r.Method, pattern)
	sw := &StatusWriter{ResponseWriter: w}
	note := ""
	defer func() { s.logRequest(r, sw.Status, time.Since(start), note) }()

	if s.faults.isDown() {
		note = "fault: the service is stopped"
		sw.Status = 0
		resetConnection(sw)
		return
	}
	if isAdminPath(path) || (path == PathLogin && s.faults.loginFaulted()) {
		fault := s.faults.draw()
		if err := wait(r.Context(), fault.delay); err != nil {
			note = "client gone during injected latency"
			return
		}
		switch {
		case fault.reset:
			note = "fault: connection reset"
			sw.Status = 0
			resetConnection(sw)
			return
		case fault.tooMany:
			note = "fault: too many requests"
			sw.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(fault.retryAfter)))
			s.writeJSON(sw, r, http.StatusTooManyRequests, middlewareError{StatusCode: 429, Message: http.StatusText(http.StatusTooManyRequests)})
			return
		case fault.errorStatus != 0:
			note = "fault: error status"
			s.writeJSON(sw, r, fault.errorStatus, middlewareError{StatusCode: fault.errorStatus, Message: http.StatusText(fault.errorStatus)})
			return
		case fault.lost:
			note = "fault: answer lost"
			answer := httptest.NewRecorder() // thrown away
			s.route(answer, r)
			note += fmt.Sprintf(" (handler answered %d)", answer.Code)
			sw.Header().Set("Content-Type", "text/plain; charset=UTF-8")
			sw.WriteHeader(http.StatusBadGateway)
			if r.Method != http.MethodHead {
				io.WriteString(sw, "502 Bad Gateway")
			}
			return
		}
	}
	s.route(sw, r)
}

func isAdminPath(path string) bool {
	return path == PathAdmin || strings.HasPrefix(path, PathAdmin+"/")
}

// handler is one route's answer to one method.
type handler = func(s *Server, w http.ResponseWriter, r *http.Request)

// routes are the served paths and patterns, each with its handlers by
// method; GET serves HEAD too.
var routes = map[string]map[string]handler{
	PathHealth:         {http.MethodGet: (*Server).health},
	PathSignUp:         {http.MethodPost: (*Server).signUpRoute},
	PathSignIn:         {http.MethodPost: (*Server).signInRoute},
	PathLogin:          {http.MethodPost: (*Server).loginRoute},
	PathRefresh:        {http.MethodPost: (*Server).fromSession},
	PathSessionToToken: {http.MethodPost: (*Server).fromSession},
	PathToken:          {http.MethodGet: (*Server).fromSession},
	PathGetSession:     {http.MethodGet: (*Server).fromSession},
	PathSession:        {http.MethodGet: (*Server).fromSession},
	PathValidate:       {http.MethodPost: (*Server).validate},
	PathLogout:         {http.MethodPost: (*Server).logout},
	PathJWKS:           {http.MethodGet: (*Server).jwks},
	PathAuthJWKS:       {http.MethodGet: (*Server).jwks},
	PathPersonas:       {http.MethodGet: (*Server).listPersonas, http.MethodPost: (*Server).upsertPersona},
	PathUsers:          {http.MethodGet: (*Server).searchUsers},
	PathPersona:        {http.MethodGet: (*Server).personaDetail, http.MethodDelete: (*Server).deletePersona},
}

// routePattern names the route a path belongs to, for request counts.
func routePattern(path string) string {
	if id, ok := strings.CutPrefix(path, PathPersonas+"/"); ok && id != "" && !strings.Contains(id, "/") {
		return PathPersona
	}
	if _, ok := routes[path]; ok {
		return path
	}
	if isAdminPath(path) {
		return PathOtherAdmin
	}
	return PathOther
}

// route dispatches like the real service's Hono app: the admin middleware
// runs for everything under /api/v1/admin before any route matches.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	if isAdminPath(path) && !s.requireAdmin(w, r) {
		return
	}
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	pattern := routePattern(path)
	h := routes[pattern][method]
	if h == nil {
		s.notFound(w, r)
		return
	}
	if pattern == PathPersona {
		raw := strings.TrimPrefix(path, PathPersonas+"/")
		id, err := url.PathUnescape(raw)
		if err != nil {
			id = raw // Hono keeps a parameter it cannot decode as it is
		}
		r.SetPathValue("id", id)
	}
	h(s, w, r)
}

// notFound is Hono's default 404, preceded by its trimTrailingSlash
// middleware: a GET or HEAD that found nothing and ends in a slash is
// redirected to the path without it.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && path != "/" && strings.HasSuffix(path, "/") {
		loc := ownOrigin(r) + strings.TrimSuffix(path, "/")
		if r.URL.RawQuery != "" {
			loc += "?" + r.URL.RawQuery
		}
		w.Header().Set("Location", loc)
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		w.WriteHeader(http.StatusMovedPermanently)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	w.WriteHeader(http.StatusNotFound)
	if r.Method != http.MethodHead {
		io.WriteString(w, "404 Not Found")
	}
}

// ownOrigin is the service's origin as the request reached it.
func ownOrigin(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// The three error envelopes of the service.
type (
	// middlewareError: the auth middleware and unhandled errors.
	middlewareError struct {
		StatusCode int    `json:"statusCode"`
		Message    string `json:"message"`
	}
	// routeError: the admin routes ({error[,message|details|hint]}).
	routeError struct {
		Error   string   `json:"error"`
		Message string   `json:"message,omitempty"`
		Details []string `json:"details,omitempty"`
		Hint    string   `json:"hint,omitempty"`
	}
	// betterAuthError: Better Auth's own routes.
	betterAuthError struct {
		Message string `json:"message"`
		Code    string `json:"code"`
	}
)

// internalError is the service's catch-all answer; the cause goes to the log.
func (s *Server) internalError(w http.ResponseWriter, r *http.Request, cause error) {
	s.logf("%s %s: internal error: %v", r.Method, r.URL.EscapedPath(), cause)
	s.writeJSON(w, r, http.StatusInternalServerError, middlewareError{StatusCode: 500, Message: "Internal server error"})
}

// failed answers the catch-all 500 when err is not nil, and reports
// whether it did.
func (s *Server) failed(w http.ResponseWriter, r *http.Request, err error) bool {
	if err != nil {
		s.internalError(w, r, err)
	}
	return err != nil
}

// missing is failed, but answers a route's 404 for ErrNotFound.
func (s *Server) missing(w http.ResponseWriter, r *http.Request, err error) bool {
	if errors.Is(err, ErrNotFound) {
		s.writeJSON(w, r, http.StatusNotFound, routeError{Error: "Not found"})
		return true
	}
	return s.failed(w, r, err)
}

// writeJSON writes v as the service does (no HTML escaping, no newline).
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := marshal(v)
	if err != nil {
		s.logf("encoding the answer to %s %s: %v", r.Method, r.URL.EscapedPath(), err)
		status, body = http.StatusInternalServerError, []byte(`{"statusCode":500,"message":"Internal server error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// marshal is JSON.stringify: json.Marshal without escaping HTML.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), err
}

func timestamp(t time.Time) string { return t.UTC().Format(timestampLayout) }

func nullableTimestamp(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := timestamp(*t)
	return &s
}

func (s *Server) logRequest(r *http.Request, status int, d time.Duration, note string) {
	if note != "" {
		note = " " + note
	}
	s.logf("%s %s %s %d %s%s", timestamp(time.Now()), r.Method, r.URL.RequestURI(), status, d.Round(time.Microsecond), note)
}

func (s *Server) logf(format string, args ...any) {
	if s.log == nil {
		return
	}
	s.logMu.Lock()
	defer s.logMu.Unlock()
	fmt.Fprintf(s.log, format+"\n", args...)
}

// StatusWriter remembers the status of an answer, for the log and for
// tests that count answers; 0 when none was written (the connection was
// reset).
type StatusWriter struct {
	http.ResponseWriter
	Status int
}

func (w *StatusWriter) WriteHeader(code int) {
	if w.Status == 0 {
		w.Status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *StatusWriter) Write(b []byte) (int, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets the fault injection take over the connection to reset it.
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
