package main

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mana/personactl/manaauthdev"
	"github.com/mana/personactl/manaauthdev/devtest"
)

// newE2EOnDatabase starts mana-auth-dev on a fresh PostgreSQL database and
// returns the world with that database's address, for --live.
func newE2EOnDatabase(t *testing.T) (*e2e, string) {
	t.Helper()
	personas := loadReal(t)
	dsn := devtest.FreshDatabase(t)
	store, err := manaauthdev.OpenPostgres(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	admin := devtest.Token(map[string]any{"sub": "admin", "role": "admin", "exp": time.Now().Add(time.Hour).Unix()})
	srv := manaauthdev.New(manaauthdev.Options{AdminToken: admin, Store: store})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return newE2EWith(t, &devtest.Instance{URL: hs.URL, AdminToken: admin, Server: srv, Store: store}, personas), dsn
}

// TestE2ELiveFromTheDatabase: --live reads mana-auth's tables in one query,
// plans exactly as the admin API would, and needs no token to plan.
func TestE2ELiveFromTheDatabase(t *testing.T) {
	e, dsn := newE2EOnDatabase(t)
	viaAPI := e.must(2, "plan", "--detailed-exitcode")
	viaDB := e.must(2, "plan", "--detailed-exitcode", "--live="+dsn)
	if viaAPI.out != viaDB.out {
		t.Errorf("plans differ between the admin API and --live:\n%s\n---\n%s", viaAPI.out, viaDB.out)
	}
	e.must(0, "apply", "--auto-approve", "--live="+dsn)
	if n := len(e.live()); n != 10 {
		t.Fatalf("%d personas live after apply with --live, want 10", n)
	}

	t.Setenv("MANA_ADMIN_JWT", "")
	e.faults().ResetCounts()
	r := e.must(0, "plan", "--live="+dsn)
	if lastLine(r.out) != "No changes." {
		t.Errorf("plan --live after apply:\n%s", r)
	}
	if n := e.faults().Requests("GET", manaauthdev.PathPersona); n != 0 {
		t.Errorf("plan --live sent %d detail requests, want none", n)
	}

	anna := e.live()["persona.anna@mana.test"]
	cadence := "hourly"
	if err := e.inst.Store.EditPersona(context.Background(), anna.UserID, manaauthdev.PersonaEdit{TickCadence: &cadence}); err != nil {
		t.Fatal(err)
	}
	r = e.must(2, "drift", "--live="+dsn)
	if !strings.Contains(r.out, "persona.anna@mana.test changed outside personactl") || !strings.Contains(r.out, `"daily" -> "hourly"`) {
		t.Errorf("drift --live does not show the edit made in the database:\n%s", r)
	}
	if r := e.run("apply", "--auto-approve", "--live="+dsn); r.code != 1 || !strings.Contains(r.err, "MANA_ADMIN_JWT") {
		t.Errorf("apply --live without a token: want exit 1 asking for MANA_ADMIN_JWT, got\n%s", r)
	}
}

// TestE2EVerifyLiveNeverLogsInAsAPerson: a persona whose user was made a
// person again by hand (kind human) is, as --live reads mana-auth's
// database, not a persona: verify says so and sends no login as them.
func TestE2EVerifyLiveNeverLogsInAsAPerson(t *testing.T) {
	e, dsn := newE2EOnDatabase(t)
	e.applyAll()
	anna := e.personas[0].Email
	if err := e.inst.Store.SetUserKind(context.Background(), e.live()[anna].UserID, manaauthdev.KindHuman); err != nil {
		t.Fatal(err)
	}
	e.faults().ResetCounts()
	r := e.must(2, "verify", "--live="+dsn, "--force-login")
	if n := e.faults().Requests("POST", manaauthdev.PathLogin); n != len(e.personas)-1 {
		t.Errorf("verify --live sent %d logins, want one per persona but %s", n, anna)
	}
	if !strings.Contains(r.out, anna+": not a persona: mana-auth shows a user here who is not a persona") {
		t.Errorf("verify --live does not report %s as not a persona\n%s", anna, r)
	}
	if n := e.inst.Server.FailedLogins(anna); n != 0 {
		t.Errorf("%d failed logins recorded for %s", n, anna)
	}
}
