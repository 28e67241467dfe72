package connect

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// interrupted is what a run says on its first Ctrl-C or SIGTERM.
const interrupted = "\nInterrupted: no new step starts; the steps in flight finish, then this run rolls back or records what it did. Press Ctrl-C again to stop at once."

// Interruptible returns a context cancelled by the first Ctrl-C or SIGTERM:
// no new step starts, the steps in flight finish and the run rolls back or
// records what it did. The context is cancelled before w is told, so no
// step starts once the message is out. The signal is then let go, so a
// second Ctrl-C ends the process at once (the next run reports it as
// interrupted). stop releases the signal and cancels the context.
func Interruptible(w io.Writer) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
			signal.Stop(sigs)
			cancel()
			fmt.Fprintln(w, interrupted)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}
