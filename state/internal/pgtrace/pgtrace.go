// Package pgtrace writes a debug record for each SQL statement pgx runs on
// a connection: the statement's text, its duration, and the rows it
// returned or changed or its error. It never logs a statement's arguments:
// the text is personactl's own constant SQL, and the values travel apart.
package pgtrace

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Install makes the connections opened with cfg log their statements to
// log, each record naming the database as db, when log records debug
// records; otherwise it leaves cfg alone.
func Install(cfg *pgx.ConnConfig, log *slog.Logger, db string) {
	if log != nil && log.Enabled(context.Background(), slog.LevelDebug) {
		cfg.Tracer = tracer{log.With("db", db)}
	}
}

// tracer is a pgx.QueryTracer.
type tracer struct{ log *slog.Logger }

type startKey struct{}

type started struct {
	sql string
	at  time.Time
}

func (t tracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	return context.WithValue(ctx, startKey{}, started{d.SQL, time.Now()})
}

func (t tracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	s, _ := ctx.Value(startKey{}).(started)
	attrs := []slog.Attr{slog.String("sql", strings.Join(strings.Fields(s.sql), " ")), slog.Duration("duration", time.Since(s.at))}
	if d.Err != nil {
		attrs = append(attrs, slog.String("error", d.Err.Error()))
	} else {
		attrs = append(attrs, slog.Int64("rows", d.CommandTag.RowsAffected()))
	}
	t.log.LogAttrs(ctx, slog.LevelDebug, "sql", attrs...)
}
