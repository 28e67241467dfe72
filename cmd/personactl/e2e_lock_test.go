package main

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mana/personactl/apply"
	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/manaauthdev"
	"github.com/mana/personactl/manaauthdev/devtest"
	"github.com/mana/personactl/state/postgres"
)

// terminateLockHolder ends the database session that holds a PostgreSQL
// state's advisory lock, as an operator's pg_terminate_backend or a
// dropped connection would, and waits until the session is gone.
func terminateLockHolder(t *testing.T, dsn string) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Error(err)
		return
	}
	defer conn.Close(ctx)
	var n int
	err = conn.QueryRow(ctx, `
		SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()
		  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&n)
	if err != nil || n != 1 {
		t.Errorf("terminating the lock's session: %d sessions, %v", n, err)
	}
}

// countingWriter counts the steps that start, and runs hook once the
// steps finished number at.
type countingWriter struct {
	apply.Writer
	at              int64
	hook            func()
	started, ended  atomic.Int64
	startedAfterHit atomic.Int64
	hit             atomic.Bool
	once            sync.Once
}

func (w *countingWriter) step(do func() error) error {
	if w.hit.Load() {
		w.startedAfterHit.Add(1)
	}
	w.started.Add(1)
	err := do()
	if w.ended.Add(1) == w.at {
		w.once.Do(func() { w.hook(); w.hit.Store(true) })
	}
	return err
}

func (w *countingWriter) Delete(ctx context.Context, id string) error {
	return w.step(func() error { return w.Writer.Delete(ctx, id) })
}

func (w *countingWriter) Upsert(ctx context.Context, p catalog.Persona, password string) (id string, err error) {
	err = w.step(func() error { id, err = w.Writer.Upsert(ctx, p, password); return err })
	return id, err
}

// TestE2ELostLockStopsTheRun: the session holding a PostgreSQL state's lock
// is terminated in the middle of a run's creates, and of a destroy's
// deletes: no new step starts once the loss is seen (at most the steps
// already in flight finish), nothing is rolled back or deleted, the message
// says apply converges, and the next run does.
func TestE2ELostLockStopsTheRun(t *testing.T) {
	for _, op := range []string{"apply", "destroy"} {
		t.Run(op, func(t *testing.T) {
			e := newE2E(t)
			e.state = devtest.FreshDatabase(t)
			t.Setenv("PERSONACTL_STATE", e.state)
			if op == "destroy" {
				e.must(0, "apply", "--auto-approve")
			}
			const parallelism = 2
			w := &countingWriter{at: 3, hook: func() { terminateLockHolder(t, e.state) }}
			testHooks.Writer = func(inner apply.Writer) apply.Writer { w.Writer = inner; return w }
			defer func() { testHooks.Writer = nil }()
			e.faults().ResetCounts()
			// Each step takes a while, as against a real server, so that
			// "the steps in flight" is a meaningful bound.
			e.faults().SetLatency(100 * time.Millisecond)

			r := e.must(1, op, "--auto-approve", "--parallelism=2")
			for _, want := range []string{"lock was lost", "nothing was rolled back", "journal stays open", "run personactl apply again"} {
				if !strings.Contains(r.err, want) {
					t.Errorf("the error lacks %q\n%s", want, r)
				}
			}
			t.Logf("%d steps started after the lock was lost\n%s", w.startedAfterHit.Load(), r.err)
			if n := w.startedAfterHit.Load(); n > parallelism {
				t.Errorf("%d steps started after the lock was lost; at most the %d in flight may finish", n, parallelism)
			}
			if n := w.started.Load(); n == int64(len(e.personas)) {
				t.Errorf("all %d steps ran although the lock was lost after 3", n)
			}
			if op == "apply" && e.faults().Requests("DELETE", manaauthdev.PathPersona) != 0 {
				t.Error("a rollback or a delete ran without the lock")
			}
			testHooks.Writer = nil
			e.faults().SetLatency(0)

			// The journal stayed open; the next run reports it and converges.
			ctx := context.Background()
			b, err := postgres.Open(ctx, e.state, "default")
			if err != nil {
				t.Fatal(err)
			}
			open, err := b.OpenJournals(ctx)
			b.Close()
			if err != nil || len(open) != 1 {
				t.Fatalf("%d open journal entries (%v), want the halted run's", len(open), err)
			}
			r = e.must(0, op, "--auto-approve")
			if !strings.Contains(r.err, "interrupted") {
				t.Errorf("the next run does not report the halted one\n%s", r)
			}
			if op == "apply" {
				e.must(0, "plan", "--detailed-exitcode")
			} else if live := e.live(); len(live) != 0 {
				t.Errorf("%d personas live after the second destroy", len(live))
			}
		})
	}
}
