package postgres_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mana/personactl/catalog"
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
	if tables != "journal,locks,migrations,personas,states" {
		t.Errorf("schema personactl holds tables %s; Raw reads only the known ones", tables)
	}
	return raw
}

func (s *store) Env() []string {
	return []string{dsnEnv + "=" + s.dsn, workspaceEnv + "=" + s.workspace}
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

// TestForceUnlockLiveHolder: force-unlock ends a live holder's connection;
// the holder's next write then fails instead of writing without the lock.
func TestForceUnlockLiveHolder(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	a, b := st.Open(t), st.Open(t)
	la := lockOrFail(t, a)
	if err := b.ForceUnlock(ctx, "0b6a3c4e-1111-4222-8333-444455556666"); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("ForceUnlock with a wrong ID: %v", err)
	}
	if err := b.ForceUnlock(ctx, la.Info().ID); err != nil {
		t.Fatalf("ForceUnlock(%s) of a live holder: %v", la.Info().ID, err)
	}
	lb := lockOrFail(t, b)
	err := la.Write(ctx, &state.State{})
	if err == nil || !strings.Contains(err.Error(), "lock is gone") {
		t.Errorf("write by the force-unlocked holder: %v; want a refusal saying the lock is gone", err)
	}
	if err := lb.Write(ctx, &state.State{}); err != nil {
		t.Errorf("write by the new holder: %v", err)
	}
	la.Release() // must not disturb the new holder
	if _, err := a.Lock(ctx, "plan", 0); err == nil {
		t.Error("the old holder's Release freed the new holder's lock")
	}
}

// TestForceUnlockHungProcess: a holder process that hangs (alive, holding
// its connection) is ended by force-unlock, from another process.
func TestForceUnlockHungProcess(t *testing.T) {
	st := newStore(t)
	child := statetest.StartChild(t, st, statetest.RoleHold)
	b := st.Open(t)
	var le *state.LockedError
	if _, err := b.Lock(context.Background(), "apply", 0); !errors.As(err, &le) || le.Holder.PID != child.PID {
		t.Fatalf("Lock while the child holds: %v", err)
	}
	start := time.Now()
	if err := b.ForceUnlock(context.Background(), le.Holder.ID); err != nil {
		t.Fatalf("ForceUnlock(%s): %v", le.Holder.ID, err)
	}
	t.Logf("force-unlock of a live holder took %s", time.Since(start).Round(time.Millisecond))
	lockOrFail(t, b)
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
