package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mana/personactl/apply"
)

// parallelism is personactl's --parallelism (its default) and the bare
// loops' requests in flight.
const parallelism = 10

// config is one benchmark run.
type config struct {
	Sizes       []int    // personas per row group
	Stores      []string // "memory", "postgres"
	DB          string   // the PostgreSQL server the postgres store's databases are created on
	Repeat      int      // runs of each read-only row, the median shown
	WriteRepeat int      // runs of apply and destroy, each pair against the same data, the median shown
	Pending     int      // creates pending in the plan --live row of the largest size
	Users       int      // rows of the users table in that row
	Personactl  string   // the personactl binary
	Self        string   // this program, started again for the lower bounds
	Dir         string   // scratch directory
	Log         io.Writer
}

// bench runs every row of cfg and returns them in the table's order.
// A row that fails carries its error; a PostgreSQL server that cannot
// be reached fails the whole run.
func bench(ctx context.Context, cfg config) ([]row, error) {
	largest := cfg.Sizes[len(cfg.Sizes)-1]
	var rows []row
	for _, store := range cfg.Stores {
		for _, n := range cfg.Sizes {
			if err := ctx.Err(); err != nil {
				return rows, fmt.Errorf("interrupted: %w", err)
			}
			got, err := benchStore(ctx, cfg, store, n, n == largest)
			rows = append(rows, got...)
			if err != nil {
				return rows, err
			}
		}
	}
	return rows, nil
}

// group is one store and size: its server, catalog and converged state.
type group struct {
	cfg     config
	srv     *server
	store   string
	n       int
	dir     string
	catalog string
	state   string // the state personactl's apply wrote: catalog = recorded = live
	rows    int    // fresh state directories made so far
}

func (g *group) logf(format string, args ...any) {
	if g.cfg.Log != nil {
		fmt.Fprintf(g.cfg.Log, "%s %s n=%d: %s\n", time.Now().Format("15:04:05"), g.store, g.n, fmt.Sprintf(format, args...))
	}
}

// benchStore measures plan, apply, destroy and (on PostgreSQL) plan --live
// for n personas against one mana-auth-dev. Apply and destroy run
// cfg.WriteRepeat times each, their lower bounds as often, alternating
// which goes first: the bare apply and destroy (they leave the server
// empty), and personactl's apply and destroy; the read-only rows run
// between personactl's first apply and its destroy.
func benchStore(ctx context.Context, cfg config, store string, n int, largest bool) ([]row, error) {
	srv, err := startServer(ctx, store, cfg.DB)
	if err != nil {
		return nil, err
	}
	defer srv.close()
	g := &group{cfg: cfg, srv: srv, store: store, n: n, dir: filepath.Join(cfg.Dir, fmt.Sprintf("%s-%d", store, n))}
	if err := os.MkdirAll(g.dir, 0o755); err != nil {
		return nil, err
	}
	g.catalog = filepath.Join(g.dir, "catalog.json")
	if err := writeCatalog(g.catalog, catalogOf(n, 0)); err != nil {
		return nil, err
	}

	apply := row{Work: "apply: creates", Store: store, N: n, Bound: "bare list, users search per persona, then upsert per persona"}
	destroy := row{Work: "destroy", Store: store, N: n, Bound: "bare list + details, then bare DELETE per persona"}
	if n >= 10_000 {
		apply.Target, destroy.Target = ratioTarget(1.5), ratioTarget(1.5)
	}
	failed := func(r *row, err error) error { // the row's error, and the run's
		r.Err = err
		return err
	}
	var readOnly []row
	var applies, applyBounds, destroys, destroyBounds []measure
	bound := func() error {
		g.logf("bare apply")
		m, err := g.bare(ctx, "bare-apply", n, "-n", strconv.Itoa(n))
		if err != nil {
			return failed(&apply, err)
		}
		applyBounds = append(applyBounds, m)
		g.logf("bare destroy")
		if m, err = g.bare(ctx, "bare-destroy", 0); err != nil {
			return failed(&destroy, err)
		}
		destroyBounds = append(destroyBounds, m)
		return nil
	}
	ours := func() error {
		g.logf("personactl apply")
		st := g.freshState("")
		m, err := g.personactl(ctx, n, []string{"apply", "--auto-approve"}, g.catalog, st, true, "Apply complete!")
		if err != nil {
			return failed(&apply, err)
		}
		applies, g.state = append(applies, m), st
		if len(applies) == 1 {
			readOnly = g.readOnlyRows(ctx, largest)
		}
		g.logf("personactl destroy")
		if m, err = g.personactl(ctx, 0, []string{"destroy", "--auto-approve"}, g.catalog, g.freshState(g.state), true, "Destroy complete!"); err != nil {
			return failed(&destroy, err)
		}
		destroys = append(destroys, m)
		return nil
	}
	_ = alternate(cfg.WriteRepeat, bound, ours) // a failure is its row's error
	if apply.Err == nil {
		apply.Ours, apply.Lower = medianRun(applies), medianRun(applyBounds)
	} else if destroy.Err == nil {
		destroy.Err = errors.New("not run: the apply row failed")
	}
	if destroy.Err == nil {
		destroy.Ours, destroy.Lower = medianRun(destroys), medianRun(destroyBounds)
	}
	rows := append([]row{apply}, readOnly...)
	return append(rows, destroy), nil
}

// readOnlyRows measures plan over the API and, on PostgreSQL, plan --live,
// against the personas personactl's apply just created.
func (g *group) readOnlyRows(ctx context.Context, largest bool) []row {
	n, store, srv := g.n, g.store, g.srv
	planRow := row{Work: "plan (API), converged", Store: store, N: n, Bound: "bare list + detail per persona"}
	if n >= 10_000 {
		planRow.Target = ratioTarget(1.5)
	}
	g.logf("plan")
	planRow.Ours, planRow.Lower, planRow.Err = g.pair(ctx,
		func() (measure, error) {
			return g.personactl(ctx, n, []string{"plan"}, g.catalog, g.freshState(g.state), true, "No changes.")
		},
		func() (measure, error) { return g.bare(ctx, "bare-plan", n) })
	rows := []row{planRow}

	if store == "postgres" {
		live := row{Work: "plan --live, converged", Store: store, N: n, Bound: "bare personas query through pgx"}
		if n >= 10_000 {
			live.Target = wallTarget(time.Second)
		}
		g.logf("plan --live")
		live.Ours, live.Lower, live.Err = g.pair(ctx,
			func() (measure, error) {
				return g.personactl(ctx, n, []string{"plan", "--live=" + srv.dsn}, g.catalog, g.freshState(g.state), false, "No changes.")
			},
			func() (measure, error) { return g.bare(ctx, "bare-live", n, "-dsn", srv.dsn) })
		rows = append(rows, live)
		if largest && g.cfg.Pending > 0 {
			rows = append(rows, g.pending(ctx))
		}
	}
	return rows
}

// pending measures plan --live with cfg.Pending creates pending and the
// users table grown to cfg.Users rows of people: personactl must check
// every address it would create against them.
func (g *group) pending(ctx context.Context) row {
	cfg := g.cfg
	r := row{Work: fmt.Sprintf("plan --live, %s creates pending, %s users", apply.Thousands(cfg.Pending), apply.Thousands(cfg.Users)), Store: g.store, N: g.n + cfg.Pending,
		Bound: "bare personas query + bulk address query", Target: wallTarget(1500 * time.Millisecond)}
	g.logf("plan --live with %d creates pending", cfg.Pending)
	if err := g.srv.seedUsers(ctx, cfg.Users); err != nil {
		r.Err = fmt.Errorf("seeding the users table: %w", err)
		return r
	}
	defer g.srv.dropSeededUsers(ctx)
	cat := filepath.Join(g.dir, "catalog-pending.json")
	addrs := filepath.Join(g.dir, "pending.txt")
	var list strings.Builder
	for i := range cfg.Pending {
		list.WriteString(pendingEmail(i) + "\n")
	}
	if r.Err = writeCatalog(cat, catalogOf(g.n, cfg.Pending)); r.Err != nil {
		return r
	}
	if r.Err = os.WriteFile(addrs, []byte(list.String()), 0o644); r.Err != nil {
		return r
	}
	want := fmt.Sprintf("Plan: %d to create, 0 to update, 0 to delete.", cfg.Pending)
	r.Ours, r.Lower, r.Err = g.pair(ctx,
		func() (measure, error) {
			return g.personactl(ctx, g.n, []string{"plan", "--live=" + g.srv.dsn}, cat, g.freshState(g.state), false, want)
		},
		func() (measure, error) { return g.bare(ctx, "bare-live", g.n, "-dsn", g.srv.dsn, "-pending", addrs) })
	return r
}

// pair runs personactl's side and the lower bound cfg.Repeat times each
// (see alternate) and returns the runs of median wall time.
func (g *group) pair(ctx context.Context, ours, lower func() (measure, error)) (measure, measure, error) {
	var a, b []measure
	err := alternate(g.cfg.Repeat,
		func() error { m, err := ours(); a = append(a, m); return err },
		func() error { m, err := lower(); b = append(b, m); return err })
	if err != nil {
		return measure{}, measure{}, err
	}
	return medianRun(a), medianRun(b), nil
}

// alternate runs a and b n times each (at least once), alternating which
// goes first so that both meet the same machine; it stops at the first
// failure.
func alternate(n int, a, b func() error) error {
	for i := range max(1, n) {
		first, second := a, b
		if i%2 == 1 {
			first, second = b, a
		}
		if err := first(); err != nil {
			return err
		}
		if err := second(); err != nil {
			return err
		}
	}
	return nil
}

// medianRun is the run of median wall time.
func medianRun(ms []measure) measure {
	walls := make([]time.Duration, len(ms))
	for i, m := range ms {
		walls[i] = m.Wall
	}
	mid := median(walls)
	for _, m := range ms {
		if m.Wall == mid {
			return m
		}
	}
	return ms[0]
}

// freshState makes a new directory for one row's state, holding a copy of
// the state files at from (none when from is empty), and returns the
// state's path there.
func (g *group) freshState(from string) string {
	g.rows++
	dir := filepath.Join(g.dir, "state-"+strconv.Itoa(g.rows))
	os.MkdirAll(dir, 0o755)
	to := filepath.Join(dir, "personactl.state.json")
	if from != "" {
		matches, _ := filepath.Glob(from + "*")
		for _, m := range matches {
			if data, err := os.ReadFile(m); err == nil {
				os.WriteFile(filepath.Join(dir, filepath.Base(m)), data, 0o600)
			}
		}
	}
	return to
}

// personactl runs the built binary against the server, checks that it
// succeeded with want in its output and that the server holds wantLive
// personas afterwards, and returns what it cost.
func (g *group) personactl(ctx context.Context, wantLive int, args []string, catalogPath, statePath string, token bool, want string) (measure, error) {
	env := append(baseEnv(), "MANA_AUTH_URL="+g.srv.url, "PERSONACTL_CATALOG="+catalogPath, "PERSONACTL_STATE="+statePath, "NO_COLOR=1")
	if token {
		env = append(env, "MANA_ADMIN_JWT="+g.srv.token)
	}
	args = append(args, "--parallelism="+strconv.Itoa(parallelism))
	return g.measure(ctx, "personactl "+args[0], proc{path: g.cfg.Personactl, args: args, env: env}, wantLive, want)
}

// bare runs a lower bound in a child process and checks that the server
// holds wantLive personas afterwards.
func (g *group) bare(ctx context.Context, job string, wantLive int, args ...string) (measure, error) {
	env := append(baseEnv(), "MANA_ADMIN_JWT="+g.srv.token)
	p := proc{path: g.cfg.Self, args: append([]string{"-url", g.srv.url}, args...), env: env, job: job}
	return g.measure(ctx, "the lower bound "+job, p, wantLive, "")
}

// measure runs p (named who) against the settled server, checks that it
// succeeded with want in its output and left wantLive personas, and
// returns what it cost.
func (g *group) measure(ctx context.Context, who string, p proc, wantLive int, want string) (measure, error) {
	if err := g.srv.settle(ctx); err != nil {
		return measure{}, fmt.Errorf("vacuuming the database before %s: %w", who, err)
	}
	before := g.srv.counts()
	p.self = g.cfg.Self
	m, out, err := p.run(ctx)
	m.Requests = g.srv.since(before)
	if err != nil {
		return m, fmt.Errorf("%s: %w", who, err)
	}
	if !strings.Contains(string(out), want) {
		return m, fmt.Errorf("%s did not print %q; it ended with:\n%s", who, want, lastLines(string(out), 5))
	}
	got, err := g.srv.personas(ctx)
	if err != nil {
		return m, fmt.Errorf("counting live personas after %s: %w", who, err)
	}
	if got != wantLive {
		return m, fmt.Errorf("after %s the server holds %d personas, want %d", who, got, wantLive)
	}
	return m, nil
}

// baseEnv is the environment every child starts from: enough to run, and
// nothing of the caller's personactl settings (no seed secret: the public
// development one is in effect, as on a developer's machine).
func baseEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "GOCOVERDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}
