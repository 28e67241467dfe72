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

// keepClosed is how many closed entries a workspace's journal keeps, newest
// first, for someone looking back at the last applies; older ones are pruned.
const keepClosed = 10

// OpenJournals returns the entries that interrupted runs left open, oldest first.
func (b *Backend) OpenJournals(ctx context.Context) ([]state.JournalEntry, error) {
	var out []state.JournalEntry
	err := b.withConn(ctx, func(conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, `
			SELECT id, operation, started, plan, before::text, steps::text
			FROM personactl.journal WHERE workspace = $1 AND closed IS NULL ORDER BY started, id`, b.workspace)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e state.JournalEntry
			var before, steps string
			if err := rows.Scan(&e.ID, &e.Operation, &e.Started, &e.Plan, &before, &steps); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(before), &e.Before); err != nil {
				return fmt.Errorf("entry %s: before-images: %w", e.ID, err)
			}
			if err := json.Unmarshal([]byte(steps), &e.Steps); err != nil {
				return fmt.Errorf("entry %s: steps: %w", e.ID, err)
			}
			e.Started = e.Started.UTC()
			out = append(out, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read the journal of %s: %w", b.where, err)
	}
	return out, nil
}

// OpenJournal stores e as an open entry.
func (l *lock) OpenJournal(ctx context.Context, e state.JournalEntry) error {
	if e.ID == "" {
		return fmt.Errorf("open journal entry in %s: the entry has no ID", l.b.where)
	}
	before, err := json.Marshal(orEmpty(e.Before))
	if err != nil {
		return fmt.Errorf("open journal entry %s in %s: encode before-images: %w", e.ID, l.b.where, err)
	}
	steps, err := json.Marshal(orEmpty(e.Steps))
	if err != nil {
		return fmt.Errorf("open journal entry %s in %s: encode steps: %w", e.ID, l.b.where, err)
	}
	return l.held(ctx, "open journal entry in", func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, `
			INSERT INTO personactl.journal (workspace, id, operation, started, plan, before, steps)
			VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb)`,
			l.b.workspace, e.ID, e.Operation, e.Started, e.Plan, string(before), string(steps))
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" {
			return fmt.Errorf("entry %s exists already; give each apply a new ID", e.ID)
		}
		return err
	})
}

// RecordStep appends step to the open entry id, in one statement, so that
// parallel steps never lose one another's records.
func (l *lock) RecordStep(ctx context.Context, id string, step state.JournalStep) error {
	one, err := json.Marshal([]state.JournalStep{step})
	if err != nil {
		return fmt.Errorf("record journal step for %s in %s: %w", step.Email, l.b.where, err)
	}
	return l.held(ctx, "record journal step in", func(conn *pgx.Conn) error {
		tag, err := conn.Exec(ctx, `UPDATE personactl.journal SET steps = steps || $3::jsonb WHERE workspace = $1 AND id = $2 AND closed IS NULL`,
			l.b.workspace, id, string(one))
		if err == nil && tag.RowsAffected() == 0 {
			return fmt.Errorf("no open entry %s for the step of %s; open it with OpenJournal first", id, step.Email)
		}
		return err
	})
}

// CloseJournal marks entry id finished and prunes old closed entries.
func (l *lock) CloseJournal(ctx context.Context, id string) error {
	return l.held(ctx, "close journal entry in", func(conn *pgx.Conn) error {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(context.Background())
		tag, err := tx.Exec(ctx, `UPDATE personactl.journal SET closed = $3 WHERE workspace = $1 AND id = $2 AND closed IS NULL`,
			l.b.workspace, id, time.Now().UTC())
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("no open entry %s", id)
		}
		if _, err := tx.Exec(ctx, `
			DELETE FROM personactl.journal WHERE workspace = $1 AND closed IS NOT NULL AND id NOT IN (
				SELECT id FROM personactl.journal WHERE workspace = $1 AND closed IS NOT NULL ORDER BY closed DESC LIMIT $2)`,
			l.b.workspace, keepClosed); err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
}

// orEmpty turns a nil slice into an empty one, so that jsonb holds [] rather than null.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
