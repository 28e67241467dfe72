package main

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mana/personactl/state/adminapi"
)

// TestMain lets the test binary stand in for the program when the
// benchmark starts itself again for a lower bound.
func TestMain(m *testing.M) {
	if job := os.Getenv(childEnv); job != "" {
		os.Exit(childMain(job, os.Args[1:], os.Stderr))
	}
	os.Exit(m.Run())
}

// builtPersonactl builds personactl once for the tests of this package.
func builtPersonactl(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	path, err := buildPersonactl(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// databaseURL returns the test PostgreSQL server, or skips (fails with
// PERSONACTL_REQUIRE_DB=1) when it cannot be reached.
func databaseURL(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("PERSONACTL_TEST_DATABASE_URL")
	if dsn == "" {
		dsn = defaultDB
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		if os.Getenv("PERSONACTL_REQUIRE_DB") == "1" {
			t.Fatalf("PostgreSQL is not reachable at %s: %v (PERSONACTL_REQUIRE_DB=1)", adminapi.Redact(dsn), err)
		}
		t.Skipf("PostgreSQL is not reachable at %s: %v; skipping the postgres rows (set PERSONACTL_TEST_DATABASE_URL, or PERSONACTL_REQUIRE_DB=1 to fail)", adminapi.Redact(dsn), err)
	}
	conn.Close(ctx)
	return dsn
}

// tableRows returns the table's data rows, keyed by work, store and
// personas, each as its cells.
func tableRows(t *testing.T, out string) map[string][]string {
	t.Helper()
	rows := map[string][]string{}
	for i, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "|") || i < 2 {
			continue
		}
		var cells []string
		for _, c := range strings.Split(strings.Trim(line, "|"), "|") {
			cells = append(cells, strings.TrimSpace(c))
		}
		if len(cells) != len(columns) {
			t.Fatalf("row has %d cells, the header %d: %s", len(cells), len(columns), line)
		}
		rows[cells[0]+" / "+cells[1]+" / "+cells[2]] = cells
	}
	return rows
}

// TestSmallRows runs every row at 10 personas, in memory and on
// PostgreSQL, and checks the table: every row there, both sides sending
// the same requests, ratios that are numbers, nothing failed.
func TestSmallRows(t *testing.T) {
	binary := builtPersonactl(t)
	for _, tt := range []struct {
		store string
		rows  []string
	}{
		{"memory", []string{"apply: creates", "plan (API), converged", "destroy"}},
		{"postgres", []string{"apply: creates", "plan (API), converged", "plan --live, converged", "destroy"}},
	} {
		t.Run(tt.store, func(t *testing.T) {
			args := []string{"--sizes=10", "--stores=" + tt.store, "--repeat=1", "--write-repeat=1", "--pending=20", "--users=300", "--quiet", "--personactl=" + binary}
			if tt.store == "postgres" {
				args = append(args, "--db="+databaseURL(t))
			}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), args, &stdout, &stderr)
			out := stdout.String()
			if code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr.String())
			}
			rows := tableRows(t, out)
			want := append([]string{}, tt.rows...)
			if tt.store == "postgres" {
				want = append(want, "plan --live, 20 creates pending, 300 users")
			}
			for _, work := range want {
				n := "10"
				if strings.Contains(work, "pending") {
					n = "30"
				}
				cells, ok := rows[work+" / "+tt.store+" / "+n]
				if !ok {
					t.Errorf("no row %q for %s at %s personas in:\n%s", work, tt.store, n, out)
					continue
				}
				checkRow(t, cells)
			}
			if !strings.Contains(out, "Machine: ") {
				t.Errorf("the machine is not described:\n%s", out)
			}
		})
	}
}

// checkRow checks a row's cells: a positive ratio, a verdict of ok, and
// the same number of requests on both sides.
func checkRow(t *testing.T, cells []string) {
	t.Helper()
	col := func(name string) string {
		for i, c := range columns {
			if c == name {
				return cells[i]
			}
		}
		t.Fatalf("no column %q", name)
		return ""
	}
	ratio, err := strconv.ParseFloat(col("ratio"), 64)
	if err != nil || ratio <= 0 {
		t.Errorf("%s: ratio %q is not a positive number", cells[0], col("ratio"))
	}
	if !strings.HasPrefix(col("verdict"), "ok") {
		t.Errorf("%s: verdict %q", cells[0], col("verdict"))
	}
	if col("requests") != col("bound requests") {
		t.Errorf("%s: personactl sent %s requests, the lower bound %s", cells[0], col("requests"), col("bound requests"))
	}
	if col("wall") == "-" || col("peak RSS") == "-" || col("bound RSS") == "-" {
		t.Errorf("%s: a measure is missing: %q", cells[0], cells)
	}
}

func TestVerdict(t *testing.T) {
	reqs := map[string]int{"GET /api/v1/admin/personas": 1}
	base := row{Work: "plan", Bound: "bare", Ours: measure{Wall: 130 * time.Millisecond, RSS: 20 << 20, Requests: reqs}, Lower: measure{Wall: 100 * time.Millisecond, Requests: reqs}}
	for _, tt := range []struct {
		name string
		edit func(*row)
		want string
	}{
		{"within its ratio", func(r *row) { r.Target = ratioTarget(1.5) }, "ok ≤ 1.5×"},
		{"over its ratio", func(r *row) { r.Target = ratioTarget(1.2) }, "missed ≤ 1.2×"},
		{"over its wall time", func(r *row) { r.Target = wallTarget(100 * time.Millisecond) }, "missed < 100 ms"},
		{"too much memory", func(r *row) { r.Ours.RSS = 150 << 20 }, "RSS ≥ 150 MB"},
		{"other requests than its bound", func(r *row) { r.Lower.Requests = map[string]int{"GET /api/v1/admin/personas": 2} }, "requests differ"},
		{"no target", func(*row) {}, "ok"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := base
			tt.edit(&r)
			if got := r.verdict(); got != tt.want {
				t.Errorf("verdict = %q, want %q", got, tt.want)
			}
		})
	}
}
