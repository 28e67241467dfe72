package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mana/personactl/state"
)

// The journal is two tables: personactl.journal holds one row per run (its
// header, and while it is open its plan and before-images), and
// personactl.journal_steps one row per finished step, inserted a batch per
// statement. Closing a run drops its plan and before-images and keeps the
// rest as the workspace's history.

// OpenJournals returns the entries that interrupted runs left open, oldest first.
func (b *Backend) OpenJournals(ctx context.Context) ([]state.JournalEntry, error) {
	out, err := b.readEntries(ctx, `
		SELECT id, operation, who, host, started, plan, before::text
		FROM personactl.journal WHERE workspace = $1 AND closed IS NULL ORDER BY started, id`,
		[]any{b.workspace}, func(rows pgx.Rows, e *state.JournalEntry) error {
			var before string
			if err := rows.Scan(&e.ID, &e.Operation, &e.Who, &e.Host, &e.Started, &e.Plan, &before); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(before), &e.Before); err != nil {
				return fmt.Errorf("entry %s: before-images: %w", e.ID, err)
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("read the journal of %s: %w", b.where, err)
	}
	return out, nil
}

// History returns up to limit runs, newest first, with their steps.
func (b *Backend) History(ctx context.Context, limit int) ([]state.JournalEntry, error) {
	var lim *int
	if limit > 0 {
		lim = &limit
	}
	out, err := b.readEntries(ctx, `
		SELECT id, operation, who, host, started, closed, coalesce(outcome, '')
		FROM personactl.journal WHERE workspace = $1 ORDER BY started DESC, id DESC LIMIT $2`,
		[]any{b.workspace, lim}, func(rows pgx.Rows, e *state.JournalEntry) error {
			var closed *time.Time
			if err := rows.Scan(&e.ID, &e.Operation, &e.Who, &e.Host, &e.Started, &closed, &e.Outcome); err != nil {
				return err
			}
			if closed != nil {
				e.Closed = closed.UTC()
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("read the history of %s: %w", b.where, err)
	}
	return out, nil
}

// readEntries reads journal entries with query, each row filled in by scan,
// then their steps, all in one read-only snapshot.
func (b *Backend) readEntries(ctx context.Context, query string, args []any, scan func(pgx.Rows, *state.JournalEntry) error) ([]state.JournalEntry, error) {
	var out []state.JournalEntry
	err := b.withConn(ctx, func(conn *pgx.Conn) error {
		out = nil // withConn may run fn again on a new connection
		tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		if err != nil {
			return err
		}
		defer tx.Rollback(context.Background())
		rows, err := tx.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var e state.JournalEntry
			if err := scan(rows, &e); err != nil {
				rows.Close()
				return err
			}
			e.Started = e.Started.UTC()
			out = append(out, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		return readSteps(ctx, tx, b.workspace, out)
	})
	return out, err
}

// readSteps fills in the steps of entries, in the order they were appended.
func readSteps(ctx context.Context, tx pgx.Tx, workspace string, entries []state.JournalEntry) error {
	if len(entries) == 0 {
		return nil
	}
	ids := make([]string, len(entries))
	index := make(map[string]int, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
		index[e.ID] = i
		entries[i].Steps = []state.JournalStep{}
	}
	rows, err := tx.Query(ctx, `
		SELECT entry_id, email, action, user_id, outcome, error, finished
		FROM personactl.journal_steps WHERE workspace = $1 AND entry_id = ANY($2) ORDER BY entry_id, seq`, workspace, ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var st state.JournalStep
		if err := rows.Scan(&id, &st.Email, &st.Action, &st.UserID, &st.Outcome, &st.Error, &st.Finished); err != nil {
			return err
		}
		st.Finished = st.Finished.UTC()
		i := index[id]
		entries[i].Steps = append(entries[i].Steps, st)
	}
	return rows.Err()
}

// OpenJournal stores e as an open entry: its header, plan and
// before-images, and any steps it already has.
func (l *lock) OpenJournal(ctx context.Context, e state.JournalEntry) error {
	if e.ID == "" {
		return fmt.Errorf("open journal entry in %s: the entry has no ID", l.b.where)
	}
	before, err := json.Marshal(orEmpty(e.Before))
	if err != nil {
		return fmt.Errorf("open journal entry %s in %s: encode before-images: %w", e.ID, l.b.where, err)
	}
	err = l.held(ctx, "open journal entry in", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
			INSERT INTO personactl.journal (workspace, id, operation, who, host, started, plan, before)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)`,
			l.b.workspace, e.ID, e.Operation, e.Who, e.Host, e.Started, e.Plan, string(before))
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" {
			return fmt.Errorf("entry %s exists already; give each run a new ID", e.ID)
		}
		if err != nil {
			return err
		}
		return insertSteps(ctx, tx, l.b.workspace, e.ID, e.Steps)
	})
	if err == nil {
		l.b.log.Info("journal opened", "entry", e.ID, "operation", e.Operation)
	}
	return err
}

// AppendSteps inserts steps as rows of the open entry id, in one statement.
func (l *lock) AppendSteps(ctx context.Context, id string, steps []state.JournalStep) error {
	if len(steps) == 0 {
		return nil
	}
	err := l.held(ctx, "record journal steps in", func(tx pgx.Tx) error {
		return insertSteps(ctx, tx, l.b.workspace, id, steps)
	})
	if err == nil {
		l.b.log.Debug("journal steps written", "entry", id, "steps", len(steps))
	}
	return err
}

// insertSteps appends steps to entry id in one INSERT ... SELECT unnest, in
// their order, provided the entry is open.
func insertSteps(ctx context.Context, tx pgx.Tx, workspace, id string, steps []state.JournalStep) error {
	if len(steps) == 0 {
		return nil
	}
	n := len(steps)
	emails, actions, userIDs, outcomes, errs := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	finished := make([]time.Time, n)
	for i, st := range steps {
		emails[i], actions[i], userIDs[i], outcomes[i], errs[i], finished[i] = st.Email, st.Action, st.UserID, st.Outcome, st.Error, st.Finished
	}
	tag, err := tx.Exec(ctx, `
		INSERT INTO personactl.journal_steps (workspace, entry_id, email, action, user_id, outcome, error, finished)
		SELECT $1, $2, s.email, s.action, s.user_id, s.outcome, s.error, s.finished
		FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[]) WITH ORDINALITY
			AS s(email, action, user_id, outcome, error, finished, n)
		WHERE EXISTS (SELECT 1 FROM personactl.journal WHERE workspace = $1 AND id = $2 AND closed IS NULL)
		ORDER BY s.n`,
		workspace, id, emails, actions, userIDs, outcomes, errs, finished)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("no open journal entry %s for the step of %s; open it with OpenJournal first", id, steps[0].Email)
	}
	return nil
}

// CloseJournal marks entry id closed with its outcome, drops its plan and
// before-images, and prunes the oldest closed runs beyond retention.
func (l *lock) CloseJournal(ctx context.Context, id string, o string) error {
	if err := state.CheckOutcome(o); err != nil {
		return fmt.Errorf("close journal entry %s in %s: %w", id, l.b.where, err)
	}
	err := l.held(ctx, "close journal entry in", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE personactl.journal SET closed = $3, outcome = $4, plan = NULL, before = '[]' WHERE workspace = $1 AND id = $2 AND closed IS NULL`,
			l.b.workspace, id, time.Now().UTC(), o)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("no open journal entry %s", id)
		}
		_, err = tx.Exec(ctx, `
			DELETE FROM personactl.journal WHERE workspace = $1 AND closed IS NOT NULL AND id NOT IN (
				SELECT id FROM personactl.journal WHERE workspace = $1 AND closed IS NOT NULL ORDER BY closed DESC, id DESC LIMIT $2)`,
			l.b.workspace, l.b.retain)
		return err
	})
	if err == nil {
		l.b.log.Info("journal closed", "entry", id, "outcome", o)
	}
	return err
}

// orEmpty turns a nil slice into an empty one, so that jsonb holds [] rather than null.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
