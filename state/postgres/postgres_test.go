package postgres_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/internal/logtest"
	"github.com/mana/personactl/state"
	"github.com/mana/personactl/state/postgres"
	"github.com/mana/personactl/state/statetest"
)

// Environment a child process opens its store from.
const (
	dsnEnv       = "PERSONACTL_STATETEST_PG_DSN"
	workspaceEnv = "PERSONACTL_STATETEST_PG_WORKSPACE"
)

func TestMain(m *testing.M) {
	statetest.HelperProcess(func(ctx context.Context) (state.Backend, error) {
		return postgres.Open(ctx, os.Getenv(dsnEnv), os.Getenv(workspaceEnv))
	})
	code := m.Run()
	dropDatabases()
	if server.err != nil && code == 0 {
		// go test prints skips only with -v; say it without.
		fmt.Fprintf(os.Stderr, "postgres tests SKIPPED: no server through %s (%v)\n", urlEnv, server.err)
	}
	os.Exit(code)
}

// store is a fresh workspace in the shared test database.
type store struct{ dsn, workspace string }

func newStore(t *testing.T) statetest.Store {
	return &store{dsn: sharedDatabase(t), workspace: "ws-" + strings.ToLower(rand.Text()[:10])}
}

func (s *store) Open(t *testing.T) state.Backend { return open(t, s.dsn, s.workspace) }

func open(t *testing.T, dsn, workspace string) *postgres.Backend {
	t.Helper()
	b, err := postgres.Open(context.Background(), dsn, workspace)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// Raw returns every row the workspace has in the personactl tables, as
// JSON, with the journal's plan bytes as they are stored.
func (s *store) Raw(t *testing.T) []byte {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var raw []byte
	for _, q := range []string{
		`SELECT row_to_json(t)::text FROM personactl.states t WHERE workspace = $1`,
		`SELECT row_to_json(t)::text FROM personactl.personas t WHERE workspace = $1`,
		`SELECT row_to_json(t)::text FROM personactl.locks t WHERE workspace = $1`,
		`SELECT (to_jsonb(t) - 'plan')::text FROM personactl.journal t WHERE workspace = $1`,
		`SELECT row_to_json(t)::text FROM personactl.journal_steps t WHERE workspace = $1`,
		`SELECT convert_from(coalesce(plan, ''), 'UTF8') FROM personactl.journal WHERE workspace = $1`,
	} {
		rows, err := conn.Query(ctx, q, s.workspace)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var row string
			if err := rows.Scan(&row); err != nil {
				t.Fatal(err)
			}
			raw = append(append(raw, row...), '\n')
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	// Nothing of the workspace may sit in another table of the schema.
	var tables string
	conn.QueryRow(ctx, `SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables WHERE table_schema = 'personactl'`).Scan(&tables)
	if tables != "journal,journal_steps,locks,migrations,personas,states" {
		t.Errorf("schema personactl holds tables %s; Raw reads only the known ones", tables)
	}
	return raw
}

func (s *store) Env() []string {
	return []string{dsnEnv + "=" + s.dsn, workspaceEnv + "=" + s.workspace}
}

func (s *store) OpenLogged(t *testing.T, log *slog.Logger) state.Backend {
	b, err := postgres.Open(context.Background(), s.dsn, s.workspace, postgres.Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestConformance(t *testing.T) { statetest.Run(t, newStore) }

func lockOrFail(t *testing.T, b state.Backend) state.Lock {
	t.Helper()
	l, err := b.Lock(context.Background(), "apply", 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Release() })
	return l
}

func samplePersona(email string) state.RecordedPersona {
	return state.RecordedPersona{Email: email, UserID: "u-1", AppliedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Values: catalog.Persona{Name: "N", Email: email, Archetype: "planner", SystemPrompt: "p", ModuleMix: map[string]float64{"journal": 1}, TickCadence: "daily"}}
}

// TestFirstRunsRace: several first runs against an empty database all
// succeed, and the schema is created once.
func TestFirstRunsRace(t *testing.T) {
	dsn := newDatabase(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			b, err := postgres.Open(context.Background(), dsn, fmt.Sprintf("ws%d", i))
			if err == nil {
				b.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent first Open: %v", err)
		}
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var count, max int
	if err := conn.QueryRow(ctx, `SELECT count(*), max(version) FROM personactl.migrations`).Scan(&count, &max); err != nil {
		t.Fatal(err)
	}
	if count != postgres.SchemaVersion() || max != postgres.SchemaVersion() {
		t.Errorf("migrations table: %d rows up to version %d; want each of the %d versions once", count, max, postgres.SchemaVersion())
	}
	open(t, dsn, "again") // and once more, on a current schema
}

// TestNewerSchemaRefused: a database migrated by a newer personactl is not
// touched by an older one.
func TestNewerSchemaRefused(t *testing.T) {
	dsn := newDatabase(t)
	open(t, dsn, "default")
	exec(t, dsn, `INSERT INTO personactl.migrations (version) VALUES (999)`)
	_, err := postgres.Open(context.Background(), dsn, "default")
	if err == nil || !strings.Contains(err.Error(), "schema version 999") || !strings.Contains(err.Error(), "upgrade personactl") {
		t.Errorf("Open on a newer schema: %v; want a refusal that says to upgrade", err)
	}
}

// TestNewerFormatRefused: a state row written by a newer personactl is
// neither read nor overwritten.
func TestNewerFormatRefused(t *testing.T) {
	st := newStore(t).(*store)
	b := st.Open(t)
	l := lockOrFail(t, b)
	s := &state.State{Personas: []state.RecordedPersona{samplePersona("a@personas.mana.test")}}
	if err := l.Write(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	exec(t, st.dsn, `UPDATE personactl.states SET version = 2 WHERE workspace = $1`, st.workspace)
	if _, err := b.Read(context.Background()); err == nil || !strings.Contains(err.Error(), "upgrade personactl") {
		t.Errorf("Read of a newer format: %v", err)
	}
	if err := l.Write(context.Background(), s); err == nil || !strings.Contains(err.Error(), "upgrade personactl") {
		t.Errorf("Write over a newer format: %v", err)
	}
}

// TestWorkspacesIsolated: workspaces share the tables but not their states or locks.
func TestWorkspacesIsolated(t *testing.T) {
	sa, sb := newStore(t), newStore(t)
	a, b := sa.Open(t), sb.Open(t)
	la := lockOrFail(t, a)
	lb := lockOrFail(t, b) // not blocked by a's lock
	if err := la.Write(context.Background(), &state.State{Personas: []state.RecordedPersona{samplePersona("a@personas.mana.test")}}); err != nil {
		t.Fatal(err)
	}
	if s, err := b.Read(context.Background()); err != nil || s.Serial != 0 {
		t.Errorf("workspace b sees %+v, %v; want its own empty state", s, err)
	}
	if err := lb.Write(context.Background(), &state.State{}); err != nil {
		t.Errorf("first write in workspace b: %v", err)
	}
}

// TestPersonasAreRows: each recorded persona is a row a person can query.
func TestPersonasAreRows(t *testing.T) {
	st := newStore(t).(*store)
	b := st.Open(t)
	l := lockOrFail(t, b)
	s := &state.State{Personas: []state.RecordedPersona{samplePersona("b@personas.mana.test"), samplePersona("a@personas.mana.test")}}
	if err := l.Write(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, st.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var emails, archetype string
	var serial int64
	err = conn.QueryRow(ctx, `
		SELECT string_agg(p.email, ',' ORDER BY p.email), min(p."values"->>'archetype'), min(s.serial)
		FROM personactl.personas p JOIN personactl.states s USING (workspace) WHERE workspace = $1`, st.workspace).Scan(&emails, &archetype, &serial)
	if err != nil || emails != "a@personas.mana.test,b@personas.mana.test" || archetype != "planner" || serial != 1 {
		t.Errorf("rows: %q %q serial %d, %v", emails, archetype, serial, err)
	}
}

// TestStaleLockRowTakenOver: a holder row whose advisory lock is free (its
// run died) does not stop the next run.
func TestStaleLockRowTakenOver(t *testing.T) {
	st := newStore(t).(*store)
	b := st.Open(t)
	exec(t, st.dsn, `INSERT INTO personactl.locks VALUES ($1, 'dead-lock', 'apply', 'ghost', 'gone', 999999, now(), 999999)`, st.workspace)
	l := lockOrFail(t, b)
	_, err := st.Open(t).Lock(context.Background(), "plan", 0)
	var le *state.LockedError
	if !errors.As(err, &le) || le.Holder.ID != l.Info().ID {
		t.Errorf("Lock after a takeover: %v; want the new holder %s named", err, l.Info().ID)
	}
}

// TestForceUnlockRefusesLiveSession: while the holder's database session
// is alive, force-unlock changes nothing and shows the query that finds the
// session and the one that would end it; the holder keeps writing.
func TestForceUnlockRefusesLiveSession(t *testing.T) {
	st := newStore(t).(*store)
	ctx := context.Background()
	a, b := st.Open(t), st.Open(t)
	la := lockOrFail(t, a)
	if err := b.ForceUnlock(ctx, "0b6a3c4e-1111-4222-8333-444455556666"); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("ForceUnlock with a wrong ID: %v", err)
	}
	pid := holderBackend(t, st)
	err := b.ForceUnlock(ctx, la.Info().ID)
	if err == nil {
		t.Fatal("ForceUnlock of a live holder succeeded")
	}
	for _, want := range []string{"still alive", fmt.Sprintf("FROM pg_stat_activity WHERE pid = %d", pid), fmt.Sprintf("SELECT pg_terminate_backend(%d)", pid)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not say %q", err, want)
		}
	}
	select {
	case <-la.Lost():
		t.Fatal("the refused force-unlock ended the holder's lock")
	default:
	}
	if err := la.Write(ctx, &state.State{}); err != nil {
		t.Errorf("the holder's write after a refused force-unlock: %v", err)
	}
	var le *state.LockedError
	if _, err := b.Lock(ctx, "apply", 0); !errors.As(err, &le) || le.Holder.ID != la.Info().ID {
		t.Errorf("Lock after the refused force-unlock: %v; want the holder still named", err)
	}
}

// TestForceUnlockRefusesHungProcess: a holder process that hangs (alive,
// holding its session) is not ended from here, even from another process.
func TestForceUnlockRefusesHungProcess(t *testing.T) {
	st := newStore(t)
	child := statetest.StartChild(t, st, statetest.RoleHold)
	b := st.Open(t)
	var le *state.LockedError
	if _, err := b.Lock(context.Background(), "apply", 0); !errors.As(err, &le) || le.Holder.PID != child.PID {
		t.Fatalf("Lock while the child holds: %v", err)
	}
	if err := b.ForceUnlock(context.Background(), le.Holder.ID); err == nil || !strings.Contains(err.Error(), "pg_stat_activity") {
		t.Fatalf("ForceUnlock(%s) of a live holder: %v; want a refusal showing the session", le.Holder.ID, err)
	}
	if _, err := b.Lock(context.Background(), "apply", 0); !errors.As(err, &le) || le.Holder.PID != child.PID {
		t.Errorf("after the refused force-unlock: %v; want the child still holding", err)
	}
}

// holderBackend returns the server process of the session holding the
// store's lock, from personactl.locks.
func holderBackend(t *testing.T, st *store) int32 {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, st.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var pid int32
	if err := conn.QueryRow(ctx, `SELECT backend_pid FROM personactl.locks WHERE workspace = $1`, st.workspace).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	return pid
}

// terminate ends the session of backend pid, as an operator would.
func terminate(t *testing.T, st *store, pid int32) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, st.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, pid).Scan(&ok); err != nil || !ok {
		t.Fatalf("pg_terminate_backend(%d): %v, %v", pid, ok, err)
	}
}

// TestLockLostWhenSessionTerminated: terminating the lock's session closes
// Lost at once, every write after it fails saying the lock was lost, and
// force-unlock then clears the row and a new run takes the lock.
func TestLockLostWhenSessionTerminated(t *testing.T) {
	st := newStore(t).(*store)
	ctx := context.Background()
	log, records := logtest.New()
	b := st.OpenLogged(t, log)
	l := lockOrFail(t, b)
	e := state.JournalEntry{ID: "lost-1", Operation: "destroy", Started: time.Now().UTC()}
	if err := l.OpenJournal(ctx, e); err != nil {
		t.Fatal(err)
	}
	pid := holderBackend(t, st)
	start := time.Now()
	terminate(t, st, pid)
	select {
	case <-l.Lost():
		t.Logf("Lost closed %s after pg_terminate_backend", time.Since(start).Round(time.Microsecond))
	case <-time.After(30 * time.Second):
		t.Fatal("Lost did not close within 30s of the lock's session being terminated")
	}
	if lost := records.Records("lock lost"); len(lost) != 1 || lost[0]["level"] != "WARN" || !strings.Contains(lost[0]["why"].(string), "ended") {
		t.Errorf("the loss is logged as %v, want once, as a warning saying why", lost)
	}
	step := state.JournalStep{Email: "a@personas.mana.test", Action: "delete", Outcome: state.StepDone, Finished: time.Now().UTC()}
	for what, err := range map[string]error{
		"AppendSteps":  l.AppendSteps(ctx, e.ID, []state.JournalStep{step}),
		"Write":        l.Write(ctx, &state.State{}),
		"CloseJournal": l.CloseJournal(ctx, e.ID, state.OutcomeComplete),
	} {
		if !errors.Is(err, state.ErrLockLost) || !strings.Contains(err.Error(), "personactl apply") || !strings.Contains(err.Error(), "nothing more will be written") {
			t.Errorf("%s after the lock was lost: %v; want ErrLockLost saying nothing more is written and that apply converges", what, err)
		}
	}
	open := openEntries(t, b)
	if len(open) != 1 || len(open[0].Steps) != 0 {
		t.Errorf("journal after the lost lock: %+v; want the entry open with no step", open)
	}
	if err := l.Release(); err != nil {
		t.Errorf("Release of a lost lock: %v", err)
	}
	next := lockOrFail(t, st.Open(t))
	if err := next.Write(ctx, &state.State{}); err != nil {
		t.Errorf("the next run's write: %v", err)
	}
}

func openEntries(t *testing.T, b state.Backend) []state.JournalEntry {
	t.Helper()
	open, err := b.OpenJournals(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return open
}

// TestTakeoverRefusesTheOldHolder: the check a write makes shares the
// holder's row, so a run that takes over a lost lock cannot record itself
// until that write has ended, and the old holder's next write fails.
func TestTakeoverRefusesTheOldHolder(t *testing.T) {
	st := newStore(t).(*store)
	ctx := context.Background()
	b := st.Open(t)
	l := lockOrFail(t, b)
	if err := l.OpenJournal(ctx, state.JournalEntry{ID: "race-1", Operation: "apply", Started: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	terminate(t, st, holderBackend(t, st))
	<-l.Lost()
	// Whatever the order, the old holder never writes after the new one
	// took the lock.
	nb := st.Open(t)
	nl, err := nb.Lock(ctx, "apply", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nl.Release()
	if err := l.AppendSteps(ctx, "race-1", []state.JournalStep{{Email: "x@personas.mana.test", Action: "create", Outcome: state.StepDone, Finished: time.Now().UTC()}}); !errors.Is(err, state.ErrLockLost) {
		t.Errorf("old holder's append after the takeover: %v", err)
	}
	if err := nl.AppendSteps(ctx, "race-1", []state.JournalStep{{Email: "y@personas.mana.test", Action: "create", Outcome: state.StepDone, Finished: time.Now().UTC()}}); err != nil {
		t.Errorf("new holder's append to the interrupted entry: %v", err)
	}
}

// TestOpenErrors: what a user sees when the database cannot be used.
func TestOpenErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const password = "hunter2-not-to-be-printed"
	_, err := postgres.Open(ctx, "postgres://someone:"+password+"@127.0.0.1:1/db?sslmode=disable", "default")
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") || !strings.Contains(err.Error(), "check that PostgreSQL runs") || strings.Contains(err.Error(), password) {
		t.Errorf("Open on a closed port: %v; want host and port, what to check, and no password", err)
	}
	if _, err := postgres.Open(ctx, "postgres://x@127.0.0.1/db", ""); err == nil || !strings.Contains(err.Error(), "--workspace") {
		t.Errorf("Open without a workspace: %v", err)
	}
	if _, err := postgres.Open(ctx, "postgres://someone:"+password+"@127.0.0.1:notaport/db", "default"); err == nil || strings.Contains(err.Error(), password) {
		t.Errorf("Open with a malformed URL: %v; want an error without the password", err)
	}
}

// BenchmarkJournal: 10,000 steps through a Journal on PostgreSQL; bytes
// written are the server's write-ahead log, all of it (the test server
// runs nothing else meanwhile).
func BenchmarkJournal(b *testing.B) {
	dsn := sharedDatabase(b)
	ws := "bench-" + strings.ToLower(rand.Text()[:8])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	statetest.BenchJournal(b, func(b *testing.B) state.Backend {
		be, err := postgres.Open(ctx, dsn, ws)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { be.Close() })
		return be
	}, func(b *testing.B) int64 {
		var lsn int64
		if err := conn.QueryRow(ctx, `SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint`).Scan(&lsn); err != nil {
			b.Fatal(err)
		}
		return lsn
	})
}

// OpenRetaining opens the store keeping only retain closed runs.
func (s *store) OpenRetaining(t *testing.T, retain int) state.Backend {
	b, err := postgres.Open(context.Background(), s.dsn, s.workspace, postgres.Options{Retain: retain})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// WaitHolderGone waits until the server has seen the session of a killed
// holder end: it queues for the advisory lock itself, then lets it go.
func (s *store) WaitHolderGone(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	ns, key := postgres.LockKeys(s.workspace)
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1, $2)`, ns, key); err != nil {
		t.Fatalf("wait for the killed holder's session to end: %v", err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1, $2)`, ns, key); err != nil {
		t.Fatal(err)
	}
}

// TestDuplicateRowsRefused: rows for one address in two letter cases (the
// primary key cannot stop them) make Read refuse, naming both, the
// workspace, and the statement that repairs it.
func TestDuplicateRowsRefused(t *testing.T) {
	st := newStore(t).(*store)
	b := st.Open(t)
	l := lockOrFail(t, b)
	if err := l.Write(context.Background(), &state.State{Personas: []state.RecordedPersona{samplePersona("ann@personas.mana.test")}}); err != nil {
		t.Fatal(err)
	}
	exec(t, st.dsn, `INSERT INTO personactl.personas (workspace, email, user_id, "values", applied_at) VALUES ($1, 'Ann@personas.mana.test', 'u-2', '{}', now())`, st.workspace)
	_, err := b.Read(context.Background())
	if err == nil {
		t.Fatal("Read of a workspace listing one address twice succeeded")
	}
	for _, want := range []string{"ann@personas.mana.test", "Ann@personas.mana.test", st.workspace, "DELETE FROM personactl.personas"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not say %q", err, want)
		}
	}
}

// TestDebugLogHasEveryStatement: at debug level each statement is one
// record with its text, duration and rows, on every connection (the
// lock's included); never its arguments, nor the DSN's password.
func TestDebugLogHasEveryStatement(t *testing.T) {
	st := newStore(t).(*store)
	ctx := context.Background()
	u, err := url.Parse(st.dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), "dsn-password-canary") // trust auth takes any
	log, records := logtest.New()
	b, err := postgres.Open(ctx, u.String(), st.workspace, postgres.Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	l := lockOrFail(t, b)
	if err := l.Write(ctx, &state.State{Personas: []state.RecordedPersona{{Email: "argument.canary@personas.mana.test", UserID: "u-1", AppliedAt: time.Now()}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Read(ctx); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range records.Records("sql") {
		if r["db"] != "state" || r["duration"] == nil || r["level"] != "DEBUG" {
			t.Errorf("a record without its database or duration, or not at debug level: %v", r)
		}
		sql := r["sql"].(string)
		for _, want := range []string{"SELECT pg_try_advisory_lock($1, $2)", "INSERT INTO personactl.personas", "FROM personactl.personas WHERE workspace = $1 ORDER BY email"} {
			if strings.Contains(sql, want) && r["error"] == nil {
				seen[want] = true
			}
		}
	}
	if len(seen) != 3 {
		t.Errorf("logged statements %v, want the lock, the write and the read:\n%s", seen, records.Text())
	}
	if text := records.Text(); strings.Contains(text, "canary") {
		t.Errorf("the log holds an argument or the DSN's password:\n%s", text)
	}
}
