package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/mana/personactl/state"
)

// crash reports a bug: a short message on w, the full stack in a file for a
// bug report. It returns exit status 1: Go's own exit 2 on a panic would
// read as "changes" to plan --detailed-exitcode and as "drift" to drift.
func crash(w io.Writer, pe *state.PanicError) int {
	where := "standard error"
	if f, err := os.CreateTemp("", "personactl-crash-*.txt"); err == nil {
		fmt.Fprintf(f, "personactl %s (%s), %s %s/%s\npanic: %v\n\n%s", version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH, pe.Value, pe.Stack)
		if f.Close() == nil {
			where = f.Name()
		}
	}
	fmt.Fprintf(w, "personactl crashed: %v\nThis is a bug in personactl, not in your input. ", pe.Value)
	if where == "standard error" {
		fmt.Fprintf(w, "The crash report follows; please attach it to a bug report.\n%s", pe.Stack)
	} else {
		fmt.Fprintf(w, "The crash report is in %s; please attach it to a bug report.\n", where)
	}
	fmt.Fprintln(w, "Steps that started finished or were recorded as they happened; run personactl plan to see where live and the state stand.")
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
