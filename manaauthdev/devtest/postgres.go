package devtest

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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
// skipped with a message, or fails if PERSONACTL_REQUIRE_DB=1. The
// database is copied from a template holding the auth schema
// (manaauthdev_template_<hash of the schema>), which stays on the server so
// that the next test does not build the schema again.
func WithPostgres() Option { return func(c *config) { c.postgres = true } }

// FreshDatabase creates an empty database on the test server and returns
// its address; it is dropped when the test ends. It skips or fails the test
// as WithPostgres does when the server cannot be reached.
func FreshDatabase(t testing.TB) string {
	t.Helper()
	return freshDatabase(t, "")
}

// templateLock is the advisory lock (taken in the server's base database)
// under which test processes look for the template and create it.
const templateLock = 7247362

// ErrNoServer is CreateDatabase's error when the server cannot be reached.
var ErrNoServer = errors.New("PostgreSQL is not reachable")

// CreateDatabase creates a database on the PostgreSQL server at base, a
// copy of template when it is set (the template is made first, holding
// the auth schema, if it is missing), and returns its address and a
// function that drops it.
func CreateDatabase(ctx context.Context, base, template string) (dsn string, drop func() error, err error) {
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", nil, fmt.Errorf("%w at %s: %v", ErrNoServer, redact(base), err)
	}
	defer admin.Close(context.Background())
	name := "manaauthdev_" + strings.ToLower(manaauthdev.NewID()[:16])
	create := "CREATE DATABASE " + name
	if template != "" {
		if err := ensureTemplate(ctx, admin, base, template); err != nil {
			return "", nil, fmt.Errorf("preparing the template database %s at %s: %w", template, redact(base), err)
		}
		create += " TEMPLATE " + template
	}
	if _, err := admin.Exec(ctx, create); err != nil {
		return "", nil, fmt.Errorf("creating database %s at %s: %w", name, redact(base), err)
	}
	drop = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err == nil {
			defer conn.Close(ctx)
			_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		}
		if err != nil {
			return fmt.Errorf("dropping database %s: %w", name, err)
		}
		return nil
	}
	if dsn, err = withDatabase(base, name); err != nil {
		drop()
		return "", nil, fmt.Errorf("the server's address: %w", err)
	}
	return dsn, drop, nil
}

// freshDatabase creates a database, as a copy of template when it is set,
// dropped when the test ends.
func freshDatabase(t testing.TB, template string) string {
	t.Helper()
	base := cmp.Or(os.Getenv("PERSONACTL_TEST_DATABASE_URL"), DefaultDatabaseURL)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dsn, drop, err := CreateDatabase(ctx, base, template)
	switch {
	case errors.Is(err, ErrNoServer) && os.Getenv("PERSONACTL_REQUIRE_DB") != "1":
		t.Skipf("%v; skipping (set PERSONACTL_TEST_DATABASE_URL to a server, or PERSONACTL_REQUIRE_DB=1 to make this a failure)", err)
	case errors.Is(err, ErrNoServer):
		t.Fatalf("%v (PERSONACTL_REQUIRE_DB=1)", err)
	case err != nil:
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Error(err)
		}
	})
	return dsn
}

// ensureTemplate creates the template database holding the auth schema,
// unless it exists. It is built under another name and renamed when
// complete, so a template that exists is always whole and has nobody
// connected to it, which copying it requires.
func ensureTemplate(ctx context.Context, admin *pgx.Conn, base, template string) error {
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock($1)", templateLock); err != nil {
		return err
	}
	defer admin.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", templateLock)
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", template).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	building := template + "_building"
	for _, sql := range []string{"DROP DATABASE IF EXISTS " + building + " WITH (FORCE)", "CREATE DATABASE " + building} {
		if _, err := admin.Exec(ctx, sql); err != nil {
			return err
		}
	}
	dsn, err := withDatabase(base, building)
	if err != nil {
		return err
	}
	store, err := manaauthdev.OpenPostgres(ctx, dsn)
	if err != nil {
		return err
	}
	store.Close()
	_, err = admin.Exec(ctx, "ALTER DATABASE "+building+" RENAME TO "+template)
	return err
}

// schemaTemplate names the template database of the current auth schema:
// a change of the schema gives a new template.
func schemaTemplate() string {
	sum := sha256.Sum256([]byte(manaauthdev.SchemaSQL))
	return "manaauthdev_template_" + hex.EncodeToString(sum[:6])
}

func startPostgres(t testing.TB) manaauthdev.Store {
	t.Helper()
	dsn := freshDatabase(t, schemaTemplate())
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
