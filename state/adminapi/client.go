// Package adminapi is personactl's client for mana-auth's persona admin API:
// it reads the live personas, tells who owns an address, and creates, updates
// and deletes personas, retrying what is safe to retry and turning every
// refusal into a message a person can act on.
//
// It works against the service exactly as it behaves (see admin-api.md),
// quirks included, and it must never reveal the admin token: not in an error,
// not in a panic, not anywhere it writes.
package adminapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
)

// Defaults for the zero values of Options.
const (
	DefaultParallelism = 10
	DefaultTimeout     = 30 * time.Second
	DefaultMaxAttempts = 4
	DefaultBackoff     = 200 * time.Millisecond
)

// maxBackoff caps one wait between tries, however many tries are allowed.
const maxBackoff = 10 * time.Second

// Options configures a Client. The zero value of every field but BaseURL
// means its default.
type Options struct {
	// BaseURL is mana-auth's address (MANA_AUTH_URL), e.g. http://localhost:3001.
	BaseURL string
	// Token is the admin JWT (MANA_ADMIN_JWT). It is sent as a Bearer token
	// and decoded (never verified) only to explain a refusal.
	Token string
	// Parallelism bounds the requests in flight while reading every persona.
	Parallelism int
	// Timeout bounds one try of one request, reading the answer included.
	Timeout time.Duration
	// MaxAttempts bounds the tries of one request (1 means no retry).
	MaxAttempts int
	// Backoff is the base of the exponential backoff between tries; each
	// wait is drawn uniformly from [0, Backoff·2^(try-1)) ("full jitter").
	Backoff time.Duration
	// HTTPClient, when set, sends the requests (its Transport is used as is;
	// redirects are never followed). By default the Client builds its own,
	// keeping Parallelism connections alive between requests.
	HTTPClient *http.Client
	// Now tells the time when checking the token's expiry; time.Now by default.
	Now func() time.Time
}

// Client talks to one mana-auth instance. It is safe for concurrent use.
type Client struct {
	base       *url.URL
	baseString string
	// shown is the base URL for messages: without a password in it.
	shown       string
	token       string
	claims      TokenClaims
	hasClaims   bool
	parallelism int
	timeout     time.Duration
	maxAttempts int
	backoff     time.Duration
	http        *http.Client
	now         func() time.Time
}

// New checks opts and returns a Client. It sends nothing.
func New(opts Options) (*Client, error) {
	raw := strings.TrimRight(strings.TrimSpace(opts.BaseURL), "/")
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("mana-auth URL %q is not an http:// or https:// address; set MANA_AUTH_URL (or --auth) to one, e.g. http://localhost:3001", opts.BaseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("mana-auth URL %q has a query or fragment; set MANA_AUTH_URL (or --auth) to the service's base address, e.g. http://localhost:3001", opts.BaseURL)
	}
	token := strings.TrimSpace(opts.Token)
	if strings.ContainsFunc(token, unicode.IsControl) || strings.ContainsFunc(token, unicode.IsSpace) {
		// The token itself must not be shown, only what is wrong with it.
		return nil, errors.New("MANA_ADMIN_JWT contains spaces or control characters; set it (or --jwt) to the token alone, on one line")
	}
	c := &Client{
		base:        u,
		baseString:  u.String(),
		shown:       u.Redacted(),
		token:       token,
		parallelism: orDefault(opts.Parallelism, DefaultParallelism),
		timeout:     orDefault(opts.Timeout, DefaultTimeout),
		maxAttempts: orDefault(opts.MaxAttempts, DefaultMaxAttempts),
		backoff:     orDefault(opts.Backoff, DefaultBackoff),
		now:         opts.Now,
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.claims, c.hasClaims = Claims(token)
	if opts.HTTPClient != nil {
		hc := *opts.HTTPClient
		c.http = &hc
	} else {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = c.parallelism + 2
		t.MaxIdleConns = c.parallelism + 2
		c.http = &http.Client{Transport: t}
	}
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

// BaseURL returns the address of the mana-auth the Client talks to.
func (c *Client) BaseURL() string { return c.shown }

// request is one API call, tried up to maxAttempts times.
type request struct {
	method string
	// path is the path and query below the base URL, as shown in messages.
	path string
	body []byte
	// auth sends the admin token (every admin endpoint needs it).
	auth bool
	// read handles a 2xx answer; it is called again on a retry.
	read func(r io.Reader) error
	// onStatus, when set, may take a non-2xx status as an ordinary answer
	// (the users search's 500 means "taken"); it returns whether it did.
	onStatus func(status int) (handled bool)
}

// do sends r, retrying transient failures. Every non-2xx answer becomes an
// *APIError, every failure to get an answer a *NetworkError, and both say
// how many tries were made.
func (c *Client) do(ctx context.Context, r request) error {
	if r.auth {
		if err := c.checkToken(); err != nil {
			return err
		}
	}
	for try := 1; ; try++ {
		retry, err := c.try(ctx, r, try)
		if err == nil || !retry || try >= c.maxAttempts {
			return err
		}
		if err := c.sleep(ctx, try); err != nil {
			return fmt.Errorf("%s %s: %w (gave up after %s)", r.method, r.path, err, pluralTries(try))
		}
	}
}

// try makes one attempt; retry says whether another try could succeed.
func (c *Client) try(ctx context.Context, r request, try int) (retry bool, err error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(actx, r.method, c.baseString+r.path, body)
	if err != nil {
		return false, fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	req.Header.Set("Accept", "application/json")
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.auth {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return c.transportFailure(ctx, r, try, err)
	}
	defer func() {
		// Drain what is left so the connection goes back to the pool.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
	}()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if r.read == nil {
			return false, nil
		}
		rec := &readRecorder{r: resp.Body}
		err := r.read(rec)
		if err == nil {
			return false, nil
		}
		if rec.err != nil && rec.err != io.EOF {
			// The answer broke off: the same as getting none.
			return c.transportFailure(ctx, r, try, rec.err)
		}
		return false, err
	}
	if r.onStatus != nil && r.onStatus(resp.StatusCode) {
		return false, nil
	}
	e := c.apiError(r, try, resp)
	return e.transient(), e
}

// transportFailure turns a failure to get (all of) an answer into an error,
// saying whether a retry is worthwhile.
func (c *Client) transportFailure(ctx context.Context, r request, try int, err error) (bool, error) {
	if ctx.Err() != nil {
		// The caller gave up; that is no fault of the server's.
		return false, fmt.Errorf("%s %s: %w", r.method, r.path, context.Cause(ctx))
	}
	ne := &NetworkError{Method: r.method, Path: r.path, BaseURL: c.shown, Tries: try, Err: err}
	ne.describe(c.timeout, c.scrub)
	return ne.retryable, ne
}

// sleep waits before try+1, drawn with full jitter from an exponentially
// growing window, or returns early when ctx ends.
func (c *Client) sleep(ctx context.Context, try int) error {
	window := c.backoff << (try - 1)
	if window > maxBackoff || window <= 0 {
		window = maxBackoff
	}
	d := time.Duration(rand.Int64N(int64(window)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// readRecorder remembers the first error reading the answer's body, so that a
// broken connection can be told apart from a malformed answer.
type readRecorder struct {
	r   io.Reader
	err error
}

func (rr *readRecorder) Read(p []byte) (int, error) {
	n, err := rr.r.Read(p)
	if err != nil && rr.err == nil {
		rr.err = err
	}
	return n, err
}

// scrub removes the token from text that came from elsewhere (a server's
// message, a transport error) before it goes into an error.
func (c *Client) scrub(s string) string {
	if c.token == "" || len(c.token) < 4 {
		return s
	}
	return strings.ReplaceAll(s, c.token, "<redacted>")
}

func pluralTries(n int) string {
	if n == 1 {
		return "1 try"
	}
	return fmt.Sprintf("%d tries", n)
}
