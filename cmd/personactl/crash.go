package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/mana/personactl/state"
)

// crash reports a bug and returns exit status 1: Go's own exit 2 on a
// panic would read as "changes" to plan --detailed-exitcode and as "drift"
// to drift.
func crash(w io.Writer, pe *state.PanicError) int {
	pe.Report(w, fmt.Sprintf("personactl %s (%s)", version, commit))
	return 1
}

// crashed reports whether err carries a recovered panic, and reports it.
func crashed(w io.Writer, err error) (int, bool) {
	var pe *state.PanicError
	if !errors.As(err, &pe) {
		return 0, false
	}
	return crash(w, pe), true
}
