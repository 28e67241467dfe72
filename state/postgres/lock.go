package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mana/personactl/internal/failure"
	"github.com/mana/personactl/state"
)

// pollInterval is how often a Lock with a timeout tries again.
const pollInterval = 100 * time.Millisecond

// Lock takes the workspace's advisory lock on a connection of its own, kept
// for as long as the lock is held: when the process dies the connection
// closes and PostgreSQL frees the lock, so a crash never leaves the
// workspace locked. The holder's LockInfo goes to personactl.locks so that a
// refused run can name it.
//
// The lock's connection then sits idle, waiting for the server, so that the
// end of its session (terminated, server restart, network loss) wakes it at
// once and closes Lost. Writes go over a second connection, each in a
// transaction that first checks that the lock's session still holds the
// lock and shares the holder's row, so that a later holder cannot finish
// taking the lock while a write of this one is under way.
func (b *Backend) Lock(ctx context.Context, operation string, timeout time.Duration) (state.Lock, error) {
	if timeout < 0 {
		return nil, fmt.Errorf("lock %s with timeout %s: %w", b.where, timeout, state.ErrNegativeTimeout)
	}
	conn, err := b.connect(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", b.where, err)
	}
	l, err := b.lock(ctx, conn, operation, timeout)
	if err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	writer, err := b.connect(ctx)
	if err != nil {
		l.Release()
		return nil, fmt.Errorf("lock %s: open the connection for writes: %w", b.where, err)
	}
	l.writer = writer
	l.watch()
	return l, nil
}

func (b *Backend) lock(ctx context.Context, conn *pgx.Conn, operation string, timeout time.Duration) (*lock, error) {
	key := workspaceKey(b.workspace)
	start := time.Now()
	deadline := start.Add(timeout)
	for waiting := false; ; waiting = true {
		var ok bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, $2)`, lockNamespace, key).Scan(&ok); err != nil {
			return nil, fmt.Errorf("lock %s: %w", b.where, err)
		}
		if ok {
			break
		}
		left := time.Until(deadline)
		if timeout <= 0 || left <= 0 {
			holder, held, err := b.holder(ctx, conn)
			if err != nil {
				return nil, fmt.Errorf("lock %s: it is locked, and reading who holds it failed: %w", b.where, err)
			}
			if !held {
				continue // released between the two queries: try again at once
			}
			return nil, &state.LockedError{Holder: holder, Where: b.where}
		}
		if !waiting {
			b.log.Info("lock waiting", "timeout", timeout)
		}
		t := time.NewTimer(min(pollInterval, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("wait for the lock on %s: %w", b.where, ctx.Err())
		case <-t.C:
		}
	}
	info := state.NewLockInfo(operation)
	var backendPID int32
	err := conn.QueryRow(ctx, `
		INSERT INTO personactl.locks (workspace, id, operation, who, host, pid, created, backend_pid)
		VALUES ($1, $2, $3, $4, $5, $6, $7, pg_backend_pid())
		ON CONFLICT (workspace) DO UPDATE SET id = excluded.id, operation = excluded.operation, who = excluded.who,
			host = excluded.host, pid = excluded.pid, created = excluded.created, backend_pid = excluded.backend_pid
		RETURNING backend_pid`,
		b.workspace, info.ID, info.Operation, info.Who, info.Host, info.PID, info.Created).Scan(&backendPID)
	if err != nil {
		return nil, fmt.Errorf("lock %s: record the holder in personactl.locks: %w; check that the user may write to schema personactl", b.where, err)
	}
	b.log.Info("lock taken", "lock", info, "waited", time.Since(start))
	return &lock{b: b, info: info, holder: conn, backendPID: backendPID, lost: make(chan struct{})}, nil
}

// holder names who holds the workspace's advisory lock; held is false when
// nobody does any more. The holder records itself just after taking the
// lock, so a row that is missing or names another backend (a stale row from
// a run that died) is read again for a moment before giving up on a name.
func (b *Backend) holder(ctx context.Context, conn *pgx.Conn) (info state.LockInfo, held bool, err error) {
	for range 50 {
		pid, held, err := b.advisoryHolder(ctx, conn)
		if err != nil || !held {
			return state.LockInfo{}, false, err
		}
		info, backendPID, found, err := b.lockRow(ctx, conn)
		if err != nil {
			return state.LockInfo{}, false, err
		}
		if found && backendPID == pid {
			return info, true, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return state.LockInfo{Who: "unknown", Host: "unknown", Operation: "unknown"}, true, nil
}

// advisoryHolder returns the server process (backend) holding the
// workspace's advisory lock, if any.
func (b *Backend) advisoryHolder(ctx context.Context, conn *pgx.Conn) (pid int32, held bool, err error) {
	err = conn.QueryRow(ctx, `
		SELECT pid FROM pg_locks
		WHERE locktype = 'advisory' AND granted
		  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 2`,
		int64(uint32(lockNamespace)), int64(uint32(workspaceKey(b.workspace)))).Scan(&pid)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("look up the holder in pg_locks: %w", err)
	}
	return pid, true, nil
}

// lockRow reads the workspace's row in personactl.locks.
func (b *Backend) lockRow(ctx context.Context, conn *pgx.Conn) (info state.LockInfo, backendPID int32, found bool, err error) {
	err = conn.QueryRow(ctx, `SELECT id, operation, who, host, pid, created, backend_pid FROM personactl.locks WHERE workspace = $1`, b.workspace).
		Scan(&info.ID, &info.Operation, &info.Who, &info.Host, &info.PID, &info.Created, &backendPID)
	if errors.Is(err, pgx.ErrNoRows) {
		return state.LockInfo{}, 0, false, nil
	}
	if err != nil {
		return state.LockInfo{}, 0, false, fmt.Errorf("read personactl.locks: %w", err)
	}
	info.Created = info.Created.UTC()
	return info, backendPID, true, nil
}

// ForceUnlock removes the holder row of lock id once its database session
// is gone. While that session is alive it refuses, whether or not the
// process behind it still runs (a client killed without closing its
// connection keeps its session until the server notices): ending another
// run's session is a decision for a person, so the error shows the query
// that describes the session and the one that ends it.
func (b *Backend) ForceUnlock(ctx context.Context, id string) error {
	err := b.withConn(ctx, func(conn *pgx.Conn) error {
		info, backendPID, found, err := b.lockRow(ctx, conn)
		if err != nil {
			return err
		}
		pid, held, err := b.advisoryHolder(ctx, conn)
		if err != nil {
			return err
		}
		switch {
		case !found && held:
			return fmt.Errorf("it is locked by the database session of backend pid %d, which has not recorded a lock ID; wait a moment and retry; %s", pid, sessionHint(pid))
		case !found:
			return fmt.Errorf("it is not locked; nothing to unlock")
		case info.ID != id:
			return fmt.Errorf("lock ID %s does not match the current lock %s (%s@%s, pid %d, running %q); check the ID", id, info.ID, info.Who, info.Host, info.PID, info.Operation)
		case held && pid != backendPID:
			return fmt.Errorf("lock %s is stale and another run (database backend pid %d) holds the lock now; nothing to unlock", id, pid)
		case held:
			return fmt.Errorf("the lock is held by a database session that is still alive (backend pid %d, opened for %s@%s, pid %d, running %q since %s), even if that process is gone; the server frees the lock when the session ends; %s",
				pid, info.Who, info.Host, info.PID, info.Operation, info.Created.UTC().Format(time.RFC3339), sessionHint(pid))
		}
		if _, err := conn.Exec(ctx, `DELETE FROM personactl.locks WHERE workspace = $1 AND id = $2`, b.workspace, id); err != nil {
			return fmt.Errorf("remove the lock's row from personactl.locks: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("force-unlock %s: %w", b.where, err)
	}
	return nil
}

// sessionHint shows how to look at the session of backend pid, and how to
// end it when its run is known to be gone.
func sessionHint(pid int32) string {
	return fmt.Sprintf("see the session with: SELECT pid, usename, application_name, client_addr, backend_start, state FROM pg_stat_activity WHERE pid = %d; if you are sure its run is gone, end it with SELECT pg_terminate_backend(%d) and run force-unlock again", pid, pid)
}

// lock is a held advisory lock: holder is the connection whose session
// holds it, kept idle to notice its end; writer is the connection writes go
// over. Its methods may be called from several goroutines.
type lock struct {
	b          *Backend
	info       state.LockInfo
	holder     *pgx.Conn
	backendPID int32 // the holder's server process

	lost     chan struct{}
	lostOnce sync.Once
	lostWhy  error // set before lost is closed

	stopWatch context.CancelFunc
	watchDone chan struct{}

	mu       sync.Mutex
	writer   *pgx.Conn // nil once released
	released bool
}

func (l *lock) Info() state.LockInfo { return l.info }

// Lost is closed as soon as the lock's session is known to have ended.
func (l *lock) Lost() <-chan struct{} { return l.lost }

// markLost closes Lost, once, saying why.
func (l *lock) markLost(why error) {
	l.lostOnce.Do(func() {
		l.lostWhy = why
		// Logged first: one who sees Lost closed finds the reason logged.
		l.b.log.Warn("lock lost", "lock", l.info, "why", why.Error())
		close(l.lost)
	})
}

// lostError is the error of a write after the lock was lost.
func (l *lock) lostError() error {
	return &state.LockLostError{Where: l.b.where, ID: l.info.ID, Cause: l.lostWhy}
}

// watch waits on the idle holder connection until its session ends or the
// lock is released. The server ends a terminated session with a FATAL
// message and closes the socket, which wakes the wait at once.
func (l *lock) watch() {
	ctx, cancel := context.WithCancel(context.Background())
	l.stopWatch, l.watchDone = cancel, make(chan struct{})
	go func() {
		defer close(l.watchDone)
		defer func() {
			if p := recover(); p != nil {
				l.markLost(fmt.Errorf("watching its database session failed: %v", p))
			}
		}()
		for {
			err := l.holder.PgConn().WaitForNotification(ctx)
			if ctx.Err() != nil {
				return // released
			}
			if err != nil {
				l.markLost(fmt.Errorf("the database session holding it (backend pid %d) ended: %v", l.backendPID, err))
				return
			}
		}
	}()
}

// held runs fn in a transaction on the writer connection, one call at a
// time, after checking in that transaction that the lock's session still
// holds the lock. The check shares the holder's row in personactl.locks, so
// a run that takes the lock over cannot record itself as the holder, and
// so cannot start, until fn's transaction has ended.
func (l *lock) held(ctx context.Context, what string, fn func(tx pgx.Tx) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return fmt.Errorf("%s %s: the lock %s was already released; take the lock again", what, l.b.where, l.info.ID)
	}
	select {
	case <-l.lost:
		return fmt.Errorf("%s %s: %w", what, l.b.where, l.lostError())
	default:
	}
	err := l.inTx(ctx, fn)
	var stale *state.StaleSerialError
	switch {
	case err == nil || errors.As(err, &stale) || errors.Is(err, state.ErrLockLost):
		return err
	case l.writer.IsClosed():
		return fmt.Errorf("%s %s: %w; the connection for writes was lost, so nothing more is written by this run; run `personactl apply` again, which converges", what, l.b.where, err)
	default:
		return fmt.Errorf("%s %s: %w", what, l.b.where, err)
	}
}

func (l *lock) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := l.writer.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background())
	var ours bool
	err = tx.QueryRow(ctx, `
		SELECT coalesce((SELECT backend_pid = $3 FROM personactl.locks WHERE workspace = $1 AND id = $2 FOR SHARE), false)
		   AND EXISTS (SELECT 1 FROM pg_locks
			WHERE locktype = 'advisory' AND granted AND pid = $3
			  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
			  AND classid::bigint = $4 AND objid::bigint = $5 AND objsubid = 2)`,
		l.b.workspace, l.info.ID, l.backendPID, int64(uint32(lockNamespace)), int64(uint32(workspaceKey(l.b.workspace)))).Scan(&ours)
	if err != nil {
		return err
	}
	if !ours {
		l.markLost(fmt.Errorf("its database session (backend pid %d) no longer holds it: force-unlocked, terminated, or the server restarted", l.backendPID))
		return l.lostError()
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// Release removes the holder's row, frees the advisory lock and closes both
// connections. Releasing twice is harmless.
func (l *lock) Release() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return nil
	}
	l.released = true
	if l.stopWatch != nil {
		l.stopWatch()
		<-l.watchDone
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var errs []error
	if l.writer != nil {
		if err := l.writer.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("close the connection for writes: %w", err))
		}
	}
	select {
	case <-l.lost:
		// The session is gone, and its lock with it; the row may be
		// another holder's by now.
		l.holder.Close(ctx)
		l.b.log.Info("lock released", "lock", l.info)
		return nil
	default:
	}
	conn := l.holder
	if _, err := conn.Exec(ctx, `DELETE FROM personactl.locks WHERE workspace = $1 AND id = $2`, l.b.workspace, l.info.ID); err != nil {
		errs = append(errs, fmt.Errorf("remove the holder's row: %w", err))
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1, $2)`, lockNamespace, workspaceKey(l.b.workspace)); err != nil {
		errs = append(errs, fmt.Errorf("unlock: %w", err))
	}
	if err := conn.Close(ctx); err != nil {
		errs = append(errs, fmt.Errorf("close the connection: %w", err))
	}
	if err := failure.Join(errs...); err != nil {
		return fmt.Errorf("release lock %s on %s: %w; the lock ended with its connection anyway", l.info.ID, l.b.where, err)
	}
	l.b.log.Info("lock released", "lock", l.info)
	return nil
}

// Write stores s as the next state in one transaction: the serial moves on
// only from the serial that was read, and the persona rows are replaced.
func (l *lock) Write(ctx context.Context, s *state.State) error {
	ws := l.b.workspace
	emails, userIDs, values, appliedAt, credentials, err := personaColumns(s.Personas)
	if err != nil {
		return fmt.Errorf("write state of %s: %w; nothing was written", l.b.where, err)
	}
	var lineage string
	err = l.held(ctx, "write state of", func(tx pgx.Tx) error {
		if s.Serial == 0 {
			lineage = s.Lineage
			if lineage == "" {
				lineage = state.NewLineage()
			}
			tag, err := tx.Exec(ctx, `INSERT INTO personactl.states (workspace, version, lineage, serial) VALUES ($1, $2, $3, 1) ON CONFLICT (workspace) DO NOTHING`,
				ws, state.FormatVersion, lineage)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return staleOrNewer(ctx, tx, ws, s.Serial)
			}
		} else {
			err := tx.QueryRow(ctx, `UPDATE personactl.states SET serial = serial + 1, version = $3, updated_at = now() WHERE workspace = $1 AND serial = $2 AND version <= $3 RETURNING lineage`,
				ws, s.Serial, state.FormatVersion).Scan(&lineage)
			if errors.Is(err, pgx.ErrNoRows) {
				return staleOrNewer(ctx, tx, ws, s.Serial)
			}
			if err != nil {
				return err
			}
			if s.Lineage != "" && s.Lineage != lineage {
				return fmt.Errorf("it has lineage %s, the state being written has lineage %s and so belongs to another history; nothing was written; check --state and --workspace", lineage, s.Lineage)
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM personactl.personas WHERE workspace = $1`, ws); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO personactl.personas (workspace, email, user_id, "values", applied_at, credentials)
			SELECT $1, p.email, p.user_id, p.v::jsonb, p.applied_at, p.credentials
			FROM unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[]) AS p(email, user_id, v, applied_at, credentials)`,
			ws, emails, userIDs, values, appliedAt, credentials); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.Version, s.Lineage, s.Serial = state.FormatVersion, lineage, s.Serial+1
	return nil
}

// staleOrNewer explains why the row for a write was not there to update:
// someone moved the serial on, or a newer personactl wrote the state.
func staleOrNewer(ctx context.Context, tx pgx.Tx, workspace string, read int64) error {
	var found int64
	var version int
	err := tx.QueryRow(ctx, `SELECT serial, version FROM personactl.states WHERE workspace = $1`, workspace).Scan(&found, &version)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return &state.StaleSerialError{Read: read, Found: 0}
	case err != nil:
		return err
	case version > state.FormatVersion:
		return fmt.Errorf("it was written by a newer personactl (format version %d; this one writes %d); upgrade personactl", version, state.FormatVersion)
	default:
		return &state.StaleSerialError{Read: read, Found: found}
	}
}
