package ci

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mana/personactl/manaauthdev"
	"github.com/mana/personactl/manaauthdev/devtest"
)

// roleDatabases names a plan role, dropped when the test ends, and makes
// a mana-auth database and a state database for it. Without a server it
// skips, or fails with PERSONACTL_REQUIRE_DB=1.
func roleDatabases(t *testing.T) (role, liveDB, stateDB string) {
	role = "personactl_plan_" + strings.ToLower(manaauthdev.NewID()[:12])
	// Registered first, so it runs after the databases are dropped.
	t.Cleanup(func() { execSQL(t, serverURL(), "DROP ROLE IF EXISTS "+role) })
	return role, devtest.FreshDatabase(t), devtest.FreshDatabase(t)
}

// grantPlanRole runs plan-role.sql as CI would: the role on the server,
// its grants in each database.
func grantPlanRole(t *testing.T, role, liveDB, stateDB string) {
	sections := roleSQL(t, role)
	execSQL(t, serverURL(), sections["server"])
	execSQL(t, liveDB, sections["mana-auth database"])
	execSQL(t, stateDB, sections["state database"])
}

func serverURL() string {
	return cmp.Or(os.Getenv("PERSONACTL_TEST_DATABASE_URL"), devtest.DefaultDatabaseURL)
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

// TestPlanRoleReadsNoOtherUser: the role plan-role.sql creates reads, of
// mana-auth's users, only the persona rows and, for an address asked
// exactly, who holds it: tried as that role on every object it is granted
// (wildcards, empty arrays, NULLs and letter case as inputs), nothing
// shows a person's name or an address not asked for, and the auth tables
// are closed to it. Plans made through it are those made through the
// admin API.
func TestPlanRoleReadsNoOtherUser(t *testing.T) {
	t.Parallel()
	role, liveDB, stateDB := roleDatabases(t)
	w := newWorld(t, liveDB)
	w.env["PERSONACTL_STATE"] = stateDB
	w.must(0, "personactl", nil, "apply", "--auto-approve")

	// A person (signed in), a system user, and a persona row whose user
	// is a person now: none of their addresses, names or ids may be read
	// unless the address is asked for, and no name ever.
	const person, personName = "secret.person@example.test", "Secret Person Name"
	execSQL(t, liveDB, `
INSERT INTO auth.users (id, name, email, kind) VALUES
  ('u-person', '`+personName+`', '`+person+`', 'human'),
  ('u-system', 'System Account Name', 'system.account@example.test', 'system');
INSERT INTO auth.sessions (id, token, user_id, expires_at) VALUES ('s1', 't1', 'u-person', now() + interval '1 hour');
UPDATE auth.users SET kind = 'human', name = 'Former Persona Name' WHERE email = '`+exampleSam+`';`)
	secrets := []string{person, personName, "u-person", "system.account@example.test", "System Account Name", "u-system", exampleSam, "Former Persona Name"}

	grantPlanRole(t, role, liveDB, stateDB)

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, as(t, liveDB, role))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// read runs one query as the role and returns all it answered as text.
	read := func(sql string, args ...any) string {
		t.Helper()
		rows, err := conn.Query(ctx, sql, args...)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		var out strings.Builder
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(&out, vals...)
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return out.String()
	}
	leaks := func(what, got string, asked ...string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(strings.ToLower(got), strings.ToLower(s)) && !slices.Contains(asked, s) {
				t.Errorf("%s shows %q to the plan role:\n%s", what, s, got)
			}
		}
	}

	tried := 0
	// Each table or view, with the columns the role may read.
	for _, sql := range strings.Split(strings.TrimSpace(read(`
SELECT format('SELECT %s FROM %I.%I', string_agg(format('%I', a.attname), ', '), n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
  AND has_column_privilege(c.oid, a.attnum, 'SELECT')
GROUP BY n.nspname, c.relname`)), "\n") {
		if sql == "" {
			continue
		}
		tried++
		leaks(sql, read(sql))
	}
	inputs := [][]string{nil, {}, {""}, {"%"}, {"_%"}, {"%@%"}, {"%example.test"}, {".*"}, {"*"},
		{strings.ToUpper(person)}, {"Secret.Person@example.test"}, {" " + person}, {"secret.person@example.tes_"}, {"secret_person@example.test"},
		{strings.ToLower(exampleNora), "%", ""}}
	for _, fn := range strings.Split(strings.TrimSpace(read(`
SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND has_function_privilege(p.oid, 'EXECUTE')`)), "\n") {
		if fn == "" {
			continue
		}
		name, args, _ := strings.Cut(fn, "(")
		if args != "text[])" {
			t.Fatalf("the plan role may run %s, which this test does not know how to try", fn)
		}
		tried++
		for _, in := range inputs {
			leaks(fmt.Sprintf("%s(%q)", name, in), read("SELECT * FROM "+name+"($1::text[])", in))
		}
		leaks(name+"({NULL})", read("SELECT * FROM "+name+"(ARRAY[NULL]::text[])"))
		// Asked exactly: whose it is (a person's) without the name.
		got := read("SELECT * FROM "+name+"($1::text[])", []string{person})
		if !strings.Contains(got, "human") {
			t.Errorf("%s does not say a person holds %s: %q", name, person, got)
		}
		leaks(name+" asked for "+person, got, person, "u-person")
	}
	if tried != 2 {
		t.Errorf("the plan role is granted %d objects to read, want the view and the function", tried)
	}
	for _, table := range []string{"auth.users", "auth.personas", "auth.sessions", "auth.accounts", "auth.persona_actions"} {
		if _, err := conn.Exec(ctx, "SELECT 1 FROM "+table+" LIMIT 1"); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("the plan role reads %s: %v", table, err)
		}
	}

	// The same plan through the role as through the admin API (which lists
	// a persona row whatever its user's kind: Sam is a persona again).
	// Priya, whom the plan deletes, has a history, counted both ways.
	execSQL(t, liveDB, `UPDATE auth.users SET kind = 'persona', name = 'Sam' WHERE email = '`+exampleSam+`';
INSERT INTO auth.persona_actions (id, persona_id, tick_id, tool_name, result, created_at)
SELECT 'a' || g, u.id, 't', 'todo.create', 'ok', now() - g * interval '1 day' FROM auth.users u, generate_series(1, 25) g
WHERE u.email = 'persona.priya@mana.test';
INSERT INTO auth.persona_feedback (id, persona_id, tick_id, module, rating)
SELECT 'f1', u.id, 't', 'todo', 4 FROM auth.users u WHERE u.email = 'persona.priya@mana.test';`)
	ps := w.examplePersonas()
	ps[0]["archetype"] = "night-owl"
	ps = append(ps[:2], ps[3:]...)
	ps = append(ps, persona{"email": "persona.new@mana.test", "name": "Neu", "archetype": "night-owl", "systemPrompt": "Du bist neu hier und schreibst kurz.", "moduleMix": map[string]any{"todo": 1}, "tickCadence": "weekdays"})
	w.writeCatalog(ps)
	viaRole := w.must(0, "personactl", []string{"MANA_ADMIN_JWT=", "PERSONA_SEED_SECRET=", "PERSONACTL_LIVE_DSN=" + as(t, liveDB, role), "PERSONACTL_STATE=" + as(t, stateDB, role)}, "plan", "--no-color")
	viaAPI := w.must(0, "personactl", nil, "plan", "--no-color")
	// Only the role's run, without the seed secret, says it checked no
	// credentials.
	roleOut := regexp.MustCompile(`(?m)^Note: credentials were not checked: .*\n\n`).ReplaceAllString(viaRole.out, "")
	if digest(viaRole.out) == "" || roleOut != viaAPI.out || !strings.Contains(roleOut, "Plan: 1 to create, 1 to update, 1 to delete.") || !strings.Contains(roleOut, "destroys 6 actions in the last 7 days, 20 recent actions, 1 feedback") {
		t.Errorf("the plan through the role is not the plan through the admin API\n--- role\n%s\n--- API\n%s", viaRole, viaAPI)
	}
}

// digest is the changes digest a text plan shows.
func digest(plan string) string {
	_, after, _ := strings.Cut(plan, "Changes digest: ")
	d, _, _ := strings.Cut(after, " ")
	return d
}
