package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The advisory locks this package takes use PostgreSQL's two-key form: the
// first key marks them as personactl's, the second names what is locked.
var (
	lockNamespace = hash32("personactl")
	migrationKey  = hash32("migrations")
)

// workspaceKey is the second advisory-lock key of a workspace's state lock.
func workspaceKey(workspace string) int32 { return hash32("workspace:" + workspace) }

func hash32(s string) int32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return int32(h.Sum32())
}

// migrations are the schema's versions, in order. A released version is
// never edited; a change is a new version.
var migrations = []struct {
	version int
	sql     string
}{
	{1, `
-- One row per workspace: the state's header. A write moves serial on by one
-- with UPDATE ... WHERE serial = <the serial read>, so a stale write changes
-- no row and is refused.
CREATE TABLE personactl.states (
	workspace  text PRIMARY KEY,
	version    integer NOT NULL,
	lineage    text NOT NULL,
	serial     bigint NOT NULL CHECK (serial > 0),
	updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE personactl.states IS 'personactl: recorded state per workspace (lineage, serial)';

-- One row per recorded persona, rewritten with its state in one transaction.
CREATE TABLE personactl.personas (
	workspace  text NOT NULL REFERENCES personactl.states (workspace) ON DELETE CASCADE,
	email      text NOT NULL,
	user_id    text NOT NULL,
	"values"   jsonb NOT NULL,
	applied_at timestamptz NOT NULL,
	PRIMARY KEY (workspace, email)
);
COMMENT ON TABLE personactl.personas IS 'personactl: the persona values last applied, per workspace';

-- Who holds a workspace's advisory lock, so that a refused run can name
-- them. The advisory lock is the truth: a row whose lock is free, or held
-- by another backend than backend_pid, is stale.
CREATE TABLE personactl.locks (
	workspace   text PRIMARY KEY,
	id          text NOT NULL,
	operation   text NOT NULL,
	who         text NOT NULL,
	host        text NOT NULL,
	pid         integer NOT NULL,
	created     timestamptz NOT NULL,
	backend_pid integer NOT NULL
);
COMMENT ON TABLE personactl.locks IS 'personactl: holders of the per-workspace advisory locks';

-- The apply journal: an entry still open (closed IS NULL) when a run starts
-- means an earlier apply was interrupted.
CREATE TABLE personactl.journal (
	workspace text NOT NULL,
	id        text NOT NULL,
	operation text NOT NULL,
	started   timestamptz NOT NULL,
	plan      bytea,
	before    jsonb NOT NULL DEFAULT '[]',
	steps     jsonb NOT NULL DEFAULT '[]',
	closed    timestamptz,
	PRIMARY KEY (workspace, id)
);
CREATE INDEX journal_open ON personactl.journal (workspace) WHERE closed IS NULL;
COMMENT ON TABLE personactl.journal IS 'personactl: apply journal; open entries are interrupted applies';
`},
	{2, `
-- The seed secret's fingerprint each persona's password came from.
ALTER TABLE personactl.personas ADD COLUMN credentials text NOT NULL DEFAULT '';

-- Who ran each entry, and how it ended (NULL while open).
ALTER TABLE personactl.journal ADD COLUMN who text NOT NULL DEFAULT '';
ALTER TABLE personactl.journal ADD COLUMN host text NOT NULL DEFAULT '';
ALTER TABLE personactl.journal ADD COLUMN outcome text;
CREATE INDEX journal_history ON personactl.journal (workspace, started DESC);

-- One row per finished step, appended in batches: a step never rewrites
-- the entry it belongs to.
CREATE TABLE personactl.journal_steps (
	workspace text NOT NULL,
	entry_id  text NOT NULL,
	seq       bigint GENERATED ALWAYS AS IDENTITY,
	email     text NOT NULL,
	action    text NOT NULL,
	user_id   text NOT NULL DEFAULT '',
	outcome   text NOT NULL,
	error     text NOT NULL DEFAULT '',
	finished  timestamptz NOT NULL,
	PRIMARY KEY (workspace, entry_id, seq),
	FOREIGN KEY (workspace, entry_id) REFERENCES personactl.journal (workspace, id) ON DELETE CASCADE
);
COMMENT ON TABLE personactl.journal_steps IS 'personactl: the finished steps of each journal entry';
ALTER TABLE personactl.journal DROP COLUMN steps;
`},
}

// SchemaVersion is the schema version this package migrates to.
func SchemaVersion() int { return migrations[len(migrations)-1].version }

// migrate brings the personactl schema to SchemaVersion. It is cheap when
// the schema is current (one query, no lock, so a user without CREATE rights
// can use a schema someone else set up), and serialised by an advisory lock
// otherwise, so that two first runs do not both create the tables.
func migrate(ctx context.Context, conn *pgx.Conn, where string) error {
	latest := SchemaVersion()
	have, err := schemaVersion(ctx, conn)
	switch {
	case err == nil && have == latest:
		return nil
	case err == nil && have > latest:
		return newerSchemaError(where, have, latest)
	case err != nil && !isUndefined(err):
		return fmt.Errorf("read the personactl schema version of %s: %w", where, err)
	}

	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("migrate schema personactl of %s: %w", where, err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, lockNamespace, migrationKey); err != nil {
		return fmt.Errorf("migrate schema personactl of %s: wait for another run's migration: %w", where, err)
	}
	for _, stmt := range []string{
		`CREATE SCHEMA IF NOT EXISTS personactl`,
		`CREATE TABLE IF NOT EXISTS personactl.migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
	} {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("set up schema personactl in %s: %w; grant the user CREATE on the database, or have the database owner run personactl once", where, err)
		}
	}
	// Read again under the lock: another run may have migrated meanwhile.
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM personactl.migrations`).Scan(&have); err != nil {
		return fmt.Errorf("migrate schema personactl of %s: %w", where, err)
	}
	if have > latest {
		return newerSchemaError(where, have, latest)
	}
	for _, m := range migrations {
		if m.version <= have {
			continue
		}
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return fmt.Errorf("migrate schema personactl of %s to version %d: %w", where, m.version, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO personactl.migrations (version) VALUES ($1)`, m.version); err != nil {
			return fmt.Errorf("migrate schema personactl of %s to version %d: %w", where, m.version, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("migrate schema personactl of %s: %w", where, err)
	}
	return nil
}

func schemaVersion(ctx context.Context, conn *pgx.Conn) (int, error) {
	var v int
	err := conn.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM personactl.migrations`).Scan(&v)
	return v, err
}

func newerSchemaError(where string, have, latest int) error {
	return fmt.Errorf("%s has personactl schema version %d, newer than this personactl knows (%d); upgrade personactl", where, have, latest)
}

// isUndefined reports whether err says the schema or the table is missing.
func isUndefined(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "42P01" || pgErr.Code == "3F000")
}
