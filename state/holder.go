package state

import (
	"crypto/rand"
	"fmt"
	"os"
	"os/user"
	"time"
)

// NewLineage returns the lineage of a new history of states.
func NewLineage() string { return newID() }

// NewJournalEntry returns the record of a run of operation by who on host,
// started at started and applying plan (its JSON rendering), with a new ID.
func NewJournalEntry(operation, who, host string, started time.Time, plan []byte) JournalEntry {
	return JournalEntry{ID: newID(), Operation: operation, Who: who, Host: host, Started: started.UTC(), Plan: plan}
}

// newID returns a random (version 4) UUID: a lineage, a lock ID, a journal
// entry's ID. Only this package mints them.
func newID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails: crypto/rand panics rather than return an error
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// NewLockInfo describes this process as the holder of a lock for operation,
// so that a refused run can name it: user, host, pid, when, and a new ID.
// Created is kept to microseconds, what PostgreSQL's timestamptz keeps, so
// that a holder's own LockInfo equals the one others read back.
func NewLockInfo(operation string) LockInfo {
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
	return LockInfo{
		ID:        newID(),
		Operation: operation,
		Who:       who,
		Host:      host,
		PID:       os.Getpid(),
		Created:   time.Now().UTC().Truncate(time.Microsecond),
	}
}
