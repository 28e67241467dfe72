package adminapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
)

// unreachedTries bounds the tries of a request whose connection is refused
// before mana-auth has answered once in this run: the address is then most
// likely wrong or the server not running, and the whole budget (up to a
// minute) would only keep a person waiting for the same error. Once
// mana-auth has answered, a refused connection is a restart or an overload
// passing by, and retried like a reset.
const unreachedTries = 2

// unreached reports whether err is a refused connection to a mana-auth
// that has not answered in this run.
func (c *Client) unreached(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) && !c.answered.Load()
}

// retryNews says what failed and when which try comes, for Retrying:
// "mana-auth answered 503; retry 3 of 10 in 1.2s".
func (c *Client) retryNews(err error, next int, wait time.Duration) string {
	var ae *APIError
	var dns *net.DNSError
	var netErr net.Error
	var ne *NetworkError
	timedOut := errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout()
	what := "the connection to mana-auth broke"
	switch {
	case errors.As(err, &ae):
		what = fmt.Sprintf("mana-auth answered %d", ae.Status)
	case errors.Is(err, syscall.ECONNREFUSED):
		what = "mana-auth at " + c.shown + " refused the connection"
	case errors.As(err, &dns):
		what = "the name of mana-auth's host did not resolve"
	case timedOut && errors.As(err, &ne) && ne.Received >= 0:
		what = fmt.Sprintf("mana-auth was too slow (%d bytes in %s)", ne.Received, seconds(c.timeout))
	case timedOut:
		what = fmt.Sprintf("mana-auth gave no answer within %s", c.timeout)
	}
	if wait < time.Second {
		wait = wait.Round(time.Millisecond)
	} else {
		wait = wait.Round(100 * time.Millisecond)
	}
	return fmt.Sprintf("%s; retry %d of %d in %s", what, next, c.retry.Attempts, wait)
}
