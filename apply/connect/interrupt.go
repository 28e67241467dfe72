package connect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// stopping is what a run says on its first SIGINT, SIGTERM or SIGHUP.
const stopping = "\nStopping: no new step starts; the steps in flight finish and are recorded. Press Ctrl-C again to stop at once (the journal then stays open)."

// Interrupt is an interruptible run's stop: the first signal or a broken
// standard output cancels its context.
type Interrupt struct {
	ctx    context.Context
	cancel context.CancelFunc
	w      io.Writer
	once   sync.Once
	sigs   chan os.Signal
	done   chan struct{}
}

// Interruptible returns a run that the first SIGINT, SIGTERM or SIGHUP, or
// Watch's standard output becoming a broken pipe, asks to stop: its
// context is cancelled, then w is told, so no step starts once the message
// is out. The steps in flight finish and the run keeps and records what it
// did. The signals are then let go, so a second one ends the process at
// once (the next run reports it as interrupted). SIGPIPE is ignored for
// the run's life: a write to a closed pipe fails instead of killing the
// process between a write to mana-auth and its journal step.
func Interruptible(w io.Writer) *Interrupt {
	ctx, cancel := context.WithCancel(context.Background())
	in := &Interrupt{ctx: ctx, cancel: cancel, w: w, sigs: make(chan os.Signal, 1), done: make(chan struct{})}
	signal.Ignore(syscall.SIGPIPE)
	signal.Notify(in.sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		select {
		case <-in.sigs:
			in.stop()
		case <-in.done:
		}
	}()
	return in
}

// Context is cancelled once the run is asked to stop.
func (in *Interrupt) Context() context.Context { return in.ctx }

// Interrupted reports whether the run was asked to stop.
func (in *Interrupt) Interrupted() bool { return in.ctx.Err() != nil }

// stop cancels the run's context and says so, once; the signals are let go.
func (in *Interrupt) stop() {
	in.once.Do(func() {
		signal.Stop(in.sigs)
		in.cancel()
		fmt.Fprintln(in.w, stopping)
	})
}

// Watch returns out, whose first write that finds a broken pipe (the
// reader of standard output has gone, as `personactl apply | head -1`
// leaves it) asks the run to stop like a signal.
func (in *Interrupt) Watch(out io.Writer) io.Writer {
	return pipeWatch{out, in}
}

type pipeWatch struct {
	w  io.Writer
	in *Interrupt
}

func (p pipeWatch) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	if errors.Is(err, syscall.EPIPE) {
		p.in.stop()
	}
	return n, err
}

// Release lets the signals go and cancels the context; SIGPIPE stays
// ignored, since output may still be written.
func (in *Interrupt) Release() {
	signal.Stop(in.sigs)
	select {
	case <-in.done:
	default:
		close(in.done)
	}
	in.cancel()
}
