package ci

import (
	"context"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mana/personactl/manaauthdev"
	"github.com/mana/personactl/manaauthdev/devtest"
)

// TestPlanPRWithTheReadOnlyRole runs the workflows as they are meant to be
// set up: deploys on the Postgres state backend, and the pull-request plan
// with no admin token, as the role plan-role.sql creates (executed as
// written): --live reads mana-auth's database and the state is read as
// that role. The same role cannot deploy.
func TestPlanPRWithTheReadOnlyRole(t *testing.T) {
	t.Parallel()
	base := os.Getenv("PERSONACTL_TEST_DATABASE_URL")
	if base == "" {
		base = devtest.DefaultDatabaseURL
	}
	role := "personactl_plan_" + strings.ToLower(manaauthdev.NewID()[:12])
	// Registered first, so it runs after the databases are dropped.
	t.Cleanup(func() { execSQL(t, base, "DROP ROLE IF EXISTS "+role) })
	liveDB := devtest.FreshDatabase(t) // skips, or fails with PERSONACTL_REQUIRE_DB=1, without a server
	stateDB := devtest.FreshDatabase(t)

	w := newWorld(t, liveDB)
	w.env["PERSONACTL_STATE"] = stateDB
	testDeploy(t, w)

	sections := roleSQL(t, role)
	execSQL(t, base, sections["server"])
	execSQL(t, liveDB, sections["mana-auth database"])
	execSQL(t, stateDB, sections["state database"])

	ps := w.examplePersonas()
	ps[3]["tickCadence"] = "daily"
	w.writeCatalog(ps)
	readOnly := []string{
		"MANA_ADMIN_JWT=",
		"PERSONACTL_LIVE_DSN=" + as(t, liveDB, role),
		"PERSONACTL_STATE=" + as(t, stateDB, role),
	}
	w.reset()
	r := w.must(0, "plan-pr.sh", readOnly)
	mine := w.prComments(bot)
	if len(mine) != 1 || !strings.Contains(mine[0].Body, "Plan: 0 to create, 1 to update, 0 to delete.") || !strings.Contains(mine[0].Body, exampleSam) {
		t.Fatalf("the read-only plan comment does not show Sam's update:\n%v\n%s", mine, r)
	}
	if !strings.Contains(w.file("output"), "changes=true") {
		t.Errorf("GITHUB_OUTPUT = %q", w.file("output"))
	}

	// With an admin token but the read-only state, a deploy cannot even start.
	before := w.live()
	r = w.run("personactl", []string{"PERSONACTL_STATE=" + as(t, stateDB, role)}, "apply", "--auto-approve")
	if r.code != 1 || !strings.Contains(r.errout, "permission denied") {
		t.Errorf("apply with the read-only state role: want exit 1, refused by the database, got\n%s", r)
	}
	for email, v := range w.live() {
		if before[email] != v {
			t.Errorf("%s changed through the read-only role: %s -> %s", email, before[email], v)
		}
	}
}

// roleSQL returns the sections of plan-role.sql ("-- [name]" headings),
// for role instead of personactl_plan.
func roleSQL(t *testing.T, role string) map[string]string {
	t.Helper()
	b, err := os.ReadFile("plan-role.sql")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	name := ""
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "-- [") && strings.HasSuffix(line, "]") {
			name = strings.TrimSuffix(strings.TrimPrefix(line, "-- ["), "]")
			continue
		}
		if name != "" {
			out[name] += strings.ReplaceAll(line, "personactl_plan", role) + "\n"
		}
	}
	for _, want := range []string{"server", "mana-auth database", "state database"} {
		if !strings.Contains(out[want], role) {
			t.Fatalf("plan-role.sql has no section %q granting anything", want)
		}
	}
	return out
}

func execSQL(t *testing.T, dsn, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connecting to run SQL: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// as returns dsn with user role (and the password plan-role.sql sets).
func as(t *testing.T, dsn, role string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(role, "change-me")
	return u.String()
}
