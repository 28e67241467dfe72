package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/mana/personactl/internal/failure"
)

// crash reports a bug on w and returns exit status 1: Go's own exit 2 on a
// panic would read as "changes" to plan --detailed-exitcode and as "drift"
// to drift. The full stack goes to a temporary file for a bug report (to w
// itself when no file can be written).
func crash(w io.Writer, pe *failure.Panic) int {
	where := ""
	if f, err := os.CreateTemp("", "personactl-crash-*.txt"); err == nil {
		fmt.Fprintf(f, "personactl %s (%s), %s %s/%s\npanic: %v\n\n%s", version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH, pe.Value, pe.Stack)
		if f.Close() == nil {
			where = f.Name()
		}
	}
	fmt.Fprintf(w, "personactl crashed: %v\nThis is a bug in personactl, not in your input. ", pe.Value)
	if where == "" {
		fmt.Fprintf(w, "The crash report follows; please attach it to a bug report.\n%s", pe.Stack)
	} else {
		fmt.Fprintf(w, "The crash report is in %s; please attach it to a bug report.\n", where)
	}
	fmt.Fprintln(w, "Steps that started finished or were recorded as they happened; run personactl plan to see where live and the state stand.")
	return 1
}

// crashed reports whether err carries a recovered panic, and reports it.
func crashed(w io.Writer, err error) (int, bool) {
	var pe *failure.Panic
	if !errors.As(err, &pe) {
		return 0, false
	}
	return crash(w, pe), true
}
