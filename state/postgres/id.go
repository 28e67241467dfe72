package postgres

import (
	"crypto/rand"
	"fmt"
	"os"
	"os/user"
	"time"

	"github.com/mana/personactl/state"
)

// newUUID returns a random (version 4) UUID, used for lineages and lock IDs.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails: crypto/rand panics rather than return an error
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// newLockInfo describes this process as a lock holder.
func newLockInfo(operation string) state.LockInfo {
	who := os.Getenv("USER")
	if who == "" {
		if u, err := user.Current(); err == nil {
			who = u.Username
		} else {
			who = fmt.Sprintf("uid %d", os.Getuid())
		}
	}
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return state.LockInfo{
		ID:        newUUID(),
		Operation: operation,
		Who:       who,
		Host:      host,
		PID:       os.Getpid(),
		// Microseconds: what timestamptz keeps, so that the holder's own
		// LockInfo equals the one others read back.
		Created: time.Now().UTC().Truncate(time.Microsecond),
	}
}
