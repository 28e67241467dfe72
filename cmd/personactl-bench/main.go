// Command personactl-bench measures personactl at scale and prints one
// table: plan over the admin API, apply of creates, destroy and plan
// --live, at each size, against mana-auth-dev in memory and on
// PostgreSQL, each beside its lower bound measured in the same run.
//
// personactl's side is the real binary (built once, or given with
// --personactl) run as a child process with --auto-approve, a fresh state
// per row and the same --parallelism (10) as the lower bound. Each lower bound
// (bare HTTP loops of the same requests with the same keep-alive
// transport, the bare query through pgx) is this program
// started again as a child, so that both sides' CPU time and peak resident
// set come from the operating system. mana-auth-dev is served from this
// process, whose request counters show that both sides sent the same
// requests.
//
// Usage:
//
//	go run ./cmd/personactl-bench [--sizes=10,1000,10000] [--stores=memory,postgres] [--db=postgres://…]
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// defaultDB is where the postgres store's databases are created unless
// --db or PERSONACTL_TEST_DATABASE_URL says otherwise.
const defaultDB = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

func main() {
	if job := os.Getenv(childEnv); job != "" {
		os.Exit(childMain(job, os.Args[1:], os.Stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run parses the flags, runs the benchmark and prints the table; it
// returns the exit status: 1 when a row failed or the two sides of a row
// did not send the same requests (a missed target is shown, not fatal).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("personactl-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sizes := fs.String("sizes", "10,1000,10000", "personas per row group, comma-separated, ascending")
	stores := fs.String("stores", "memory,postgres", "mana-auth-dev stores: memory, postgres or both")
	db := fs.String("db", cmp.Or(os.Getenv("PERSONACTL_TEST_DATABASE_URL"), defaultDB), "PostgreSQL server on which a database is created (and dropped) per group (default from PERSONACTL_TEST_DATABASE_URL)")
	repeat := fs.Int("repeat", 5, "runs of each read-only row, alternating with its lower bound; the median is shown")
	writeRepeat := fs.Int("write-repeat", 3, "runs of apply and destroy, each against fresh data and beside its lower bound, alternating which goes first; the median is shown")
	pending := fs.Int("pending", 3000, "creates pending in the plan --live row of the largest size")
	users := fs.Int("users", 30000, "rows of the users table in that row")
	binary := fs.String("personactl", "", "the personactl binary to measure (default: go build ./cmd/personactl once)")
	quiet := fs.Bool("quiet", false, "do not log progress on stderr")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg := config{DB: *db, Repeat: *repeat, WriteRepeat: *writeRepeat, Pending: *pending, Users: *users}
	if !*quiet {
		cfg.Log = stderr
	}
	var err error
	if cfg.Sizes, err = parseSizes(*sizes); err != nil {
		fmt.Fprintf(stderr, "personactl-bench: --sizes=%s: %v; give ascending numbers such as 10,1000,10000\n", *sizes, err)
		return 2
	}
	for _, s := range strings.Split(*stores, ",") {
		if s != "memory" && s != "postgres" {
			fmt.Fprintf(stderr, "personactl-bench: --stores=%s: unknown store %q; use memory, postgres or memory,postgres\n", *stores, s)
			return 2
		}
		cfg.Stores = append(cfg.Stores, s)
	}
	if cfg.Self, err = os.Executable(); err != nil {
		fmt.Fprintf(stderr, "personactl-bench: finding this program to start its lower bounds: %v\n", err)
		return 1
	}
	if cfg.Dir, err = os.MkdirTemp("", "personactl-bench-"); err != nil {
		fmt.Fprintf(stderr, "personactl-bench: %v; set TMPDIR to a writable directory\n", err)
		return 1
	}
	defer os.RemoveAll(cfg.Dir)
	if cfg.Personactl = *binary; cfg.Personactl == "" {
		if cfg.Personactl, err = buildPersonactl(ctx, cfg.Dir); err != nil {
			fmt.Fprintf(stderr, "personactl-bench: %v\n", err)
			return 1
		}
	}

	began := time.Now()
	rows, err := bench(ctx, cfg)
	render(stdout, rows)
	fmt.Fprintf(stdout, "\n%s; took %s.\n", machine(), time.Since(began).Round(time.Second))
	if err != nil {
		fmt.Fprintf(stderr, "personactl-bench: %v\n", err)
		return 1
	}
	for _, r := range rows {
		if r.failed() {
			return 1
		}
	}
	return 0
}

// parseSizes reads an ascending list of positive numbers.
func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(strings.ReplaceAll(f, "_", "")))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		if len(out) > 0 && n <= out[len(out)-1] {
			return nil, errors.New("the sizes must ascend")
		}
		out = append(out, n)
	}
	return out, nil
}

// buildPersonactl builds the binary once, as `make build` does, from the
// module the working directory is in.
func buildPersonactl(ctx context.Context, dir string) (string, error) {
	out := filepath.Join(dir, "personactl")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "github.com/mana/personactl/cmd/personactl")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building personactl: %v\n%s; run from inside the personactl module, or pass --personactl=PATH", err, msg)
	}
	return out, nil
}
