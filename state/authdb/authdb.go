// Package authdb reads live personas straight from mana-auth's database (its
// auth schema) in one query, instead of the 1 + N requests the admin API
// needs. It is the --live fast path for plans and drift checks.
//
// It reads the auth tables, or, when the database has a personactl_live
// schema, only its view of the persona rows and its function that answers
// for the addresses asked (what a read-only role of pull-request plans is
// granted instead of the tables; examples/ci/plan-role.sql creates them).
// It only ever reads, and the persona rows inside a READ ONLY transaction:
// every write still goes through the admin API, which owns the sign-up and
// stamping logic.
package authdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mana/personactl/internal/neutral"
	"github.com/mana/personactl/state"
	"github.com/mana/personactl/state/internal/pgtrace"
)

// recentActionsShown is how many actions the admin API's detail lists at most;
// Actions counts the same, so both readers report the same history.
const recentActionsShown = 20

// Reader reads live personas from mana-auth's database. It satisfies
// state.Live and is safe for concurrent use: its one connection is taken in
// turn (pgx.Conn is not safe for concurrent use, and each query is short).
type Reader struct {
	mu    sync.Mutex
	conn  *pgx.Conn
	where string
	now   func() time.Time
	// narrow: read personactl_live's view and function, not the tables.
	narrow bool
}

// Options tune a Reader; the zero value is the default.
type Options struct {
	// Log, when it records debug records, hears of every SQL statement
	// (its text, never its arguments) and how long it took.
	Log *slog.Logger
}

// Open connects to the database dsn names. At most one Options may be given.
func Open(ctx context.Context, dsn string, opts ...Options) (*Reader, error) {
	if len(opts) > 1 {
		return nil, errors.New("authdb.Open takes at most one Options")
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("--live / PERSONACTL_LIVE_DSN is not a PostgreSQL connection string: %v; pass postgres://USER@HOST:PORT/DATABASE", redactedParseError(err))
	}
	for _, o := range opts {
		pgtrace.Install(cfg, o.Log, "mana-auth")
	}
	where := fmt.Sprintf("mana-auth database %s on %s:%d", cfg.Database, cfg.Host, cfg.Port)
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to the %s: %v; check --live / PERSONACTL_LIVE_DSN, or leave it unset to read through the admin API", where, err)
	}
	r := &Reader{conn: conn, where: where, now: time.Now}
	if err := conn.QueryRow(ctx, `SELECT to_regnamespace('personactl_live') IS NOT NULL`).Scan(&r.narrow); err != nil {
		conn.Close(context.Background())
		return nil, fmt.Errorf("reading the %s: %w", where, err)
	}
	return r, nil
}

// redactedParseError keeps a DSN's password out of pgx's parse error, whose
// text quotes the connection string (redacted only on a best-effort basis).
func redactedParseError(err error) string {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) && pe.Unwrap() != nil {
		return pe.Unwrap().Error()
	}
	return "malformed connection string"
}

// Close ends the connection.
func (r *Reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conn.Close(context.Background())
}

// PersonasQuery is the one query that reads every persona; a benchmark
// runs it bare as the lower bound of plan --live.
const PersonasQuery = `
SELECT u.id, u.email, u.name, p.archetype, p.system_prompt, p.module_mix, p.tick_cadence,
       p.created_at, p.last_active_at,
       (SELECT count(*) FROM auth.persona_actions a WHERE a.persona_id = p.user_id AND a.created_at > $1),
       (SELECT count(*) FROM auth.persona_actions a WHERE a.persona_id = p.user_id),
       (SELECT count(*) FROM auth.persona_feedback f WHERE f.persona_id = p.user_id)
FROM auth.personas p
JOIN auth.users u ON u.id = p.user_id
WHERE u.kind = 'persona'
ORDER BY u.email COLLATE "C"`

// NarrowPersonasQuery is PersonasQuery through the personactl_live view,
// which counts the last 7 days' actions by the database's clock.
const NarrowPersonasQuery = `
SELECT user_id, email, name, archetype, system_prompt, module_mix, tick_cadence,
       created_at, last_active_at, actions_7d, actions, feedback
FROM personactl_live.personas
ORDER BY email COLLATE "C"`

// Personas returns every persona with its full values, sorted by email. Unlike
// the admin API's list, a persona row whose user is no longer of kind
// 'persona' is left out: it is not a persona, and its delete would be refused.
func (r *Reader) Personas(ctx context.Context) ([]state.LivePersona, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	tx, err := r.conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("reading personas from the %s: %w", r.where, err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read-only: nothing to keep
	query, args := PersonasQuery, []any{r.now().Add(-7 * 24 * time.Hour)}
	if r.narrow {
		query, args = NarrowPersonasQuery, nil
	}
	rows, err := tx.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("reading personas from the %s: %w; is this mana-auth's database with the auth schema?", r.where, err)
	}
	defer rows.Close()
	var out []state.LivePersona
	for rows.Next() {
		var (
			l        state.LivePersona
			mix      []byte
			actions  int64
			a7d, fbs int64
		)
		if err := rows.Scan(&l.UserID, &l.Values.Email, &l.Values.Name, &l.Values.Archetype, &l.Values.SystemPrompt, &mix, &l.Values.TickCadence, &l.CreatedAt, &l.LastActiveAt, &a7d, &actions, &fbs); err != nil {
			return nil, fmt.Errorf("reading personas from the %s: %w", r.where, err)
		}
		if l.Values.ModuleMix, err = decodeMix(mix); err != nil {
			// The address and the value are the database's: shown escaped.
			return nil, fmt.Errorf("persona %s in the %s: module_mix %s", neutral.Text(l.Values.Email), r.where, neutral.Text(err.Error()))
		}
		l.Actions7d, l.Actions, l.Feedback = int(a7d), int(min(actions, recentActionsShown)), int(fbs)
		l.CreatedAt = l.CreatedAt.UTC()
		if l.LastActiveAt != nil {
			t := l.LastActiveAt.UTC()
			l.LastActiveAt = &t
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading personas from the %s: %w", r.where, err)
	}
	return out, nil
}

// decodeMix reads a module_mix jsonb value. mana-auth accepts an array for it
// (it only checks for an object with typeof), so an empty array is an empty mix.
func decodeMix(b []byte) (map[string]float64, error) {
	var obj map[string]float64
	if json.Unmarshal(b, &obj) == nil && obj != nil {
		return obj, nil // the usual case, without the generic decoding
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	switch m := v.(type) {
	case map[string]any:
		out := make(map[string]float64, len(m))
		for k, w := range m {
			f, ok := w.(float64)
			if !ok || math.IsInf(f, 0) || math.IsNaN(f) {
				return nil, fmt.Errorf("key %q holds %v, not a number", k, w)
			}
			out[k] = f
		}
		return out, nil
	case []any:
		if len(m) == 0 {
			return map[string]float64{}, nil
		}
	}
	return nil, fmt.Errorf("is %s, not an object of numbers", b)
}

// AddressHoldersQuery finds every user holding one of a set of lowercased
// addresses, letter case aside, in one pass over the users table: its
// kind, id, creation time, and whether it has a session (has signed in).
// mana-auth has no index on lower(email), and personactl adds none: the
// table is scanned once per plan, whatever the number of addresses. The
// addresses are joined as a table rather than matched with lower(email) =
// ANY($1): for a parameter, PostgreSQL compares each row with every
// element of the array in turn (3,000 addresses against 30,000 users took
// over a second), while the join hashes them.
const AddressHoldersQuery = `SELECT e.email, u.kind::text, u.id, u.created_at,
       EXISTS (SELECT 1 FROM auth.sessions s WHERE s.user_id = u.id)
FROM unnest($1::text[]) AS e(email) JOIN auth.users u ON lower(u.email) = e.email`

// NarrowAddressHoldersQuery is AddressHoldersQuery through the
// personactl_live function, which runs the same join.
const NarrowAddressHoldersQuery = `SELECT email, kind, user_id, created_at, signed_in
FROM personactl_live.address_holders($1::text[])`

// AddressOwners tells, for each of emails, whether it belongs to nobody, a
// persona, or a user of another kind, and which user, with one query for
// all of them. The map is keyed by each address as given; letter case is
// ignored, as mana-auth stores addresses lowercased. When users of
// different kinds hold an address in different letter case, it is taken
// unless all of them are personas, and no one user is named.
func (r *Reader) AddressOwners(ctx context.Context, emails []string) (map[string]state.Owner, error) {
	out := make(map[string]state.Owner, len(emails))
	if len(emails) == 0 {
		return out, nil
	}
	seen := make(map[string]bool, len(emails))
	lowered := make([]string, 0, len(emails))
	for _, e := range emails {
		if l := strings.ToLower(e); !seen[l] {
			seen[l] = true
			lowered = append(lowered, l)
		}
	}
	owners := make(map[string]state.Owner, len(lowered))
	r.mu.Lock()
	defer r.mu.Unlock()
	query := AddressHoldersQuery
	if r.narrow {
		query = NarrowAddressHoldersQuery
	}
	rows, err := r.conn.Query(ctx, query, lowered)
	if err != nil {
		return nil, fmt.Errorf("looking up %d addresses in the %s: %w", len(lowered), r.where, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			email, kind, id string
			created         time.Time
			signedIn        bool
		)
		if err := rows.Scan(&email, &kind, &id, &created, &signedIn); err != nil {
			return nil, fmt.Errorf("looking up %d addresses in the %s: %w", len(lowered), r.where, err)
		}
		h := state.Owner{Kind: state.AddressTaken, UserID: id, CreatedAt: created.UTC(), NeverSignedIn: !signedIn}
		if kind == "persona" {
			h.Kind = state.AddressPersona
		}
		if prev, ok := owners[email]; ok {
			// Users in other letter case: taken unless all are personas,
			// and none of them is named.
			owner := state.AddressTaken
			if prev.Kind == state.AddressPersona && h.Kind == state.AddressPersona {
				owner = state.AddressPersona
			}
			h = state.Owner{Kind: owner}
		}
		owners[email] = h
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("looking up %d addresses in the %s: %w", len(lowered), r.where, err)
	}
	for _, e := range emails {
		out[e] = owners[strings.ToLower(e)] // AddressFree when absent
	}
	return out, nil
}

var _ state.Live = (*Reader)(nil)
