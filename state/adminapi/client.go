// Package adminapi is personactl's client for mana-auth's persona admin API:
// it reads the live personas, tells who owns an address, creates, updates
// and deletes personas, and logs in as a persona the way the runner does,
// retrying what is safe to retry and turning every refusal into a message a
// person can act on.
//
// It works against the service exactly as it behaves, quirks included (the
// users search answers 500 for a page holding anyone who has signed in; an
// upsert looks the address up as sent but stores it lowercased; it runs
// the sign-up, the kind stamp and the persona row without a transaction),
// and it must never reveal the admin token, a persona's
// password or a URL's secrets: not in an error, not in a panic, not
// anywhere it writes.
package adminapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
)

// Defaults for the zero values of Options.
const (
	DefaultParallelism = 10
	// DefaultTimeout bounds one try of one request.
	DefaultTimeout = 30 * time.Second
)

// RetryBudget bounds how hard one request is tried before its failure is
// reported. A try is repeated only when it may succeed next time: no answer
// (refused, reset, timed out, cut short), or 429, 502, 503 or 504. Between
// tries the client waits what the server asked for with Retry-After (429,
// 503), or else a "full jitter" backoff: a wait drawn uniformly from
// [0, min(MaxBackoff, Backoff·2^(try-1))).
//
// The defaults (10 attempts within 60 s) are sized for a 10,000-persona
// read, 10,001 requests, when 20% of all answers are 503s: a request fails
// for good only when all 10 of its tries fail, with odds 0.2^10 ≈ 1.0e-7, so
// a whole read fails with odds 1 − (1 − 1.0e-7)^10001 ≈ 0.1%: at least 19
// of 20 such reads succeed with odds above 99.9% (the old 4 tries gave
// 0.2^4 = 0.16% a request, about 16 failed requests a read). The nine
// waits of a request that fails nine times are at most
// 0.2+0.4+…+6.4+10+10+10 = 42.6 s (21.3 s on average), inside the 60 s, so
// the time bound cuts the tries short only when tries time out or the
// server asks for long waits.
type RetryBudget struct {
	// Attempts bounds the tries of one request (1: no retry). Default 10.
	Attempts int
	// Within bounds the time one request spends being retried: no try
	// starts more than Within after the first began (each try still has
	// Options.Timeout of its own). Default 60 s.
	Within time.Duration
	// Backoff is the base of the exponential backoff. Default 200 ms.
	Backoff time.Duration
	// MaxBackoff caps one backoff wait. Default 10 s.
	MaxBackoff time.Duration
	// MaxRetryAfter caps the wait a server may ask for with Retry-After:
	// asked for longer, the client gives up at once and says so. Default 30 s.
	MaxRetryAfter time.Duration
}

// DefaultRetryBudget is the budget of the zero RetryBudget's fields.
var DefaultRetryBudget = RetryBudget{
	Attempts:      10,
	Within:        60 * time.Second,
	Backoff:       200 * time.Millisecond,
	MaxBackoff:    10 * time.Second,
	MaxRetryAfter: 30 * time.Second,
}

func (b RetryBudget) withDefaults() RetryBudget {
	d := DefaultRetryBudget
	return RetryBudget{
		Attempts:      orDefault(b.Attempts, d.Attempts),
		Within:        orDefault(b.Within, d.Within),
		Backoff:       orDefault(b.Backoff, d.Backoff),
		MaxBackoff:    orDefault(b.MaxBackoff, d.MaxBackoff),
		MaxRetryAfter: orDefault(b.MaxRetryAfter, d.MaxRetryAfter),
	}
}

// Body caps: an answer longer than its cap is an error, and the rest of it
// is never read. The list carries every persona in one answer (about 250
// bytes each: 32 MiB holds some 130,000, thirteen times the largest fleet
// personactl is measured with, and what it keeps of them stays below 100
// MiB); any other answer is one persona (a prompt of at most 8,000
// characters and 20 actions), a users page or a login, far below 4 MiB.
const (
	MaxListBody  = 32 << 20
	MaxOtherBody = 4 << 20
)

// Options configures a Client. The zero value of every field but BaseURL
// means its default.
type Options struct {
	// BaseURL is mana-auth's address (MANA_AUTH_URL), e.g. http://localhost:3001.
	BaseURL string
	// Token is the admin JWT (MANA_ADMIN_JWT). It is sent as a Bearer token
	// and decoded (never verified) only to explain a refusal.
	Token string
	// TokenSource names where Token came from, for the messages that say
	// where a valid one goes: "MANA_ADMIN_JWT", "--jwt", "the file tok.txt".
	// Empty: "MANA_ADMIN_JWT (or --jwt)".
	TokenSource string
	// Parallelism bounds the requests in flight while reading every
	// persona, and the connections the Client's own transport opens.
	Parallelism int
	// Timeout bounds one try of one request, reading the answer included.
	Timeout time.Duration
	// Retry bounds the retries of one request; see RetryBudget.
	Retry RetryBudget
	// HTTPClient, when set, sends the requests (its Transport is used as is;
	// redirects are never followed). By default the Client builds its own,
	// keeping Parallelism connections alive between requests.
	HTTPClient *http.Client
	// Now tells the time when checking the token's expiry and reading a
	// Retry-After date; time.Now by default.
	Now func() time.Time
	// Retrying, when set, is told of each retry as it is decided, before
	// its wait ("mana-auth answered 503; retry 3 of 10 in 1.2s"), and with
	// "" that a request it was told about is over (answered or given up),
	// so that a line showing the news can be cleared. It is called from
	// several goroutines at once when requests run in parallel.
	Retrying func(news string)
	// Log, when it records debug records, hears of every try of every
	// request (method, path, status, bytes, duration, retry); never of a
	// header, a body or a query, where secrets travel.
	Log *slog.Logger
}

// Client talks to one mana-auth instance. It is safe for concurrent use.
type Client struct {
	baseString string
	// shown is the base URL for messages: Redact-ed.
	shown       string
	token       string
	tokenSource string
	claims      TokenClaims
	hasClaims   bool
	parallelism int
	timeout     time.Duration
	retry       RetryBudget
	http        *http.Client
	now         func() time.Time
	// secrets are removed from any text that comes from elsewhere: the
	// token, and the password of the base URL.
	secrets []string
	// sleep waits between tries; tests replace it to see the waits.
	sleep    func(ctx context.Context, d time.Duration) error
	retrying func(news string)

	// accepted: mana-auth has taken the token at least once; rejected: it
	// has refused it since (401), so nothing more is sent with it.
	accepted, rejected atomic.Bool
	// answered: mana-auth has answered at least once (any status), so a
	// refused connection is a passing fault, not a wrong address.
	answered atomic.Bool

	// session is the admin's sign-in (SignIn), which supplies the token;
	// nil when the token was given.
	session *session

	// caseTwins maps the lowercase form of every live persona address that
	// has capitals to the address as listed: an upsert of the lowercase form
	// fails with mana-auth's bare 500 (it finds no user by the address as
	// sent, Better Auth's sign-up of the taken address returns a made-up
	// id, and the persona row's insert fails).
	caseMu    sync.Mutex
	caseTwins map[string]string
}

// New checks opts and returns a Client. It sends nothing.
func New(opts Options) (*Client, error) {
	raw := strings.TrimRight(strings.TrimSpace(opts.BaseURL), "/")
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("mana-auth URL %q is not an http:// or https:// address; set MANA_AUTH_URL (or --auth) to one, e.g. http://localhost:3001", Redact(opts.BaseURL))
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return nil, fmt.Errorf("mana-auth URL %q has a query or fragment; set MANA_AUTH_URL (or --auth) to the service's base address, e.g. http://localhost:3001", Redact(opts.BaseURL))
	}
	token, source := strings.TrimSpace(opts.Token), opts.TokenSource
	if source == "" {
		source = "MANA_ADMIN_JWT (or --jwt)"
	}
	if strings.ContainsFunc(token, unicode.IsControl) || strings.ContainsFunc(token, unicode.IsSpace) {
		// The token itself must not be shown, only what is wrong with it.
		return nil, fmt.Errorf("the admin token from %s contains spaces or control characters; put the token alone there, on one line", source)
	}
	c := &Client{
		baseString:  u.String(),
		shown:       Redact(u.String()),
		token:       token,
		tokenSource: source,
		parallelism: orDefault(opts.Parallelism, DefaultParallelism),
		timeout:     orDefault(opts.Timeout, DefaultTimeout),
		retry:       opts.Retry.withDefaults(),
		now:         opts.Now,
		sleep:       sleepCtx,
		retrying:    opts.Retrying,
		caseTwins:   map[string]string{},
	}
	if c.now == nil {
		c.now = time.Now
	}
	if len(token) >= 4 {
		c.secrets = append(c.secrets, token)
	}
	if pw, ok := u.User.Password(); ok && len(pw) >= 4 {
		c.secrets = append(c.secrets, pw, url.QueryEscape(pw))
	}
	c.claims, c.hasClaims = Claims(token)
	if opts.HTTPClient != nil {
		hc := *opts.HTTPClient
		c.http = &hc
	} else {
		t := http.DefaultTransport.(*http.Transport).Clone()
		// As many connections as requests in flight, and no more: a
		// request waits for a connection to come back to the pool rather
		// than dial one more (which a busy machine would otherwise do,
		// each time a worker outruns the pool's bookkeeping).
		t.MaxConnsPerHost = c.parallelism
		t.MaxIdleConnsPerHost = c.parallelism
		t.MaxIdleConns = c.parallelism
		c.http = &http.Client{Transport: t}
	}
	c.http.Transport = c.logging(c.http.Transport, opts.Log)
	// A redirect is reported, not followed: following would turn a POST into
	// a GET, and the token would go wherever the Location points.
	c.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c, nil
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Close releases the idle connections the Client keeps.
func (c *Client) Close() error {
	c.http.CloseIdleConnections()
	return nil
}

// noteCase remembers a live persona address with capitals (see caseTwins).
func (c *Client) noteCase(email string) {
	if lower := strings.ToLower(email); lower != email {
		c.caseMu.Lock()
		c.caseTwins[lower] = email
		c.caseMu.Unlock()
	}
}

// caseTwin returns the live persona address that differs from email only in
// letter case, as last listed; "" when there is none or no list was read.
func (c *Client) caseTwin(email string) string {
	c.caseMu.Lock()
	defer c.caseMu.Unlock()
	if twin := c.caseTwins[strings.ToLower(email)]; twin != email {
		return twin
	}
	return ""
}

// BaseURL returns the address of the mana-auth the Client talks to, Redact-ed.
func (c *Client) BaseURL() string { return c.shown }

var errBodyTooLarge = errors.New("answer over its size cap")

// scrub removes the token (a session's cookie and tokens) and the base
// URL's password from text that came from elsewhere (a server's message, a
// transport error) before it goes into an error.
func (c *Client) scrub(s string, more ...string) string {
	for _, secret := range slices.Concat(c.secrets, c.session.secretsNow(), more) {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "<redacted>")
		}
	}
	return s
}

func pluralTries(n int) string {
	if n == 1 {
		return "1 try"
	}
	return fmt.Sprintf("%d tries", n)
}

// seconds says a duration in whole seconds ("120s"), or as Go does below one.
func seconds(d time.Duration) string {
	if d >= time.Second && d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	if d >= time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.String()
}
