package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mana/personactl/state"
	"github.com/mana/personactl/state/postgres"
)

// TestWriteChecksTheLockIsStillOurs: the lock's session ends and another
// run takes the lock before the old holder's watcher has noticed; the old
// holder's next write is refused by the check inside its transaction, and
// the new holder's write is the one the state keeps.
func TestWriteChecksTheLockIsStillOurs(t *testing.T) {
	st := newStore(t).(*store)
	ctx := context.Background()
	old := lockOrFail(t, st.Open(t))
	postgres.StopWatching(old)
	terminate(t, st, holderBackend(t, st))
	next, err := st.Open(t).Lock(ctx, "apply", 30*time.Second)
	if err != nil {
		t.Fatalf("taking over the lock after its session ended: %v", err)
	}
	defer next.Release()
	select {
	case <-old.Lost():
		t.Fatal("Lost closed with the watcher stopped; the test no longer reaches the write's own check")
	default:
	}

	if err := old.Write(ctx, &state.State{Personas: []state.RecordedPersona{samplePersona("old@personas.mana.test")}}); !errors.Is(err, state.ErrLockLost) {
		t.Errorf("the old holder's write after a takeover: %v; want ErrLockLost", err)
	}
	select {
	case <-old.Lost():
	default:
		t.Error("the refused write did not close Lost")
	}
	if err := next.Write(ctx, &state.State{Personas: []state.RecordedPersona{samplePersona("new@personas.mana.test")}}); err != nil {
		t.Errorf("the new holder's write: %v", err)
	}
	s, err := st.Open(t).Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Serial != 1 || len(s.Personas) != 1 || s.Personas[0].Email != "new@personas.mana.test" {
		t.Errorf("state after the takeover: serial %d, %+v; want only the new holder's write", s.Serial, s.Personas)
	}
}

// TestHolderNeverNamedFromAStaleRow: the row of a run that died names a
// backend that holds nothing; while another session holds the lock without
// having recorded itself yet, a refused Lock says the holder is unknown
// rather than naming the dead run.
func TestHolderNeverNamedFromAStaleRow(t *testing.T) {
	st := newStore(t).(*store)
	ctx := context.Background()
	b := st.Open(t)
	exec(t, st.dsn, `INSERT INTO personactl.locks VALUES ($1, 'dead-lock', 'apply', 'ghost', 'gone', 999999, now(), 999999)`, st.workspace)
	conn, err := pgx.Connect(ctx, st.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	ns, key := postgres.LockKeys(st.workspace)
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1, $2)`, ns, key); err != nil {
		t.Fatal(err)
	}

	_, err = b.Lock(ctx, "plan", 0)
	var le *state.LockedError
	if !errors.As(err, &le) {
		t.Fatalf("Lock while another session holds it: %v; want a LockedError", err)
	}
	if le.Holder.ID == "dead-lock" || le.Holder.Who != "unknown" {
		t.Errorf("the refusal names holder %+v; want unknown, not the dead run's row", le.Holder)
	}
}
