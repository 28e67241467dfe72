package authdb

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mana/personactl/manaauthdev"
	"github.com/mana/personactl/manaauthdev/devtest"
)

// seedUsers fills a fresh mana-auth database, in bulk, with personas
// persona.NNNNN@mana.test (each with a few actions) and people
// user.NNNNN@example.test, and returns its address.
func seedUsers(b *testing.B, personas, people int) string {
	b.Helper()
	ctx := context.Background()
	dsn := devtest.FreshDatabase(b)
	store, err := manaauthdev.OpenPostgres(ctx, dsn) // creates the schema
	if err != nil {
		b.Fatal(err)
	}
	store.Close()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{
		`INSERT INTO auth.users (id, name, email, email_verified, kind, access_tier)
		 SELECT 'p' || i, 'Persona ' || i, 'persona.' || lpad(i::text, 5, '0') || '@mana.test', true, 'persona', 'founder'
		 FROM generate_series(1, $1::int) i`,
		`INSERT INTO auth.personas (user_id, archetype, system_prompt, module_mix, tick_cadence)
		 SELECT 'p' || i, 'adhd-student', repeat('Du bist eine Persona, die Mana jeden Tag nutzt. ', 8) || i, '{"todo":0.5,"journal":0.5}', 'daily'
		 FROM generate_series(1, $1::int) i`,
		`INSERT INTO auth.persona_actions (id, persona_id, tick_id, tool_name, result, created_at)
		 SELECT 'a' || i || '-' || j, 'p' || i, 't', 'todo.create', 'ok', now() - j * interval '1 day'
		 FROM generate_series(1, $1::int) i, generate_series(1, 3) j`,
	} {
		if _, err := conn.Exec(ctx, q, personas); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := conn.Exec(ctx, `INSERT INTO auth.users (id, name, email) SELECT 'h' || i, 'User ' || i, 'user.' || lpad(i::text, 5, '0') || '@example.test' FROM generate_series(1, $1::int) i`, people); err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	return dsn
}

// bare runs query through a plain pgx connection and reads every row: the
// lower bound of the reader's work.
func bare(b *testing.B, conn *pgx.Conn, query string, args ...any) int {
	rows, err := conn.Query(context.Background(), query, args...)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for rows.Next() {
		if _, err := rows.Values(); err != nil {
			b.Fatal(err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkLive measures what `plan --live` asks of the database, each
// beside its lower bound (the same query through pgx, rows read and
// dropped): every persona of 10,000 converged ones; and who holds 3,000
// addresses (the creates of a plan, 1,000 of them taken) among 30,000 users.
func BenchmarkLive(b *testing.B) {
	ctx := context.Background()
	dsn := seedUsers(b, 10_000, 20_000)
	r, err := Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	var emails []string
	for i := range 3_000 {
		switch {
		case i < 500:
			emails = append(emails, fmt.Sprintf("persona.%05d@mana.test", i+1))
		case i < 1_000:
			emails = append(emails, fmt.Sprintf("User.%05d@example.test", i+1))
		default:
			emails = append(emails, fmt.Sprintf("persona.new%05d@mana.test", i))
		}
	}

	lowered := make([]string, len(emails))
	for i, e := range emails {
		lowered[i] = strings.ToLower(e)
	}

	b.Run("personas-10k/reader", func(b *testing.B) {
		for b.Loop() {
			got, err := r.Personas(ctx)
			if err != nil || len(got) != 10_000 {
				b.Fatalf("%d personas, %v", len(got), err)
			}
		}
	})
	b.Run("personas-10k/bare", func(b *testing.B) {
		for b.Loop() {
			if n := bare(b, conn, PersonasQuery, time.Now().Add(-7*24*time.Hour)); n != 10_000 {
				b.Fatalf("%d rows", n)
			}
		}
	})
	b.Run("owners-3000-of-30k/reader", func(b *testing.B) {
		for b.Loop() {
			got, err := r.AddressOwners(ctx, emails)
			if err != nil || len(got) != len(emails) {
				b.Fatalf("%d owners, %v", len(got), err)
			}
		}
	})
	b.Run("owners-3000-of-30k/bare", func(b *testing.B) {
		for b.Loop() {
			if n := bare(b, conn, AddressHoldersQuery, lowered); n != 1_000 {
				b.Fatalf("%d rows, want 1,000", n)
			}
		}
	})
	b.Run("owners-3000-of-30k/any-array", func(b *testing.B) {
		// lower(email) = ANY($1), for comparison: the array is searched
		// row by row.
		for b.Loop() {
			if n := bare(b, conn, `SELECT lower(u.email), u.kind::text FROM auth.users u WHERE lower(u.email) = ANY($1)`, lowered); n != 1_000 {
				b.Fatalf("%d rows, want 1,000", n)
			}
		}
	})
}
