//go:build unix

package connect

import (
	"strings"
	"syscall"
	"testing"
)

// notifyWriter passes each write on to a channel, so the test waits for the
// message itself rather than for time.
type notifyWriter chan string

func (w notifyWriter) Write(p []byte) (int, error) {
	w <- string(p)
	return len(p), nil
}

func TestInterruptibleCancelsOnTheFirstSignalThenSaysSo(t *testing.T) {
	w := make(notifyWriter, 1)
	ctx, stop := Interruptible(w)
	defer stop()
	if ctx.Err() != nil {
		t.Fatal("the context is cancelled before any signal")
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	msg := <-w
	if ctx.Err() == nil {
		t.Fatal("the message was printed before the context was cancelled: a step could start after it")
	}
	if !strings.Contains(msg, "no new step starts") || !strings.Contains(msg, "Ctrl-C again") {
		t.Errorf("message = %q; want it to say what happens now and how to stop at once", msg)
	}
}

func TestInterruptibleStopCancelsWithoutASignal(t *testing.T) {
	w := make(notifyWriter, 1)
	ctx, stop := Interruptible(w)
	stop()
	<-ctx.Done()
	select {
	case msg := <-w:
		t.Errorf("stop printed %q; only a signal is reported", msg)
	default:
	}
}
