package postgres_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Environment of the database tests.
const (
	// urlEnv names the server the tests create their databases on.
	urlEnv = "PERSONACTL_TEST_DATABASE_URL"
	// requireEnv=1 makes an unreachable server a failure instead of a skip (CI sets it).
	requireEnv = "PERSONACTL_REQUIRE_DB"
	defaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
)

// server is the test server, reached once and shared by the package's tests.
var server struct {
	once  sync.Once
	admin string // DSN of the maintenance database
	err   error

	mu      sync.Mutex
	created []string // databases to drop when the tests end
	shared  string   // DSN of the database the conformance suite shares
}

// adminDSN returns the server's DSN, or skips the test (fails it with
// PERSONACTL_REQUIRE_DB=1) when no server answers.
func adminDSN(t testing.TB) string {
	t.Helper()
	server.once.Do(func() {
		server.admin = os.Getenv(urlEnv)
		if server.admin == "" {
			server.admin = defaultURL
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, server.admin)
		if err != nil {
			server.err = err
			return
		}
		conn.Close(ctx)
	})
	if server.err != nil {
		msg := fmt.Sprintf("PostgreSQL not reachable through %s (%v); set %s to a server where this user may create databases", urlEnv, server.err, urlEnv)
		if os.Getenv(requireEnv) == "1" {
			t.Fatalf("%s (%s=1 requires it)", msg, requireEnv)
		}
		t.Skipf("%s, or %s=1 to make this a failure", msg, requireEnv)
	}
	return server.admin
}

// newDatabase creates an empty database and returns its DSN; it is dropped
// when the package's tests end.
func newDatabase(t testing.TB) string {
	t.Helper()
	admin := adminDSN(t)
	name := "personactl_test_" + strings.ToLower(rand.Text()[:12])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database %s: %v; the user of %s needs CREATEDB", name, err, urlEnv)
	}
	server.mu.Lock()
	server.created = append(server.created, name)
	server.mu.Unlock()
	return withDatabase(t, admin, name)
}

// sharedDatabase returns the DSN of the database most tests share, each in
// workspaces of its own.
func sharedDatabase(t testing.TB) string {
	t.Helper()
	adminDSN(t)
	server.mu.Lock()
	dsn := server.shared
	server.mu.Unlock()
	if dsn == "" {
		dsn = newDatabase(t)
		server.mu.Lock()
		server.shared = dsn
		server.mu.Unlock()
	}
	return dsn
}

// withDatabase returns dsn pointing at database name instead.
func withDatabase(t testing.TB, dsn, name string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		u.Path = "/" + name
		return u.String()
	}
	return dsn + " dbname=" + name // keyword=value form: the last setting wins
}

// dropDatabases drops every database the tests created.
func dropDatabases() {
	server.mu.Lock()
	defer server.mu.Unlock()
	if len(server.created) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, server.admin)
	if err != nil {
		fmt.Fprintf(os.Stderr, "drop test databases %v: %v\n", server.created, err)
		return
	}
	defer conn.Close(ctx)
	for _, name := range server.created {
		// FORCE ends connections of helper processes the server has not
		// yet noticed are gone.
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "drop test database %s: %v\n", name, err)
		}
	}
}

// exec runs one statement on dsn's database, for tests that reach behind the backend.
func exec(t *testing.T, dsn, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
