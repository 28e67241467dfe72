//go:build unix

package connect

import (
	"context"
	"errors"
	"os"
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
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			w := &orderWriter{writes: make(chan write, 1)}
			in := Interruptible(w)
			defer in.Release()
			ctx := in.Context()
			w.ctx.Store(&ctx)
			if in.Interrupted() {
				t.Fatal("the context is cancelled before any signal")
			}
			if err := syscall.Kill(syscall.Getpid(), sig); err != nil {
				t.Fatal(err)
			}
			saysSo(t, w, ctx)
		})
	}
}

func saysSo(t *testing.T, w *orderWriter, ctx context.Context) {
	t.Helper()
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
	in := Interruptible(w)
	ctx := in.Context()
	w.ctx.Store(&ctx)
	in.Release()
	if ctx.Err() == nil {
		t.Error("the context is not cancelled once stop returns")
	}
	select {
	case got := <-w.writes:
		t.Errorf("stop printed %q; only a signal is reported", got.text)
	default:
	}
}

// TestBrokenStandardOutputStopsTheRun: a write to a pipe whose reader has
// gone fails (SIGPIPE does not end the process) and stops the run like a
// signal.
func TestBrokenStandardOutputStopsTheRun(t *testing.T) {
	w := &orderWriter{writes: make(chan write, 1)}
	in := Interruptible(w)
	defer in.Release()
	ctx := in.Context()
	w.ctx.Store(&ctx)
	r, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	r.Close()
	out := in.Watch(pw)
	if _, err := out.Write([]byte("plan\n")); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("write to a closed pipe: %v, want EPIPE", err)
	}
	saysSo(t, w, ctx)
}
