//go:build unix

package connect

import (
	"context"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

// orderWriter passes each write on to a channel, with whether the context
// it watches was already cancelled when the write began, so the test waits
// for the message itself rather than for time.
type orderWriter struct {
	ctx    atomic.Pointer[context.Context]
	writes chan write
}

type write struct {
	text      string
	cancelled bool
}

func (w *orderWriter) Write(p []byte) (int, error) {
	w.writes <- write{text: string(p), cancelled: (*w.ctx.Load()).Err() != nil}
	return len(p), nil
}

func TestInterruptibleCancelsOnTheFirstSignalThenSaysSo(t *testing.T) {
	w := &orderWriter{writes: make(chan write, 1)}
	ctx, stop := Interruptible(w)
	defer stop()
	w.ctx.Store(&ctx)
	if ctx.Err() != nil {
		t.Fatal("the context is cancelled before any signal")
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	got := <-w.writes
	if !got.cancelled {
		t.Error("the message was printed before the context was cancelled: a step could start after it")
	}
	if !strings.Contains(got.text, "no new step starts") || !strings.Contains(got.text, "Ctrl-C again") {
		t.Errorf("message = %q; want it to say what happens now and how to stop at once", got.text)
	}
	<-ctx.Done()
}

func TestInterruptibleStopCancelsWithoutASignal(t *testing.T) {
	w := &orderWriter{writes: make(chan write, 1)}
	ctx, stop := Interruptible(w)
	w.ctx.Store(&ctx)
	stop()
	if ctx.Err() == nil {
		t.Error("the context is not cancelled once stop returns")
	}
	select {
	case got := <-w.writes:
		t.Errorf("stop printed %q; only a signal is reported", got.text)
	default:
	}
}
