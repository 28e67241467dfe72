package state

import (
	"fmt"
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
