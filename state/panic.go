package state

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
)

// PanicError is a panic recovered in a goroutine personactl started, carried
// back as an error. Go ends the whole process with exit status 2 on a panic
// in any goroutine, and exit 2 means "changes" to plan --detailed-exitcode
// and "drift" to drift: a crash must exit 1 instead, with a short report.
type PanicError struct {
	Value any
	// Stack is the stack of the goroutine that panicked.
	Stack []byte
}

// NewPanicError records v, a recovered panic value, with the current stack.
// Call it from the deferred function that recovered.
func NewPanicError(v any) *PanicError {
	return &PanicError{Value: v, Stack: debug.Stack()}
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("internal error (a bug in personactl): %v", e.Value)
}

// Recover turns a panic in the calling goroutine into *err. Use it as
// `defer state.Recover(&err)` at the top of a goroutine personactl starts.
func Recover(err *error) {
	if v := recover(); v != nil {
		*err = NewPanicError(v)
	}
}

// Report tells of the bug on w: a short message, and the full stack in a
// temporary file for a bug report (on w itself when no file can be
// written); build names the binary ("personactl v1.2.0 (abc123)").
func (e *PanicError) Report(w io.Writer, build string) {
	where := ""
	if f, err := os.CreateTemp("", "personactl-crash-*.txt"); err == nil {
		fmt.Fprintf(f, "%s, %s %s/%s\npanic: %v\n\n%s", build, runtime.Version(), runtime.GOOS, runtime.GOARCH, e.Value, e.Stack)
		if f.Close() == nil {
			where = f.Name()
		}
	}
	fmt.Fprintf(w, "personactl crashed: %v\nThis is a bug in personactl, not in your input. ", e.Value)
	if where == "" {
		fmt.Fprintf(w, "The crash report follows; please attach it to a bug report.\n%s", e.Stack)
	} else {
		fmt.Fprintf(w, "The crash report is in %s; please attach it to a bug report.\n", where)
	}
	fmt.Fprintln(w, "Steps that started finished or were recorded as they happened; run personactl plan to see where live and the state stand.")
}
