// Package failure carries failures back to whoever reports them: several
// joined into one error, and a panic in a goroutine personactl started
// turned into an error. It does no I/O: the crash report is the command's.
package failure

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/hashicorp/go-multierror"
)

// Join reports every failure of errs together (go-multierror), nil ones
// left out: one alone reads as itself, several as a count and one line
// each, never go-multierror's "1 error occurred". It returns nil when no
// failure is left; errors.Is and errors.As see each failure.
func Join(errs ...error) error {
	var all *multierror.Error
	for _, err := range errs {
		if err != nil {
			all = multierror.Append(all, err)
		}
	}
	if all == nil {
		return nil
	}
	all.ErrorFormat = func(list []error) string {
		if len(list) == 1 {
			return list[0].Error()
		}
		return strconv.Itoa(len(list)) + " failures:" + List(list)
	}
	return all
}

// Advised is an error whose message ends with advice ("; try again"), which
// a list of failures gives once.
type Advised interface{ Advice() string }

// List is errs one a line, each line "\n  * " and the failure (its own
// lines indented); advice an earlier failure gave (Advised) is left out.
func List(errs []error) string {
	var b strings.Builder
	said := map[string]bool{}
	for _, err := range errs {
		msg := err.Error()
		var a Advised
		if errors.As(err, &a) && a.Advice() != "" {
			if said[a.Advice()] {
				msg = strings.Replace(msg, "; "+a.Advice(), "", 1)
			}
			said[a.Advice()] = true
		}
		b.WriteString("\n  * ")
		b.WriteString(strings.ReplaceAll(msg, "\n", "\n    "))
	}
	return b.String()
}

// Panic is a panic recovered in a goroutine personactl started, carried
// back as an error. Go ends the whole process with exit status 2 on a panic
// in any goroutine, and exit 2 means "changes" to plan --detailed-exitcode
// and "drift" to drift: a crash must exit 1 instead, with a short report.
type Panic struct {
	Value any
	// Stack is the stack of the goroutine that panicked.
	Stack []byte
}

// Recovered records v, a recovered panic value, with the current stack.
// Call it from the deferred function that recovered.
func Recovered(v any) *Panic {
	return &Panic{Value: v, Stack: debug.Stack()}
}

func (e *Panic) Error() string {
	return fmt.Sprintf("internal error (a bug in personactl): %v", e.Value)
}

// Recover turns a panic in the calling goroutine into *err. Use it as
// `defer failure.Recover(&err)` at the top of a goroutine personactl starts.
func Recover(err *error) {
	if v := recover(); v != nil {
		*err = Recovered(v)
	}
}
