package adminapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mana/personactl/state"

	"github.com/mana/personactl/state/adminapi"
)

const loginExchangesFile = "../../testdata/contract/login-exchanges.json"

type loginExchange struct {
	Step    string `json:"step"`
	Request *struct {
		Method string          `json:"method"`
		Path   string          `json:"path"`
		Body   json.RawMessage `json:"body"`
	} `json:"request"`
	Response *struct {
		Status  int             `json:"status"`
		Headers map[string]any  `json:"headers"`
		Body    json.RawMessage `json:"body"`
	} `json:"response"`
}

// loginCounter serves h and records, for every login request, its headers
// and body.
type loginCounter struct {
	h        http.Handler
	mu       sync.Mutex
	requests []*http.Request
	bodies   []string
}

func (l *loginCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	l.mu.Lock()
	l.requests = append(l.requests, r)
	l.bodies = append(l.bodies, string(b))
	l.mu.Unlock()
	l.h.ServeHTTP(w, r)
}

func (l *loginCounter) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.requests)
}

// loginClient is a client holding an admin token, which a login must never send.
func loginClient(t *testing.T, url string, opts adminapi.Options) *adminapi.Client {
	opts.BaseURL = url
	opts.Token = jwt(map[string]any{"role": "admin", "email": "admin@example.test"})
	return newClient(t, opts)
}

// TestLoginReadsEveryRecordedAnswer replays each recorded answer of the
// real login route and checks what Login makes of it, with exactly one
// request sent, without the admin token.
func TestLoginReadsEveryRecordedAnswer(t *testing.T) {
	raw, err := os.ReadFile(loginExchangesFile)
	must(t, err)
	var all []loginExchange
	must(t, json.Unmarshal(raw, &all))
	seen := map[int]int{}
	for _, e := range all {
		if e.Request == nil || e.Response == nil || e.Request.Path != "/api/v1/auth/login" {
			continue
		}
		resp := e.Response
		t.Run(e.Step, func(t *testing.T) {
			seen[resp.Status]++
			var sent struct{ Email, Password string }
			_ = json.Unmarshal(e.Request.Body, &sent)
			if sent.Email == "" {
				sent.Email = "persona.rec@mana.test"
			}
			if sent.Password == "" {
				sent.Password = "RecPersona0123456789abcdefghijkl"
			}
			secret(sent.Password)
			srv := &loginCounter{h: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range resp.Headers {
					if v, ok := v.(string); ok {
						w.Header().Set(k, v)
					}
				}
				w.WriteHeader(resp.Status)
				w.Write(resp.Body)
			})}
			c := loginClient(t, serve(t, srv), adminapi.Options{})
			res, err := c.Login(context.Background(), sent.Email, sent.Password)
			var body map[string]any
			_ = json.Unmarshal(resp.Body, &body)
			switch resp.Status {
			case 200:
				if err != nil || res.Status != state.LoginReady || res.Kind != "persona" {
					t.Errorf("Login = %+v, %v; want ready, kind persona", res, err)
				}
			case 401:
				if err != nil || res.Status != state.LoginWrongPassword {
					t.Errorf("Login = %+v, %v; want a wrong password", res, err)
				}
			case 429:
				want := time.Duration(body["retryAfterSec"].(float64)) * time.Second
				if err != nil || res.Status != state.LoginLocked || res.RetryAfter != want {
					t.Errorf("Login = %+v, %v; want locked for %v", res, err, want)
				}
			case 400:
				text := errText(t, err)
				wantIn(t, text, "login as "+sent.Email, "POST /api/v1/auth/login: mana-auth answered 400 (VALIDATION: "+body["message"].(string)+")", "refused the login request")
				var ae *adminapi.APIError
				if !errors.As(err, &ae) || ae.Status != 400 {
					t.Errorf("want an *APIError with status 400, got %#v", err)
				}
			default:
				t.Fatalf("a recorded status %d this test does not know", resp.Status)
			}
			if n := srv.count(); n != 1 {
				t.Fatalf("%d requests, want exactly 1", n)
			}
			r := srv.requests[0]
			if r.Header.Get("Authorization") != "" {
				t.Error("the login sent an Authorization header")
			}
			var got map[string]string
			if json.Unmarshal([]byte(srv.bodies[0]), &got) != nil || got["email"] != sent.Email || got["password"] != sent.Password || len(got) != 2 {
				t.Errorf("login body %s, want {email, password}", srv.bodies[0])
			}
		})
	}
	if seen[200] < 3 || seen[401] < 3 || seen[429] < 3 || seen[400] < 3 {
		t.Errorf("recorded answers replayed by status: %v; the file changed shape?", seen)
	}
}

func TestLoginAnswersBeyondTheRecordings(t *testing.T) {
	const password = "derived-Password-0123456789abcdef"
	secret(password)
	tests := []struct {
		name   string
		answer func(http.ResponseWriter)
		want   state.LoginResult
		errs   []string // phrases of the error; none: no error
	}{
		{"a person's account", status(200, nil, `{"redirect":false,"token":"t","user":{"email":"maria@example.test","kind":"human","id":"u"}}`),
			state.LoginResult{Status: state.LoginNotPersona, Kind: "human"}, nil},
		{"locked, with Retry-After only", status(429, map[string]string{"Retry-After": "600"}, `{"error":"ACCOUNT_LOCKED","message":"Account temporarily locked","status":429}`),
			state.LoginResult{Status: state.LoginLocked, RetryAfter: 10 * time.Minute}, nil},
		{"a rate limiter's 429 is not a lock, and not retried", status(429, map[string]string{"Retry-After": "1"}, rateLimited),
			state.LoginResult{}, []string{"answered 429 (Too many requests. Please try again later.)"}},
		{"503 is not retried", status(503, nil, ""), state.LoginResult{}, []string{"answered 503 (Service Unavailable)", "try again later"}},
		{"500 echoing the password", status(500, nil, `{"statusCode":500,"message":"failed for `+password+`"}`),
			state.LoginResult{}, []string{"answered 500 (failed for <redacted>)", "may or may not count toward a lockout"}},
		{"401 of another kind", status(401, nil, `{"statusCode":401,"message":"Unauthorized"}`), state.LoginResult{}, []string{"answered 401 (Unauthorized)"}},
		{"200 without the user's kind", status(200, nil, `{"user":{"id":"u"}}`), state.LoginResult{}, []string{"user.kind: missing"}},
		{"200 that is not JSON", status(200, nil, `<html>`), state.LoginResult{}, []string{"unexpected answer from mana-auth", "malformed JSON"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &loginCounter{h: &scripted{answers: []func(http.ResponseWriter){tt.answer}}}
			c := loginClient(t, serve(t, srv), adminapi.Options{})
			res, err := c.Login(context.Background(), "persona.a@mana.test", password)
			if tt.errs == nil {
				if err != nil || res != tt.want {
					t.Errorf("Login = %+v, %v; want %+v", res, err, tt.want)
				}
			} else {
				wantIn(t, errText(t, err), tt.errs...)
			}
			if n := srv.count(); n != 1 {
				t.Errorf("%d requests, want exactly 1", n)
			}
		})
	}
}

// TestLoginWithoutAnAnswerIsUnknownAndNotRetried: once the request may have
// reached mana-auth, a lost answer could have been a failed attempt; a
// second request could lock the address.
func TestLoginWithoutAnAnswerIsUnknownAndNotRetried(t *testing.T) {
	tests := []struct {
		name    string
		handler func(w http.ResponseWriter, r *http.Request)
		reason  string
	}{
		{"no answer within the timeout", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, "gave no answer within 50ms"},
		{"connection reset after the request", func(w http.ResponseWriter, r *http.Request) {
			conn, _, _ := http.NewResponseController(w).Hijack()
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
		}, "the connection to mana-auth"},
		{"answer cut short", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "500")
			w.WriteHeader(200)
			fmt.Fprint(w, `{"user":{"kind":"pers`)
			w.(http.Flusher).Flush()
			conn, _, _ := http.NewResponseController(w).Hijack()
			conn.Close()
		}, "broke before the answer was complete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &loginCounter{h: http.HandlerFunc(tt.handler)}
			c := loginClient(t, serve(t, srv), adminapi.Options{Timeout: 50 * time.Millisecond})
			res, err := c.Login(context.Background(), "persona.a@mana.test", "derived-password-0123456789")
			if err != nil || res.Status != state.LoginUnknown {
				t.Fatalf("Login = %+v, %v; want unknown, no error", res, err)
			}
			wantIn(t, res.Reason, tt.reason)
			if strings.Contains(res.Reason, "derived-password") {
				t.Errorf("the reason shows the password: %s", res.Reason)
			}
			if n := srv.count(); n != 1 {
				t.Errorf("%d requests reached the server, want 1", n)
			}
		})
	}
}

// TestLoginFailingBeforeItIsSentIsRetried: a connection that could not be
// made carried nothing, so trying again cannot count twice.
func TestLoginFailingBeforeItIsSentIsRetried(t *testing.T) {
	srv := &loginCounter{h: &scripted{answers: []func(http.ResponseWriter){status(200, nil, `{"user":{"kind":"persona"}}`)}}}
	url := serve(t, srv)
	var dials atomic.Int64
	transport := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dials.Add(1) <= 1 {
			return nil, &net.OpError{Op: "dial", Net: network, Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	t.Cleanup(transport.CloseIdleConnections)
	c := loginClient(t, url, adminapi.Options{HTTPClient: &http.Client{Transport: transport}})
	res, err := c.Login(context.Background(), "persona.a@mana.test", "derived-password-0123456789")
	if err != nil || res.Status != state.LoginReady {
		t.Fatalf("Login = %+v, %v; want ready after a refused connection", res, err)
	}
	if n, d := srv.count(), dials.Load(); n != 1 || d != 2 {
		t.Errorf("%d requests after %d dials, want 1 after 2", n, d)
	}

	// Refused every time, and nothing answered before: an error after two
	// tries, never unknown.
	dials.Store(-100)
	transport.CloseIdleConnections()
	c = loginClient(t, url, adminapi.Options{HTTPClient: &http.Client{Transport: transport}})
	res, err = c.Login(context.Background(), "persona.b@mana.test", "derived-password-0123456789")
	wantIn(t, errText(t, err), "login as persona.b@mana.test", "cannot reach mana-auth", "after 2 tries")
	if res.Status != state.LoginUnknown || !errors.Is(err, adminapi.ErrUnreachable) {
		t.Errorf("Login = %+v, %v; want an ErrUnreachable error", res, err)
	}
}

func TestLoginStatusNames(t *testing.T) {
	for s, want := range map[state.LoginStatus]string{state.LoginReady: "ready", state.LoginNotPersona: "not a persona",
		state.LoginWrongPassword: "wrong password", state.LoginLocked: "locked", state.LoginUnknown: "unknown"} {
		if s.String() != want {
			t.Errorf("%d.String() = %q, want %q", s, s.String(), want)
		}
	}
}

// TestLoginAgainstManaAuthDev logs in through mana-auth-dev's copy of the
// runner's login route: each verdict with exactly one request.
func TestLoginAgainstManaAuthDev(t *testing.T) {
	inst := start(t)
	c := adminClient(t, inst, adminapi.Options{})
	ctx := context.Background()
	anna := personaRequest("persona.anna@mana.test", 1)
	ben := personaRequest("persona.ben@mana.test", 2)
	for _, r := range []adminapi.UpsertRequest{anna, ben} {
		if _, err := c.Upsert(ctx, r); err != nil {
			t.Fatal(errText(t, err))
		}
	}
	inst.LockOut(t, ben.Email)
	human := "maria@example.test"
	inst.SignUpHuman(t, human, "maria-password-123", "Maria")
	inst.VerifyEmail(t, human)
	tests := []struct {
		name, email, password string
		want                  state.LoginStatus
		kind                  string
	}{
		{"the right password", anna.Email, anna.Password, state.LoginReady, "persona"},
		{"a password from another secret", anna.Email, "another-secret-derived-0123456789", state.LoginWrongPassword, ""},
		{"an unknown address", "persona.nobody@mana.test", anna.Password, state.LoginWrongPassword, ""},
		{"a locked address, right password", ben.Email, ben.Password, state.LoginLocked, ""},
		{"a person", human, "maria-password-123", state.LoginNotPersona, "human"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := inst.Server.Faults()
			f.ResetCounts()
			secret(tt.password)
			res, err := c.Login(ctx, tt.email, tt.password)
			if err != nil {
				t.Fatal(errText(t, err))
			}
			if res.Status != tt.want || res.Kind != tt.kind {
				t.Errorf("Login = %+v, want %v (kind %q)", res, tt.want, tt.kind)
			}
			if tt.want == state.LoginLocked && (res.RetryAfter <= 29*time.Minute || res.RetryAfter > 30*time.Minute) {
				t.Errorf("locked for %v, want about 30 minutes", res.RetryAfter)
			}
			if n := f.Requests("POST", "/api/v1/auth/login"); n != 1 {
				t.Errorf("%d login requests, want exactly 1", n)
			}
		})
	}
}
