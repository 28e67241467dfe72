package adminapi

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// logTransport writes one debug record per try of a request: its method,
// path, status, the bytes of the answer read, how long it took and which
// retry it was. It is handed nothing that could be a secret: no header (the
// token, cookies), no body (passwords, tokens), no query (an address, a
// signature), no host (a URL's password); a failure is scrubbed first.
type logTransport struct {
	next  http.RoundTripper
	log   *slog.Logger
	scrub func(string, ...string) string
}

// tryKey carries the number of the try (1 the first) in a request's context.
type tryKey struct{}

func (t *logTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	try, _ := req.Context().Value(tryKey{}).(int)
	attrs := []slog.Attr{slog.String("method", req.Method), slog.String("path", req.URL.Path), slog.Int("retry", max(try-1, 0))}
	if err != nil {
		attrs = append(attrs, slog.Duration("duration", time.Since(start)), slog.String("error", t.scrub(err.Error())))
		t.log.LogAttrs(req.Context(), slog.LevelDebug, "http", attrs...)
		return nil, err
	}
	attrs = append(attrs, slog.Int("status", resp.StatusCode))
	resp.Body = &loggedBody{ReadCloser: resp.Body, done: func(n int64) {
		attrs = append(attrs, slog.Int64("bytes", n), slog.Duration("duration", time.Since(start)))
		t.log.LogAttrs(req.Context(), slog.LevelDebug, "http", attrs...)
	}}
	return resp, nil
}

// CloseIdleConnections passes Client.Close on to the transport.
func (t *logTransport) CloseIdleConnections() {
	if ci, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// loggedBody counts the bytes read of an answer and tells done, once, when
// the answer is closed.
type loggedBody struct {
	io.ReadCloser
	n    int64
	once sync.Once
	done func(n int64)
}

func (b *loggedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}

func (b *loggedBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(func() { b.done(b.n) })
	return err
}

// logging wraps rt in a logTransport when log records debug records.
func (c *Client) logging(rt http.RoundTripper, log *slog.Logger) http.RoundTripper {
	if log == nil || !log.Enabled(context.Background(), slog.LevelDebug) {
		return rt
	}
	if rt == nil {
		rt = http.DefaultTransport
	}
	return &logTransport{next: rt, log: log, scrub: c.scrub}
}
