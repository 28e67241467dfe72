package adminapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// One request to mana-auth: its attempts, with retries and backoff, each
// read under its cap and deadline, and what a failed attempt says.

// request is one API call, tried within the retry budget.
type request struct {
	method string
	// path is the path and query below the base URL, as shown in messages.
	// Its query holds only what personactl put there (an address to search).
	path string
	body []byte
	// auth sends the admin token (every admin endpoint needs it).
	auth bool
	// limit caps the answer's body; MaxOtherBody when 0.
	limit int64
	// sendOnce: at most one copy of the request may reach the server (a
	// login: each failed one counts toward a lockout). It is retried only
	// when it failed before being written, and no answer is retried.
	sendOnce bool
	// email is the persona address a write is about, for the advice on a
	// bare 500.
	email string
	// secrets are scrubbed from the server's words besides the token (a
	// login's password).
	secrets []string
	// header holds headers to send besides the usual ones (a cookie, an
	// Origin); gotHeader, when set, is given a 2xx answer's headers.
	header    map[string]string
	gotHeader func(http.Header)
	// read handles a 2xx answer; it is called again on a retry.
	read func(r io.Reader) error
	// answer, when set, may take a non-2xx answer as an ordinary one (the
	// users search's 500 means "taken"; a login's 401 a wrong password):
	// it returns whether it did. raw is the start of the body.
	answer func(resp *http.Response, raw []byte) (handled bool)
}

// attempt is what one try came to.
type attempt struct {
	err error
	// retry: another try could succeed.
	retry bool
	// retryAfter is the server's Retry-After, when it gave one.
	retryAfter    time.Duration
	hasRetryAfter bool
	// sent: the request was written, so it may have reached the server.
	sent bool
	// unanswered: no (complete) answer was read.
	unanswered bool
}

// do sends r, retrying transient failures within the retry budget. Every
// non-2xx answer becomes an *APIError, every failure to get an answer a
// *NetworkError, an answer over its cap a *BodyTooLargeError, and each says
// how many tries were made and, when retries stopped early, why.
func (c *Client) do(ctx context.Context, r request) error {
	_, err := c.doAttempts(ctx, r)
	return err
}

// doAttempts is do that also returns the last attempt, for a caller that
// must tell a request that was sent but not answered.
func (c *Client) doAttempts(ctx context.Context, r request) (attempt, error) {
	if r.auth {
		if err := c.checkToken(); err != nil {
			return attempt{}, err
		}
	}
	deadline := time.Now().Add(c.retry.Within)
	told := false // Retrying was told of a retry of this request
	defer func() {
		if told {
			c.retrying("")
		}
	}()
	for try := 1; ; try++ {
		o := c.try(ctx, r, try)
		if o.err == nil || !o.retry {
			return o, o.err
		}
		if r.sendOnce && (o.sent || !o.unanswered) {
			return o, o.err
		}
		if try >= c.retry.Attempts || try >= unreachedTries && c.unreached(o.err) {
			return o, o.err
		}
		wait := c.backoff(try)
		if o.hasRetryAfter {
			if o.retryAfter > c.retry.MaxRetryAfter {
				return o, gaveUp(o.err, fmt.Sprintf("mana-auth asked to retry after %s, more than the %s cap", seconds(o.retryAfter), seconds(c.retry.MaxRetryAfter)))
			}
			wait = o.retryAfter
		}
		if time.Now().Add(wait).After(deadline) {
			why := fmt.Sprintf("the next try would start after the %s retry budget of one request", seconds(c.retry.Within))
			if o.hasRetryAfter {
				why = fmt.Sprintf("mana-auth asked to retry after %s, past the %s retry budget of one request", seconds(o.retryAfter), seconds(c.retry.Within))
			}
			return o, gaveUp(o.err, why)
		}
		if c.retrying != nil {
			c.retrying(c.retryNews(o.err, try+1, wait))
			told = true
		}
		if err := c.sleep(ctx, wait); err != nil {
			return o, fmt.Errorf("%s %s: %w (gave up after %s)", r.method, r.path, err, pluralTries(try))
		}
	}
}

// backoff draws the wait before try+1 with full jitter from an
// exponentially growing window.
func (c *Client) backoff(try int) time.Duration {
	window := c.retry.Backoff << min(try-1, 40)
	if window > c.retry.MaxBackoff || window <= 0 {
		window = c.retry.MaxBackoff
	}
	return time.Duration(rand.Int64N(int64(window)))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// try makes one attempt.
func (c *Client) try(ctx context.Context, r request, try int) attempt {
	var token string
	if r.auth {
		var err error
		if token, err = c.bearer(ctx); err != nil {
			return attempt{err: err}
		}
	}
	actx, cancel := context.WithTimeout(context.WithValue(ctx, tryKey{}, try), c.timeout)
	defer cancel()
	var sent atomic.Bool
	if r.sendOnce {
		actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{
			// Called once the request was written, or failed to be: either
			// way some of it may have reached the server.
			WroteRequest: func(httptrace.WroteRequestInfo) { sent.Store(true) },
		})
	} else {
		sent.Store(true) // unknown, so assumed
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(actx, r.method, c.baseString+r.path, body)
	if err != nil {
		return attempt{err: fmt.Errorf("%s %s: %s", r.method, r.path, c.scrub(redactURLError(err).Error()))}
	}
	req.Header.Set("Accept", "application/json")
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.auth {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		o := c.transportFailure(ctx, r, try, err, nil)
		o.sent = sent.Load()
		return o
	}
	c.answered.Store(true)
	limit := r.limit
	if limit <= 0 {
		limit = MaxOtherBody
	}
	capped := &capReader{r: resp.Body, left: limit}
	defer func() {
		if !capped.over {
			// Drain a little of what is left so the connection goes back
			// to the pool; an answer over its cap is dropped with it.
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		}
		resp.Body.Close()
	}()
	rec := &readRecorder{r: capped}
	if resp.ContentLength > limit {
		capped.over = true
		return attempt{err: &BodyTooLargeError{Method: r.method, Path: r.path, Limit: limit, Length: resp.ContentLength}, sent: true}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if r.auth {
			c.accepted.Store(true)
		}
		if r.gotHeader != nil {
			r.gotHeader(resp.Header)
		}
		if r.read == nil {
			return attempt{sent: true}
		}
		err := r.read(rec)
		switch {
		case err == nil:
			return attempt{sent: true}
		case capped.over:
			return attempt{err: &BodyTooLargeError{Method: r.method, Path: r.path, Limit: limit}, sent: true}
		case rec.err != nil && rec.err != io.EOF:
			// The answer broke off: the same as getting none.
			o := c.transportFailure(ctx, r, try, rec.err, rec)
			o.sent = true
			return o
		}
		return attempt{err: err, sent: true}
	}
	raw, _ := io.ReadAll(io.LimitReader(capped, maxErrorBody))
	if r.answer != nil && r.answer(resp, raw) {
		return attempt{sent: true}
	}
	e := c.apiError(r, try, resp, raw)
	o := attempt{err: e, retry: e.transient(), sent: true}
	if e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable {
		o.retryAfter, o.hasRetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), c.now())
		e.RetryAfter = o.retryAfter
	}
	if r.sendOnce {
		o.retry = false // an answer came: never send the request again
	}
	return o
}

// transportFailure turns a failure to get (all of) an answer into an error,
// saying whether a retry is worthwhile. body is the answer's body as far as
// it was read, nil when no answer began.
func (c *Client) transportFailure(ctx context.Context, r request, try int, err error, body *readRecorder) attempt {
	err = redactURLError(err)
	if ctx.Err() != nil {
		// The caller gave up; that is no fault of the server's.
		return attempt{err: fmt.Errorf("%s %s: %w", r.method, r.path, context.Cause(ctx)), unanswered: true}
	}
	ne := &NetworkError{Method: r.method, Path: r.path, BaseURL: c.shown, Tries: try, Err: err, Received: -1}
	if body != nil {
		ne.Received = body.n
	}
	ne.describe(c.timeout, func(s string) string { return c.scrub(s, r.secrets...) })
	return attempt{err: ne, retry: ne.retryable, unanswered: true}
}

// redactURLError replaces the URL a *url.Error carries (and prints) with
// its Redact-ed form.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		cp := *ue
		cp.URL = Redact(ue.URL)
		if ue == err {
			return &cp
		}
		return fmt.Errorf("%s", strings.ReplaceAll(err.Error(), ue.URL, cp.URL))
	}
	return err
}

// capReader passes at most left bytes on, and fails once the answer turns
// out to be longer.
type capReader struct {
	r    io.Reader
	left int64
	over bool
}

// readRecorder remembers the first error reading the answer's body, so that a
// broken connection can be told apart from a malformed answer, and counts
// the bytes read, so that an answer cut off by the deadline is told apart
// from none.
type readRecorder struct {
	r   io.Reader
	err error
	n   int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.over {
		return 0, errBodyTooLarge
	}
	if c.left <= 0 {
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			c.over = true
			return 0, errBodyTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

func (rr *readRecorder) Read(p []byte) (int, error) {
	n, err := rr.r.Read(p)
	rr.n += int64(n)
	if err != nil && rr.err == nil {
		rr.err = err
	}
	return n, err
}
