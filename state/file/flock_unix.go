//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package file

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// openAndFlock opens (creating it if needed) the lock file and tries to take
// its flock without waiting. locked is false when another open file holds it.
//
// flock(2) is used directly rather than through a library such as
// github.com/gofrs/flock: the lock file holds the holder's LockInfo, written
// through the locked handle and read by others while it is locked, and its
// identity is re-checked through that handle, none of which such a library
// exposes; on Windows its whole-file lock would also keep others from
// reading who holds it.
func openAndFlock(path string) (f *os.File, locked bool, err error) {
	f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("open lock file: %w; check the directory's owner and mode, or pass --state=PATH", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	switch {
	case err == nil:
		return f, true, nil
	case errors.Is(err, syscall.EWOULDBLOCK):
		return f, false, nil
	default:
		f.Close()
		return nil, false, fmt.Errorf("lock %s: flock: %w; the file system may not support locks, keep the state on a local disk", path, err)
	}
}
