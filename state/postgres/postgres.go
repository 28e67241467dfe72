// Package postgres keeps recorded states in PostgreSQL, one workspace per
// row set, so that several operators and CI share one state with a lock that
// the database frees when its holder's connection ends.
//
// It owns the schema personactl (the states, personas, locks, journal and
// migrations tables) and migrates it on first use. It must never touch
// anything outside that schema, never write a workspace's rows without
// holding its advisory lock, and never put the connection string's password
// in a message.
package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mana/personactl/state"
	"github.com/mana/personactl/state/internal/pgtrace"
)

// Backend is the recorded state of one workspace in a PostgreSQL database.
// Its methods may be called from several goroutines.
type Backend struct {
	cfg       *pgx.ConnConfig
	workspace string
	where     string
	retain    int          // closed runs the journal keeps
	log       *slog.Logger // hears of the lock and the journal

	mu   sync.Mutex
	conn *pgx.Conn // for reads and force-unlock; locks have their own
}

// Options tune a Backend; the zero value is the default.
type Options struct {
	// Retain is how many closed runs the journal keeps for History, newest
	// first (0: state.DefaultRetain). On a shared database this is the
	// team's audit trail.
	Retain int
	// Log hears of the lock (taken, waited for, released, lost), the
	// journal (opened, steps written, closed) and, when it records debug
	// records, every SQL statement (its text, never its arguments); nil:
	// nothing is logged.
	Log *slog.Logger
}

// Open connects to the database dsn names, creates or migrates the
// personactl schema if needed, and returns the backend for workspace. At
// most one Options may be given.
func Open(ctx context.Context, dsn, workspace string, opts ...Options) (*Backend, error) {
	if workspace == "" {
		return nil, errors.New("workspace name is empty; pass --workspace=NAME")
	}
	var o Options
	switch {
	case len(opts) > 1:
		return nil, errors.New("postgres.Open takes at most one Options")
	case len(opts) == 1:
		o = opts[0]
	}
	var err error
	if o.Retain, err = state.Retention(o.Retain); err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("state database URL: %w; write it as postgres://USER:PASSWORD@HOST:PORT/DATABASE", err)
	}
	if _, set := cfg.RuntimeParams["application_name"]; !set {
		// So that pg_stat_activity shows whose sessions these are.
		cfg.RuntimeParams["application_name"] = "personactl"
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	pgtrace.Install(cfg, o.Log, "state")
	b := &Backend{
		cfg:       cfg,
		workspace: workspace,
		where:     fmt.Sprintf("postgres workspace %s (database %s on %s:%d)", workspace, cfg.Database, cfg.Host, cfg.Port),
		retain:    o.Retain,
		log:       o.Log,
	}
	conn, err := b.connect(ctx)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, conn, b.where); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	b.conn = conn
	return b, nil
}

// Describe names the workspace and the database for messages.
func (b *Backend) Describe() string { return b.where }

// connect opens a new connection; each lock holds one of its own.
func (b *Backend) connect(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, b.cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to database %s on %s:%d as %s: %w; check that PostgreSQL runs there and that --state names the right server, user and database",
			b.cfg.Database, b.cfg.Host, b.cfg.Port, b.cfg.User, err)
	}
	return conn, nil
}

// withConn runs fn on the shared connection, reconnecting if it was lost.
func (b *Backend) withConn(ctx context.Context, fn func(conn *pgx.Conn) error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.conn == nil || b.conn.IsClosed() {
		conn, err := b.connect(ctx)
		if err != nil {
			return err
		}
		b.conn = conn
	}
	return fn(b.conn)
}

// Close closes the shared connection. Locks taken from b hold their own
// connections and must be released separately.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.conn == nil {
		return nil
	}
	err := b.conn.Close(context.Background())
	b.conn = nil
	return err
}

// Read returns the workspace's recorded state, or the zero State when none
// was written yet. The state row and the persona rows are read in one
// snapshot, so a concurrent write is seen whole or not at all.
func (b *Backend) Read(ctx context.Context) (*state.State, error) {
	var s *state.State
	err := b.withConn(ctx, func(conn *pgx.Conn) error {
		tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		if err != nil {
			return err
		}
		defer tx.Rollback(context.Background())
		s, err = readState(ctx, tx, b.workspace)
		return err
	})
	if err == nil {
		if verr := s.Validate(); verr != nil {
			return nil, fmt.Errorf("state of %s: %w; personactl cannot tell such records apart, so it reads nothing until one of each is removed: delete the wrong row with DELETE FROM personactl.personas WHERE workspace = '%s' AND email = 'ADDRESS'", b.where, verr, b.workspace)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("read state of %s: %w", b.where, err)
	}
	return s, nil
}

func readState(ctx context.Context, tx pgx.Tx, workspace string) (*state.State, error) {
	s := &state.State{}
	err := tx.QueryRow(ctx, `SELECT version, lineage, serial FROM personactl.states WHERE workspace = $1`, workspace).
		Scan(&s.Version, &s.Lineage, &s.Serial)
	if errors.Is(err, pgx.ErrNoRows) {
		return &state.State{}, nil
	}
	if err != nil {
		return nil, err
	}
	if s.Version > state.FormatVersion {
		return nil, fmt.Errorf("it was written by a newer personactl (format version %d; this one reads up to %d); upgrade personactl to use it", s.Version, state.FormatVersion)
	}
	rows, err := tx.Query(ctx, `SELECT email, user_id, "values"::text, applied_at, credentials FROM personactl.personas WHERE workspace = $1 ORDER BY email`, workspace)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var p state.RecordedPersona
		var values string
		if err := rows.Scan(&p.Email, &p.UserID, &values, &p.AppliedAt, &p.Credentials); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(values), &p.Values); err != nil {
			return nil, fmt.Errorf("persona %s: values are not a persona (%v); restore the row or remove it with `personactl state rm %s`", p.Email, err, p.Email)
		}
		p.AppliedAt = p.AppliedAt.UTC()
		s.Personas = append(s.Personas, p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	s.Sort() // the database's collation need not sort the way Find searches
	return s, nil
}

// personaColumns splits personas into the parallel arrays one INSERT ...
// unnest takes, so that a write is one statement whatever the count. It
// refuses a persona without an email or one listed twice, letter case
// aside, as the file backend does, before the primary key would.
func personaColumns(ps []state.RecordedPersona) (emails, userIDs, values []string, appliedAt []time.Time, credentials []string, err error) {
	if err := (&state.State{Personas: ps}).Validate(); err != nil {
		return nil, nil, nil, nil, nil, err
	}
	for _, p := range ps {
		v, err := json.Marshal(p.Values)
		if err != nil {
			return nil, nil, nil, nil, nil, fmt.Errorf("encode persona %s: %w", p.Email, err)
		}
		emails = append(emails, p.Email)
		userIDs = append(userIDs, p.UserID)
		values = append(values, string(v))
		appliedAt = append(appliedAt, p.AppliedAt)
		credentials = append(credentials, p.Credentials)
	}
	return emails, userIDs, values, appliedAt, credentials, nil
}
