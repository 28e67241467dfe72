//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package file

import (
	"fmt"
	"os"
	"runtime"
)

// openAndFlock fails: the local state file's lock needs flock(2), which this
// system lacks. The package still builds, so that the rest of personactl
// (the PostgreSQL backend included) can be used here.
func openAndFlock(path string) (*os.File, bool, error) {
	return nil, false, fmt.Errorf("lock %s: a local state file cannot be locked on %s (personactl's file lock needs flock, found on Linux, macOS and the BSDs); keep the state in PostgreSQL with --state=postgres://USER@HOST/DATABASE", path, runtime.GOOS)
}
