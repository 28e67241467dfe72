package adminapi_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mana/personactl/manaauthdev"
	"github.com/mana/personactl/manaauthdev/devtest"
	"github.com/mana/personactl/state"
	"github.com/mana/personactl/state/adminapi"
)

// waits records the waits a client chose between tries, without waiting.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	w.d = append(w.d, d)
	w.mu.Unlock()
	return ctx.Err()
}

func (w *waits) all() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.d...)
}

// scripted answers the n-th request (from 0) with answers[n], and every
// later one with the last; it counts the requests per path.
type scripted struct {
	answers []func(w http.ResponseWriter)
	n       atomic.Int64
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i := int(s.n.Add(1) - 1)
	s.answers[min(i, len(s.answers)-1)](w)
}

func status(code int, headers map[string]string, body string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for k, v := range headers {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprint(w, body)
	}
}

const rateLimited = `{"message":"Too many requests. Please try again later."}`

func TestRetryAfterIsHonouredAndCapped(t *testing.T) {
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	ok := map[string]string{
		"list":   `{"personas":[]}`,
		"detail": detailWith(`{"userId":"u1","email":"persona.a@mana.test","name":"A","archetype":"x","systemPrompt":"p","moduleMix":{},"tickCadence":"daily","lastActiveAt":null,"createdAt":"2026-04-22T10:11:12.345Z"}`),
		"search": `{"users":[],"total":0,"page":1,"limit":100}`,
		"upsert": `{"ok":true,"userId":"u1","email":"persona.a@mana.test"}`,
	}
	ctx := context.Background()
	calls := map[string]func(c *adminapi.Client) error{
		"list":   func(c *adminapi.Client) error { _, err := c.Personas(ctx); return err },
		"detail": func(c *adminapi.Client) error { _, err := c.Detail(ctx, "u1"); return err },
		"search": func(c *adminapi.Client) error {
			_, err := ownerOf(ctx, c, "persona.a@mana.test", []state.LivePersona{})
			return err
		},
		"upsert": func(c *adminapi.Client) error {
			_, err := c.Upsert(ctx, validRequest("persona.a@mana.test"))
			return err
		},
	}
	tests := []struct {
		name     string
		first    func(http.ResponseWriter)
		budget   adminapi.RetryBudget
		requests int
		wait     time.Duration // the wait before the second try; -1: a backoff below 1ms
		want     []string      // phrases of the error; none: success
	}{
		{"429 with seconds", status(429, map[string]string{"Retry-After": "7"}, rateLimited), adminapi.RetryBudget{}, 2, 7 * time.Second, nil},
		{"503 with an HTTP date", status(503, map[string]string{"Retry-After": now.Add(12 * time.Second).Format(http.TimeFormat)}, ""), adminapi.RetryBudget{}, 2, 12 * time.Second, nil},
		{"429 with a date in the past", status(429, map[string]string{"Retry-After": now.Add(-time.Hour).Format(http.TimeFormat)}, rateLimited), adminapi.RetryBudget{}, 2, 0, nil},
		{"503 without Retry-After backs off", status(503, nil, ""), adminapi.RetryBudget{}, 2, -1, nil},
		{"429 with an unreadable Retry-After backs off", status(429, map[string]string{"Retry-After": "soon"}, rateLimited), adminapi.RetryBudget{}, 2, -1, nil},
		{"a wait over the cap is not waited", status(429, map[string]string{"Retry-After": "120"}, rateLimited), adminapi.RetryBudget{}, 1, 0, []string{
			"answered 429 (Too many requests. Please try again later.)", "gave up: mana-auth asked to retry after 120s, more than the 30s cap", "lower --parallelism"}},
		{"a wait past the budget is not waited", status(503, map[string]string{"Retry-After": "25"}, ""), adminapi.RetryBudget{Within: 20 * time.Second}, 1, 0, []string{
			"answered 503", "gave up: mana-auth asked to retry after 25s, past the 20s retry budget of one request"}},
		{"a cap of one's own", status(503, map[string]string{"Retry-After": "6"}, ""), adminapi.RetryBudget{MaxRetryAfter: 5 * time.Second}, 1, 0, []string{
			"mana-auth asked to retry after 6s, more than the 5s cap"}},
	}
	for _, tt := range tests {
		for _, endpoint := range []string{"list", "detail", "search", "upsert"} {
			t.Run(tt.name+"/"+endpoint, func(t *testing.T) {
				h := &scripted{answers: []func(http.ResponseWriter){tt.first, status(200, nil, ok[endpoint])}}
				tt.budget.Backoff = time.Millisecond
				c := newClient(t, adminapi.Options{BaseURL: serve(t, h), Token: jwt(map[string]any{"role": "admin"}), Retry: tt.budget, Now: func() time.Time { return now }})
				var w waits
				adminapi.SetSleep(c, w.sleep)
				err := calls[endpoint](c)
				if tt.want == nil && err != nil {
					t.Fatal(errText(t, err))
				}
				if tt.want != nil {
					wantIn(t, errText(t, err), tt.want...)
				}
				if got := int(h.n.Load()); got != tt.requests {
					t.Errorf("%d requests, want %d", got, tt.requests)
				}
				got := w.all()
				switch {
				case tt.requests == 1 && len(got) != 0:
					t.Errorf("waited %v before giving up", got)
				case tt.requests == 2 && len(got) != 1:
					t.Errorf("waits %v, want one", got)
				case tt.requests == 2 && tt.wait >= 0 && got[0] != tt.wait:
					t.Errorf("waited %v, want the %v the server asked for", got[0], tt.wait)
				case tt.requests == 2 && tt.wait < 0 && got[0] >= time.Millisecond:
					t.Errorf("waited %v, want a backoff within the 1ms window", got[0])
				}
			})
		}
	}
}

func TestBackoffGrowsWithinItsCapAndTheBudget(t *testing.T) {
	h := &scripted{answers: []func(http.ResponseWriter){status(503, nil, "")}}
	budget := adminapi.RetryBudget{Attempts: 12, Backoff: 100 * time.Millisecond, MaxBackoff: 800 * time.Millisecond}
	c := newClient(t, adminapi.Options{BaseURL: serve(t, h), Token: jwt(map[string]any{"role": "admin"}), Retry: budget})
	var w waits
	adminapi.SetSleep(c, w.sleep)
	_, err := c.Personas(context.Background())
	wantIn(t, errText(t, err), "answered 503 (Service Unavailable) after 12 tries")
	got := w.all()
	if len(got) != 11 {
		t.Fatalf("%d waits, want 11", len(got))
	}
	for i, d := range got {
		window := min(budget.Backoff<<i, budget.MaxBackoff)
		if d < 0 || d >= window {
			t.Errorf("wait %d is %v, outside [0, %v)", i+1, d, window)
		}
	}
}

// TestDefaultBudgetCarriesALargeReadThroughA20PercentFailureRate checks the
// arithmetic of RetryBudget's comment against the defaults as they are, so
// that a smaller default cannot slip in unnoticed.
func TestDefaultBudgetCarriesALargeReadThroughA20PercentFailureRate(t *testing.T) {
	b := adminapi.DefaultRetryBudget
	const requests = 10_001 // the list and 10,000 details
	perRequest := math.Pow(0.2, float64(b.Attempts))
	runOK := math.Pow(1-perRequest, requests)
	// At least 19 of 20 runs: all 20, or exactly 19.
	nineteenOf20 := math.Pow(runOK, 20) + 20*math.Pow(runOK, 19)*(1-runOK)
	if runOK < 0.99 || nineteenOf20 < 0.999 {
		t.Errorf("%d attempts: a 10,000-persona read succeeds with odds %.4f, 19 of 20 such reads with %.5f; want ≥ 0.99 and ≥ 0.999", b.Attempts, runOK, nineteenOf20)
	}
	var longest time.Duration
	for i := range b.Attempts - 1 {
		longest += min(b.Backoff<<i, b.MaxBackoff)
	}
	if longest > b.Within {
		t.Errorf("the backoff waits of one request add up to %v, more than the %v budget: the time bound would cut the attempts short", longest, b.Within)
	}
	t.Logf("per request %.2g, a read of %d requests %.4f, 19 of 20 reads %.6f; longest waits %v within %v", perRequest, requests, runOK, nineteenOf20, longest, b.Within)
}

// TestReadOfHundredsThroughA20PercentFailureRate reads 400 personas (401
// requests) from mana-auth-dev answering 20% of admin requests with 503, with
// the default budget (backoff shortened): every read succeeds.
func TestReadOfHundredsThroughA20PercentFailureRate(t *testing.T) {
	const n = 400
	inst := start(t)
	seedPersonas(t, inst, n, 0)
	f := inst.Server.Faults()
	for _, seed := range []uint64{1, 2, 3} {
		f.Reset()
		f.Seed(seed)
		f.SetErrorRate(0.2, http.StatusServiceUnavailable)
		c := adminClient(t, inst, adminapi.Options{})
		got, err := c.Personas(context.Background())
		if err != nil {
			t.Fatalf("seed %d: %s", seed, errText(t, err))
		}
		if len(got) != n {
			t.Fatalf("seed %d: %d personas, want %d", seed, len(got), n)
		}
		sent := f.Requests("GET", manaauthdev.PathPersonas) + f.Requests("GET", manaauthdev.PathPersona)
		if sent < n+1+n/10 {
			t.Errorf("seed %d: %d requests for %d personas: too few failures were injected to prove anything", seed, sent, n)
		}
		t.Logf("seed %d: %d requests for %d", seed, sent, n+1)
	}
	f.Reset()
}

func TestRejectedTokenMidRunStopsAndSaysApplyAgain(t *testing.T) {
	exp := time.Date(2026, 11, 27, 8, 15, 0, 0, time.UTC)
	tok := jwt(map[string]any{"role": "admin", "email": "admin@example.test", "exp": exp.Unix()})
	invalid := status(401, nil, `{"statusCode":401,"message":"Invalid or expired token"}`)
	upserted := status(200, nil, `{"ok":true,"userId":"u1","email":"persona.a@mana.test"}`)
	tests := []struct {
		name string
		now  time.Time
		want string
	}{
		{"after its exp", exp.Add(time.Second), "it expired at 2026-11-27T08:15:00Z"},
		{"before its exp", exp.Add(-time.Minute), "it was revoked, or mana-auth's signing key changed (it expires only at 2026-11-27T08:15:00Z)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &scripted{answers: []func(http.ResponseWriter){upserted, invalid}}
			now := exp.Add(-10 * time.Minute)
			var clock atomic.Pointer[time.Time]
			clock.Store(&now)
			c := newClient(t, adminapi.Options{BaseURL: serve(t, h), Token: tok, TokenSource: "the file tok.txt", Now: func() time.Time { return *clock.Load() }})
			if exp2, ok := c.TokenExpiry(); !ok || !exp2.Equal(exp) {
				t.Errorf("TokenExpiry = %v, %v; want %v", exp2, ok, exp)
			}
			ctx := context.Background()
			if _, err := c.Upsert(ctx, validRequest("persona.a@mana.test")); err != nil {
				t.Fatal(errText(t, err))
			}
			// The server's clock is ahead of ours: it refuses before our
			// check would.
			clock.Store(&tt.now)
			if tt.now.After(exp) {
				// Our clock knows too: the client refuses without sending.
				_, err := c.Upsert(ctx, validRequest("persona.b@mana.test"))
				wantIn(t, errText(t, err), "the admin token from the file tok.txt expired at 2026-11-27T08:15:00Z", "run `personactl apply` again: it converges")
				if !errors.Is(err, adminapi.ErrTokenRejected) || !errors.Is(err, adminapi.ErrTokenExpired) {
					t.Errorf("an expired token's error is not ErrTokenRejected and ErrTokenExpired: %v", err)
				}
				// Let the token through our check to see the server's 401.
				before := exp.Add(-time.Second)
				clock.Store(&before)
				defer clock.Store(&tt.now)
			}
			_, err := c.Upsert(ctx, validRequest("persona.b@mana.test"))
			text := errText(t, err)
			wantIn(t, text, "answered 401 (Invalid or expired token)", "accepted the admin token earlier in this run and now refuses it",
				"mint a fresh admin token, put it in the file tok.txt", "run `personactl apply` again: it converges")
			if tt.now.Before(exp) {
				wantIn(t, text, tt.want)
			}
			if !errors.Is(err, adminapi.ErrTokenRejected) {
				t.Errorf("errors.Is(err, ErrTokenRejected) is false: %v", err)
			}
			if got := h.n.Load(); got != 2 {
				t.Errorf("%d requests, want 2: a 401 is never retried", got)
			}
			// Nothing more is sent with a refused token.
			err = c.Delete(ctx, "u1")
			if !errors.Is(err, adminapi.ErrTokenRejected) {
				t.Errorf("after the 401: %v, want ErrTokenRejected", err)
			}
			wantIn(t, errText(t, err), "not sent: mana-auth refused the admin token earlier in this run")
			if got := h.n.Load(); got != 2 {
				t.Errorf("%d requests, want no more after the 401", got)
			}
		})
	}
}

func TestFirst401IsATokenProblemNotAnApplyHint(t *testing.T) {
	h := &scripted{answers: []func(http.ResponseWriter){status(401, nil, `{"statusCode":401,"message":"Invalid or expired token"}`)}}
	c := newClient(t, adminapi.Options{BaseURL: serve(t, h), Token: jwt(map[string]any{"role": "admin"})})
	_, err := c.Personas(context.Background())
	text := errText(t, err)
	wantIn(t, text, "mana-auth refused the admin token from MANA_ADMIN_JWT (or --jwt); put a valid admin token there")
	if strings.Contains(text, "earlier in this run") || !errors.Is(err, adminapi.ErrTokenRejected) {
		t.Errorf("a token refused at once: %v", err)
	}
	if _, ok := c.TokenExpiry(); ok {
		t.Error("TokenExpiry reports an exp the token does not have")
	}
}

// TestTokenExpiringMidRunAgainstManaAuthDev: mana-auth-dev checks its
// tokens' exp by its own clock; a run that outlives a 15-minute token gets
// ErrTokenRejected, once, and sends nothing more.
func TestTokenExpiringMidRunAgainstManaAuthDev(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	serverNow := func() time.Time { return time.Unix(0, clock.Load()) }
	inst := devtest.Start(t, devtest.WithNow(serverNow))
	tok := secret(inst.Server.MintTokenFor(inst.AdminID, "admin@mana-auth-dev.test", manaauthdev.RoleAdmin, manaauthdev.AccessTokenTTL))
	// This machine's clock runs a minute behind the server's.
	c := adminClient(t, inst, adminapi.Options{Token: tok, Now: func() time.Time { return serverNow().Add(-time.Minute) }})
	ctx := context.Background()
	if _, err := c.Upsert(ctx, personaRequest("persona.a@mana.test", 1)); err != nil {
		t.Fatal(errText(t, err))
	}
	clock.Add(int64(manaauthdev.AccessTokenTTL + 30*time.Second))
	f := inst.Server.Faults()
	f.ResetCounts()
	_, err := c.Upsert(ctx, personaRequest("persona.b@mana.test", 2))
	wantIn(t, errText(t, err), "answered 401 (Invalid or expired token)", "accepted the admin token earlier in this run", "run `personactl apply` again")
	if !errors.Is(err, adminapi.ErrTokenRejected) {
		t.Errorf("errors.Is(err, ErrTokenRejected) is false: %v", err)
	}
	if err := c.Delete(ctx, "some-id"); !errors.Is(err, adminapi.ErrTokenRejected) {
		t.Errorf("after the 401: %v", err)
	}
	if n := f.WriteRequests(); n != 1 {
		t.Errorf("%d writes reached the server after the token expired, want the 1 refused", n)
	}
}

// told collects what a client says of its retries (Options.Retrying).
type told struct {
	mu   sync.Mutex
	news []string
	over int // requests said to be over
}

func (n *told) retrying(news string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if news == "" {
		n.over++
		return
	}
	n.news = append(n.news, news)
}

func (n *told) all() ([]string, int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.news...), n.over
}

// closedPort returns the URL of a port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	return "http://" + l.Addr().String()
}

// countingDials is an HTTP client that opens a connection per request and
// counts the connection attempts.
func countingDials(t *testing.T, dials *atomic.Int64) *http.Client {
	transport := &http.Transport{DisableKeepAlives: true, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	t.Cleanup(transport.CloseIdleConnections)
	return &http.Client{Transport: transport}
}

// TestRefusedAfterAnAnswerIsRetriedWithTheBudget: once mana-auth has
// answered in this run, a refused connection is a restart passing by, and
// is retried like a reset.
func TestRefusedAfterAnAnswerIsRetriedWithTheBudget(t *testing.T) {
	srv := httptest.NewServer(&fakeAdmin{bodies: map[string]string{"/api/v1/admin/personas": `{"personas":[]}`}})
	var dials atomic.Int64
	var n told
	c := newClient(t, adminapi.Options{BaseURL: srv.URL, Token: jwt(map[string]any{"role": "admin"}), HTTPClient: countingDials(t, &dials), Retrying: n.retrying})
	if _, err := c.Personas(context.Background()); err != nil {
		t.Fatal(errText(t, err))
	}
	srv.Close() // mana-auth goes away
	dials.Store(0)
	_, err := c.Personas(context.Background())
	wantIn(t, errText(t, err), "cannot reach mana-auth at "+srv.URL, "after 10 tries")
	if d := dials.Load(); d != 10 {
		t.Errorf("%d connection attempts after mana-auth answered, want the budget's 10", d)
	}
	news, over := n.all()
	for i, s := range news {
		if want := fmt.Sprintf("mana-auth at %s refused the connection; retry %d of 10 in ", srv.URL, i+2); !strings.HasPrefix(s, want) {
			t.Errorf("retry %d told as %q, want %q…", i+2, s, want)
		}
	}
	if len(news) != 9 || over != 1 {
		t.Errorf("told %d retries and %d requests over, want 9 and 1", len(news), over)
	}
}

// TestEveryRetryIsTold reads personas from mana-auth-dev behind a proxy
// that answers every fifth request with 503: each of those retries is told,
// once, as it is decided.
func TestEveryRetryIsTold(t *testing.T) {
	inst := start(t)
	seedPersonas(t, inst, 40, 0)
	target, err := url.Parse(inst.URL)
	must(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var requests, unavailable atomic.Int64
	flaky := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1)%5 == 0 {
			unavailable.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	var n told
	c := newClient(t, adminapi.Options{BaseURL: flaky, Token: inst.AdminToken, Retrying: n.retrying})
	got, err := c.Personas(context.Background())
	if err != nil {
		t.Fatal(errText(t, err))
	}
	if len(got) != 40 {
		t.Fatalf("%d personas, want 40", len(got))
	}
	news, over := n.all()
	said := regexp.MustCompile(`^mana-auth answered 503; retry [2-9] of 10 in \d+(\.\d+)?m?s$`)
	for _, s := range news {
		if !said.MatchString(s) {
			t.Errorf("a retry told as %q", s)
		}
	}
	if u := int(unavailable.Load()); len(news) != u || u < 8 || over < 1 || over > u {
		t.Errorf("%d answers of 503, %d retries told, %d retried requests over; want as many told as answered (at least 8)", u, len(news), over)
	}
}
