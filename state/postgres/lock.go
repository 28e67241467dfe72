package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"
	"github.com/jackc/pgx/v5"

	"github.com/mana/personactl/state"
)

// pollInterval is how often a Lock with a timeout tries again.
const pollInterval = 100 * time.Millisecond

// Lock takes the workspace's advisory lock on a connection of its own, kept
// for as long as the lock is held: when the process dies the connection
// closes and PostgreSQL frees the lock, so a crash never leaves the
// workspace locked. The holder's LockInfo goes to personactl.locks so that a
// refused run can name it.
func (b *Backend) Lock(ctx context.Context, operation string, timeout time.Duration) (state.Lock, error) {
	conn, err := b.connect(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", b.where, err)
	}
	l, err := b.lock(ctx, conn, operation, timeout)
	if err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	return l, nil
}

func (b *Backend) lock(ctx context.Context, conn *pgx.Conn, operation string, timeout time.Duration) (*lock, error) {
	key := workspaceKey(b.workspace)
	deadline := time.Now().Add(timeout)
	for {
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
		t := time.NewTimer(min(pollInterval, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("wait for the lock on %s: %w", b.where, ctx.Err())
		case <-t.C:
		}
	}
	info := state.NewLockInfo(operation)
	_, err := conn.Exec(ctx, `
		INSERT INTO personactl.locks (workspace, id, operation, who, host, pid, created, backend_pid)
		VALUES ($1, $2, $3, $4, $5, $6, $7, pg_backend_pid())
		ON CONFLICT (workspace) DO UPDATE SET id = excluded.id, operation = excluded.operation, who = excluded.who,
			host = excluded.host, pid = excluded.pid, created = excluded.created, backend_pid = excluded.backend_pid`,
		b.workspace, info.ID, info.Operation, info.Who, info.Host, info.PID, info.Created)
	if err != nil {
		return nil, fmt.Errorf("lock %s: record the holder in personactl.locks: %w; check that the user may write to schema personactl", b.where, err)
	}
	return &lock{b: b, info: info, conn: conn}, nil
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

// ForceUnlock ends the lock whose ID is id: when its holder's connection is
// still open (a hung run, or a dead client whose connection the server has
// not noticed yet), it terminates that connection, which frees the advisory
// lock, then it removes the holder's row. Terminating another user's
// connection needs the pg_signal_backend role or superuser.
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
			return fmt.Errorf("it is locked by database backend pid %d, which has not recorded a lock ID; wait a moment and retry", pid)
		case !found:
			return fmt.Errorf("it is not locked; nothing to unlock")
		case info.ID != id:
			return fmt.Errorf("lock ID %s does not match the current lock %s (%s@%s, pid %d, running %q); check the ID", id, info.ID, info.Who, info.Host, info.PID, info.Operation)
		case held && pid != backendPID:
			return fmt.Errorf("lock %s is stale and another run (database backend pid %d) holds the lock now; nothing to unlock", id, pid)
		}
		if held {
			var ok bool
			if err := conn.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, pid).Scan(&ok); err != nil {
				return fmt.Errorf("terminate the holder's connection (database backend pid %d): %w; ask a superuser to run SELECT pg_terminate_backend(%d), or grant this user pg_signal_backend", pid, err, pid)
			}
			if !ok {
				return fmt.Errorf("terminate the holder's connection (database backend pid %d): the server refused; ask a superuser to run SELECT pg_terminate_backend(%d)", pid, pid)
			}
			if err := b.waitFree(ctx, conn, 10*time.Second); err != nil {
				return err
			}
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

// waitFree waits until nobody holds the workspace's advisory lock.
func (b *Backend) waitFree(ctx context.Context, conn *pgx.Conn, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		pid, held, err := b.advisoryHolder(ctx, conn)
		if err != nil || !held {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("database backend pid %d still holds the lock %s after being terminated; check pg_stat_activity", pid, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// lock is a held advisory lock and the connection that holds it. The state
// and the journal are written on that connection, so a write can only
// happen while the lock is held: if the connection is gone, so is the lock,
// and the write fails. Its methods may be called from several goroutines.
type lock struct {
	b    *Backend
	info state.LockInfo

	mu   sync.Mutex
	conn *pgx.Conn // nil once released
}

func (l *lock) Info() state.LockInfo { return l.info }

// held runs fn on the lock's connection, one call at a time.
func (l *lock) held(ctx context.Context, what string, fn func(conn *pgx.Conn) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return fmt.Errorf("%s %s: the lock %s was already released; take the lock again", what, l.b.where, l.info.ID)
	}
	err := fn(l.conn)
	var stale *state.StaleSerialError
	switch {
	case err == nil || errors.As(err, &stale):
		return err
	case l.conn.IsClosed():
		return fmt.Errorf("%s %s: %w; the connection holding the lock %s was lost (force-unlocked, or the server restarted), so the lock is gone; run `personactl plan` to see where things stand, then run the command again", what, l.b.where, err, l.info.ID)
	default:
		return fmt.Errorf("%s %s: %w", what, l.b.where, err)
	}
}

// Release removes the holder's row, frees the advisory lock and closes the
// connection. Releasing twice is harmless.
func (l *lock) Release() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return nil
	}
	conn := l.conn
	l.conn = nil
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var errs *multierror.Error
	if _, err := conn.Exec(ctx, `DELETE FROM personactl.locks WHERE workspace = $1 AND id = $2`, l.b.workspace, l.info.ID); err != nil {
		errs = multierror.Append(errs, fmt.Errorf("remove the holder's row: %w", err))
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1, $2)`, lockNamespace, workspaceKey(l.b.workspace)); err != nil {
		errs = multierror.Append(errs, fmt.Errorf("unlock: %w", err))
	}
	if err := conn.Close(ctx); err != nil {
		errs = multierror.Append(errs, fmt.Errorf("close the connection: %w", err))
	}
	if errs != nil {
		return fmt.Errorf("release lock %s on %s: %w; the lock ended with its connection anyway (if it was force-unlocked, it was already gone)", l.info.ID, l.b.where, errs)
	}
	return nil
}

// Write stores s as the next state in one transaction: the serial moves on
// only from the serial that was read, and the persona rows are replaced.
func (l *lock) Write(ctx context.Context, s *state.State) error {
	ws := l.b.workspace
	emails, userIDs, values, appliedAt, err := personaColumns(s.Personas)
	if err != nil {
		return fmt.Errorf("write state of %s: %w; nothing was written", l.b.where, err)
	}
	var lineage string
	err = l.held(ctx, "write state of", func(conn *pgx.Conn) error {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(context.Background())
		if s.Serial == 0 {
			lineage = s.Lineage
			if lineage == "" {
				lineage = state.NewID()
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
			INSERT INTO personactl.personas (workspace, email, user_id, "values", applied_at)
			SELECT $1, p.email, p.user_id, p.v::jsonb, p.applied_at
			FROM unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[]) AS p(email, user_id, v, applied_at)`,
			ws, emails, userIDs, values, appliedAt); err != nil {
			return err
		}
		return tx.Commit(ctx)
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
