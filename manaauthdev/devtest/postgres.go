package devtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mana/personactl/manaauthdev"
)

// DefaultDatabaseURL is where WithPostgres creates its databases when
// PERSONACTL_TEST_DATABASE_URL is not set.
const DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// WithPostgres keeps the data in a fresh PostgreSQL database, created from
// PERSONACTL_TEST_DATABASE_URL (default DefaultDatabaseURL) and dropped
// when the test ends. When the server cannot be reached the test is
// skipped with a message, or fails if PERSONACTL_REQUIRE_DB=1.
func WithPostgres() Option { return func(c *config) { c.postgres = true } }

// FreshDatabase creates an empty database on the test server and returns
// its address; it is dropped when the test ends. It skips or fails the test
// as WithPostgres does when the server cannot be reached.
func FreshDatabase(t testing.TB) string {
	t.Helper()
	base := os.Getenv("PERSONACTL_TEST_DATABASE_URL")
	if base == "" {
		base = DefaultDatabaseURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		msg := fmt.Sprintf("PostgreSQL is not reachable at %s: %v", redact(base), err)
		if os.Getenv("PERSONACTL_REQUIRE_DB") == "1" {
			t.Fatalf("%s (PERSONACTL_REQUIRE_DB=1)", msg)
		}
		t.Skipf("%s; skipping (set PERSONACTL_TEST_DATABASE_URL to a server, or PERSONACTL_REQUIRE_DB=1 to make this a failure)", msg)
	}
	name := "manaauthdev_" + strings.ToLower(manaauthdev.NewID()[:16])
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close(ctx)
		t.Fatalf("creating database %s at %s: %v", name, redact(base), err)
	}
	admin.Close(ctx)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("dropping database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping database %s: %v", name, err)
		}
	})
	dsn, err := withDatabase(base, name)
	if err != nil {
		t.Fatalf("PERSONACTL_TEST_DATABASE_URL: %v", err)
	}
	return dsn
}

func startPostgres(t testing.TB) manaauthdev.Store {
	t.Helper()
	dsn := FreshDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	store, err := manaauthdev.OpenPostgres(ctx, dsn)
	if err != nil {
		t.Fatalf("mana-auth-dev: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// withDatabase returns dsn pointing at database name instead.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", err
		}
		u.Path = "/" + name
		return u.String(), nil
	}
	return dsn + " dbname=" + name, nil // key=value form: the last one wins
}

func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	return "the configured server"
}
