package file

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/mana/personactl/state"
)

// pollInterval is how often a Lock with a timeout tries again.
const pollInterval = 50 * time.Millisecond

// Lock takes the state lock: an exclusive flock on PATH.lock, which holds the
// holder's LockInfo as JSON. The operating system drops a flock when its
// holder exits, however it exits, so a lock file whose flock can be taken
// belongs to nobody and is taken over.
func (b *Backend) Lock(ctx context.Context, operation string, timeout time.Duration) (state.Lock, error) {
	if timeout < 0 {
		return nil, fmt.Errorf("lock state %s with timeout %s: %w", b.path, timeout, state.ErrNegativeTimeout)
	}
	info := state.NewLockInfo(operation)
	start := time.Now()
	deadline := start.Add(timeout)
	for waiting := false; ; waiting = true {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("lock state %s: %w", b.path, err)
		}
		l, holder, err := b.tryLock(info)
		if err != nil {
			return nil, err
		}
		if l != nil {
			b.log.Info("lock taken", "lock", info, "waited", time.Since(start))
			return l, nil
		}
		left := time.Until(deadline)
		if timeout <= 0 || left <= 0 {
			return nil, &state.LockedError{Holder: holder, Where: b.path}
		}
		if !waiting {
			b.log.Info("lock waiting", "holder", holder, "timeout", timeout)
		}
		t := time.NewTimer(min(pollInterval, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("wait for the lock on state %s (held by pid %d): %w", b.path, holder.PID, ctx.Err())
		case <-t.C:
		}
	}
}

// tryLock makes one attempt. It returns the lock, or the current holder when
// someone else has it, or an error when locking itself failed.
func (b *Backend) tryLock(info state.LockInfo) (*lock, state.LockInfo, error) {
	path := b.lockPath()
	// A holder that releases removes the lock file; whoever opened the old
	// file just before may then win its flock on a file nobody else will
	// ever open. Checking that the locked file is still the one at path
	// rules that out; the loop retries at once in that case.
	for range 100 {
		f, locked, err := openAndFlock(path)
		if err != nil {
			return nil, state.LockInfo{}, err
		}
		if !locked {
			holder := readHolder(f)
			f.Close()
			return nil, holder, nil
		}
		if !stillAt(f, path) {
			f.Close()
			continue
		}
		data, err := json.Marshal(info)
		if err == nil {
			err = f.Truncate(0)
		}
		if err == nil {
			_, err = f.WriteAt(append(data, '\n'), 0)
		}
		if err == nil {
			err = f.Sync()
		}
		if err != nil {
			os.Remove(path)
			f.Close()
			return nil, state.LockInfo{}, fmt.Errorf("lock state %s: write %s: %w; check that the directory is writable", b.path, path, err)
		}
		return &lock{b: b, f: f, info: info, lost: make(chan struct{}), open: map[string]*record{}}, state.LockInfo{}, nil
	}
	return nil, state.LockInfo{}, fmt.Errorf("lock state %s: %s keeps being replaced while locking; check that no other program deletes it", b.path, path)
}

// stillAt reports whether f is the file currently at path.
func stillAt(f *os.File, path string) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	pi, err := os.Stat(path)
	return err == nil && os.SameFile(fi, pi)
}

// readHolder reads the LockInfo from a lock file someone else holds. The
// holder writes it just after taking the flock, so an empty file is retried
// briefly before giving up on naming the holder.
func readHolder(f *os.File) state.LockInfo {
	for range 50 {
		if info, ok := readInfo(f); ok {
			return info
		}
		time.Sleep(10 * time.Millisecond)
	}
	return state.LockInfo{Who: "unknown", Host: "unknown", Operation: "unknown"}
}

// readInfo parses the LockInfo in f; ok is false when there is none.
func readInfo(f *os.File) (info state.LockInfo, ok bool) {
	data, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<20))
	if err != nil || len(data) == 0 {
		return state.LockInfo{}, false
	}
	if json.Unmarshal(data, &info) != nil || info.ID == "" {
		return state.LockInfo{}, false
	}
	return info, true
}

// ForceUnlock removes the lock file of a holder that is gone, when its lock
// ID is id. A holder that still runs keeps its flock and cannot be forced
// out from here: the error names it so that it can be stopped instead.
func (b *Backend) ForceUnlock(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("force-unlock state %s: %w", b.path, err)
	}
	path := b.lockPath()
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("state %s is not locked (%s does not exist); nothing to unlock", b.path, path)
	}
	f, locked, err := openAndFlock(path)
	if err != nil {
		return fmt.Errorf("force-unlock state %s: %w", b.path, err)
	}
	defer f.Close()
	if !locked {
		h := readHolder(f)
		if h.ID != id {
			return fmt.Errorf("force-unlock state %s: lock ID %s does not match the current lock %s (held by %s@%s, pid %d, running %q); check the ID", b.path, id, h.ID, h.Who, h.Host, h.PID, h.Operation)
		}
		return fmt.Errorf("force-unlock state %s: the lock is held by a process that is still running (%s@%s, pid %d, running %q since %s); a local lock is freed by the system as soon as its holder exits, and cannot be taken from a live one: wait for that run to finish, or stop it (kill %d on %s) and run the command again",
			b.path, h.Who, h.Host, h.PID, h.Operation, h.Created.UTC().Format(time.RFC3339), h.PID, h.Host)
	}
	info, ok := readInfo(f)
	if !ok || !stillAt(f, path) {
		os.Remove(path)
		return fmt.Errorf("state %s is not locked; nothing to unlock", b.path)
	}
	if info.ID != id {
		return fmt.Errorf("force-unlock state %s: lock ID %s does not match the lock file's ID %s (left by %s@%s, pid %d, which has exited); check the ID", b.path, id, info.ID, info.Who, info.Host, info.PID)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("force-unlock state %s: %w", b.path, err)
	}
	return nil
}

// lock is a held flock on the lock file; the state and the journal are
// written only through it. Its methods may be called from several
// goroutines (an apply records steps in parallel).
type lock struct {
	b    *Backend
	info state.LockInfo

	lost     chan struct{} // closed once the lock file is found gone or replaced
	lostOnce sync.Once

	mu sync.Mutex
	f  *os.File // nil once released
	// open holds the journal entries known to be open: for those this
	// lock opened, their open record without plan and before-images.
	open  map[string]*record
	jf    *os.File      // the journal, open for appends; nil until the first
	jsize int64         // its size after this lock's last append
	jbuf  *bufio.Writer // what is being appended, on its way to jf
}

func (l *lock) Info() state.LockInfo { return l.info }

// Lost is closed once a write finds that the lock file was removed or
// replaced: then another run can take the lock, so this one must stop.
func (l *lock) Lost() <-chan struct{} { return l.lost }

// held runs fn while the lock is held, one call at a time. Before each
// write it checks that the lock file is still the one this lock holds: a
// person who removed it (or a force-unlock that misjudged) lets another run
// lock a new file, and two writers must never run at once.
func (l *lock) held(ctx context.Context, what string, fn func() error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return fmt.Errorf("%s %s: the lock %s was already released; take the lock again", what, l.b.path, l.info.ID)
	}
	select {
	case <-l.lost:
		return fmt.Errorf("%s %s: %w", what, l.b.path, l.lostError())
	default:
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s %s: %w", what, l.b.path, err)
	}
	if !stillAt(l.f, l.b.lockPath()) {
		l.lostOnce.Do(func() {
			close(l.lost)
			l.b.log.Warn("lock lost", "lock", l.info, "why", "the lock file was removed or replaced")
		})
		return fmt.Errorf("%s %s: %w", what, l.b.path, l.lostError())
	}
	return fn()
}

func (l *lock) lostError() error {
	return &state.LockLostError{Where: l.b.path, ID: l.info.ID,
		Cause: fmt.Errorf("the lock file %s was removed or replaced while this run held it", l.b.lockPath())}
}

// Release removes the lock file and drops the flock. Releasing twice is harmless.
func (l *lock) Release() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	// Remove while still holding the flock, so that nobody takes over a
	// file that is about to disappear (see tryLock).
	l.closeJournalFile()
	rmErr := os.Remove(l.b.lockPath())
	closeErr := l.f.Close()
	l.f = nil
	if rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) {
		return fmt.Errorf("release lock on state %s: %w; the lock is free, but remove %s by hand", l.b.path, rmErr, l.b.lockPath())
	}
	if closeErr != nil {
		return fmt.Errorf("release lock on state %s: %w", l.b.path, closeErr)
	}
	l.b.log.Info("lock released", "lock", l.info)
	return nil
}

// Write stores s as the next state, keeping the current one as PATH.backup.
func (l *lock) Write(ctx context.Context, s *state.State) error {
	return l.held(ctx, "write state", func() error {
		b := l.b
		old, err := os.ReadFile(b.real)
		var cur state.State
		switch {
		case errors.Is(err, fs.ErrNotExist):
			old = nil
		case err != nil:
			return fmt.Errorf("write state: %w; check the file's owner and mode", err)
		default:
			// The file the run read (or last wrote) is not decoded again;
			// any other content is, and refused if it cannot be read.
			var ok bool
			if cur, ok = b.last.lookup(old); !ok {
				read, err := decodeState(b.path, b.backupPath(), old)
				if err != nil {
					return fmt.Errorf("write state: %w", err)
				}
				cur = *read
			}
		}
		if s.Serial != cur.Serial {
			return &state.StaleSerialError{Read: s.Serial, Found: cur.Serial}
		}
		lineage := s.Lineage
		switch {
		case cur.Lineage != "" && lineage == "":
			lineage = cur.Lineage
		case cur.Lineage != "" && lineage != cur.Lineage:
			return fmt.Errorf("write state %s: it has lineage %s, the state being written has lineage %s and so belongs to another history; nothing was written; check --state and --workspace", b.path, cur.Lineage, lineage)
		case lineage == "":
			lineage = state.NewLineage()
		}
		next := &state.State{Version: state.FormatVersion, Lineage: lineage, Serial: cur.Serial + 1, Personas: s.Personas}
		data, err := encodeState(next)
		if err != nil {
			return fmt.Errorf("write state %s: %w; nothing was written", b.path, err)
		}
		for _, p := range []string{b.real, b.backupPath(), b.journalPath()} {
			if err := removeLeftovers(p); err != nil {
				return fmt.Errorf("write state %s: %w", b.path, err)
			}
		}
		if old != nil {
			if err := WriteAtomic(b.backupPath(), old, 0o600); err != nil {
				return fmt.Errorf("write state %s: keep the previous version: %w; nothing was written", b.path, err)
			}
		}
		if err := WriteAtomic(b.real, data, 0o600); err != nil {
			return fmt.Errorf("write state: %w; the previous state is unchanged", err)
		}
		s.Version, s.Lineage, s.Serial = next.Version, next.Lineage, next.Serial
		b.last.remember(data, next)
		return nil
	})
}
