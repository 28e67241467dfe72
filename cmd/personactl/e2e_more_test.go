package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/manaauthdev"
	"github.com/mana/personactl/manaauthdev/devtest"
	"github.com/mana/personactl/state/postgres"
)

// Drift made through the API (another tool's upsert) is drift like an edit
// in the database.
func TestE2EDriftThroughTheAPI(t *testing.T) {
	e := newE2E(t)
	e.applyAll()
	p := e.personas[6]
	changed := p
	changed.TickCadence = "hourly"
	e.post(changed, e.secret.Password(p.Email))
	e.faults().ResetCounts()

	r := e.must(2, "drift")
	if !strings.Contains(r.out, p.Email) || !strings.Contains(r.out, "tickCadence") {
		t.Errorf("drift does not name %s and its field\n%s", p.Email, r)
	}
	r = e.must(2, "plan", "--detailed-exitcode")
	if !strings.Contains(r.out, "changed outside personactl") {
		t.Errorf("plan does not mark the drift\n%s", r)
	}
	if n := e.writes(); n != 0 {
		t.Errorf("drift and plan sent %d writes", n)
	}
}

// A persona deleted outside personactl is re-created (and marked); one that
// also left the catalog is only forgotten.
func TestE2EDeletedOutside(t *testing.T) {
	e := newE2E(t)
	e.applyAll()
	live := e.live()
	recreate, forget := e.personas[0], e.personas[1]
	for _, p := range []catalog.Persona{recreate, forget} {
		if err := e.inst.Store.DeleteUser(context.Background(), live[p.Email].UserID); err != nil {
			t.Fatal(err)
		}
	}
	ps := e.clone()
	e.writeCatalog(append(ps[:1:1], ps[2:]...))

	r := e.must(2, "plan", "--detailed-exitcode")
	if !strings.Contains(r.out, "deleted outside personactl") {
		t.Errorf("plan does not say what was deleted outside personactl\n%s", r)
	}
	if got := lastLine(r.out); got != "Plan: 1 to create, 0 to update, 0 to delete, 1 to forget." {
		t.Errorf("plan's last line = %q\n%s", got, r)
	}
	r = e.must(0, "apply", "--auto-approve")
	if got := lastLine(r.out); got != "Apply complete! Personas: 1 created, 0 updated, 0 deleted." {
		t.Errorf("apply's last line = %q\n%s", got, r)
	}
	st := e.recorded()
	if _, ok := st.Find(forget.Email); ok {
		t.Errorf("%s is still recorded", forget.Email)
	}
	if _, ok := st.Find(recreate.Email); !ok || len(st.Personas) != 9 {
		t.Errorf("recorded %d personas; %s recorded: %v", len(st.Personas), recreate.Email, ok)
	}
	e.must(0, "plan", "--detailed-exitcode")
}

// Without PERSONA_SEED_SECRET on loopback the public development secret
// is used, and the personas can sign in with it; against a host off
// loopback it is refused before any request.
func TestE2EDevSecretFallback(t *testing.T) {
	e := newE2E(t)
	os.Unsetenv("PERSONA_SEED_SECRET") // t.Setenv restores it
	e.must(0, "apply", "--auto-approve")
	dev, err := catalog.NewSecret(catalog.DevSecret)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range e.personas {
		e.inst.SignIn(t, p.Email, dev.Password(p.Email))
	}
	r := e.must(1, "plan", "--auth=https://auth.example.com")
	if !strings.Contains(r.err, "PERSONA_SEED_SECRET") {
		t.Errorf("the development secret off loopback is not refused\n%s", r)
	}
}

// Read-only commands print what is recorded and never the token.
func TestE2EStateCommandsAndFormats(t *testing.T) {
	e := newE2E(t)
	r := e.must(0, "plan", "--format=json")
	var doc struct {
		FormatVersion string `json:"format_version"`
		Changes       []struct {
			Email, Action string
		} `json:"changes"`
		Summary map[string]int `json:"summary"`
	}
	if err := json.Unmarshal([]byte(r.out), &doc); err != nil {
		t.Fatalf("plan --format=json is not one JSON document: %v\n%s", err, r)
	}
	if doc.FormatVersion != "2" || len(doc.Changes) != 10 || doc.Summary["create"] != 10 {
		t.Errorf("plan --format=json: version %q, %d changes, summary %v", doc.FormatVersion, len(doc.Changes), doc.Summary)
	}
	r = e.must(0, "plan", "--format=markdown")
	if !strings.Contains(r.out, "<details>") {
		t.Errorf("plan --format=markdown has no <details> block\n%s", r)
	}

	e.applyAll()
	r = e.must(0, "state", "list")
	for _, p := range e.personas {
		if !strings.Contains(r.out, p.Email) {
			t.Errorf("state list lacks %s\n%s", p.Email, r)
		}
	}
	r = e.must(0, "state", "show", e.personas[0].Email)
	if !strings.Contains(r.out, e.personas[0].Archetype) {
		t.Errorf("state show lacks the archetype\n%s", r)
	}
	r = e.must(0, "state", "pull")
	if !json.Valid([]byte(r.out)) {
		t.Errorf("state pull is not JSON\n%s", r)
	}
	e.must(0, "show")
	e.must(1, "state", "show", "nobody@mana.test")

	r = e.must(0, "state", "rm", e.personas[0].Email)
	if _, ok := e.recorded().Find(e.personas[0].Email); ok {
		t.Errorf("state rm left %s recorded", e.personas[0].Email)
	}
	if _, ok := e.live()[e.personas[0].Email]; !ok {
		t.Errorf("state rm deleted %s live", e.personas[0].Email)
	}
	// Live equals the catalog: no write, and the next apply records it again.
	e.faults().ResetCounts()
	e.must(0, "apply", "--auto-approve")
	if n := e.writes(); n != 0 {
		t.Errorf("re-recording sent %d writes", n)
	}
	if _, ok := e.recorded().Find(e.personas[0].Email); !ok {
		t.Errorf("apply did not record %s again", e.personas[0].Email)
	}
}

// Tokens the server refuses end the run with a message and no token in it.
func TestE2EBadTokens(t *testing.T) {
	e := newE2E(t)
	for name, tok := range map[string]string{"expired": e.inst.Expired(), "not admin": e.inst.UserToken} {
		t.Run(name, func(t *testing.T) {
			r := e.must(1, "plan", "--jwt="+tok)
			if strings.Contains(r.out+r.err, tok) {
				t.Errorf("the token was printed\n%s", r)
			}
			if r.err == "" {
				t.Errorf("no message")
			}
		})
	}
	os.Unsetenv("MANA_ADMIN_JWT")
	r := e.must(1, "plan")
	if !strings.Contains(r.err, "MANA_ADMIN_JWT") {
		t.Errorf("a missing token is not explained\n%s", r)
	}
	if n := e.faults().Requests(http.MethodPost, manaauthdev.PathPersonas); n != 0 {
		t.Errorf("%d POSTs", n)
	}
}

// The Postgres state backend names the holder of its lock too, and a
// saved plan goes stale when another apply moved the state's serial.
func TestE2EPostgresLockAndStaleSerial(t *testing.T) {
	e := newE2E(t, devtest.WithPostgres())
	e.state = devtest.FreshDatabase(t)
	t.Setenv("PERSONACTL_STATE", e.state)
	ctx := context.Background()

	b, err := postgres.Open(ctx, e.state, "default")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	lock, err := b.Lock(ctx, "holding-for-a-test", 0)
	if err != nil {
		t.Fatal(err)
	}
	r := e.must(1, "apply", "--auto-approve")
	if !strings.Contains(r.err, "holding-for-a-test") {
		t.Errorf("the refusal does not name the holder\n%s", r)
	}
	if n := e.writes(); n != 0 || len(e.live()) != 0 {
		t.Errorf("%d writes while locked", n)
	}
	lock.Release()

	planFile := filepath.Join(e.dir, "tfplan")
	e.must(0, "plan", "--out="+planFile)
	ps := e.clone()
	e.writeCatalog(ps[:5])
	e.must(0, "apply", "--auto-approve") // serial moves on
	e.faults().ResetCounts()
	r = e.must(1, "apply", "--auto-approve", planFile)
	if !strings.Contains(r.err, "saved plan is stale") {
		t.Errorf("a plan from an older serial is not stale\n%s", r)
	}
	if n := e.writes(); n != 0 {
		t.Errorf("stale plan sent %d writes", n)
	}
	if live := e.live(); len(live) != 5 {
		t.Errorf("%d live, want 5", len(live))
	}
}

// Transient failures (503s, resets, lost answers) are retried until the
// run converges, deletes included, with no duplicate user.
func TestE2ETransientFaults(t *testing.T) {
	e := newE2E(t)
	f := e.faults()
	f.SetErrorRate(0.1, http.StatusServiceUnavailable)
	f.SetResetRate(0.05)
	f.SetLostAnswerRate(0.15)
	// One request at a time: the seeded faults then fall the same way on
	// every run.
	r := e.must(0, "apply", "--auto-approve", "--parallelism=1")
	if got := lastLine(r.out); got != "Apply complete! Personas: 10 created, 0 updated, 0 deleted." {
		t.Errorf("apply's last line = %q\n%s", got, r)
	}
	if !strings.Contains(r.err, "mana-auth answered 503; retry 2 of 10 in ") {
		t.Errorf("the retries are not said on standard error\n%s", r)
	}
	for _, p := range e.personas {
		if n := e.users(p.Email); n != 1 {
			t.Errorf("%d users with %s", n, p.Email)
		}
	}
	r = e.must(0, "destroy", "--auto-approve", "--parallelism=1")
	if got := lastLine(r.out); got != "Destroy complete! Personas: 10 deleted." {
		t.Errorf("destroy's last line = %q\n%s", got, r)
	}
	if f.Requests(http.MethodDelete, manaauthdev.PathPersona) <= 10 {
		t.Errorf("no delete was retried; the faults did not bite")
	}
	f.Reset()
	if live := e.live(); len(live) != 0 {
		t.Errorf("%d live after destroy", len(live))
	}
	if st := e.recorded(); len(st.Personas) != 0 {
		t.Errorf("%d recorded after destroy", len(st.Personas))
	}
}

// TestE2EPlanAgainstAClosedPort: with nothing listening at the address,
// plan tries twice, saying so, and ends naming the address and what to
// check, rather than waiting through the whole retry budget in silence.
func TestE2EPlanAgainstAClosedPort(t *testing.T) {
	e := newE2E(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close()
	r := e.must(1, "plan", "--auth="+url)
	lines := strings.Split(strings.TrimSpace(r.err), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "mana-auth at "+url+" refused the connection; retry 2 of 10 in ") ||
		!strings.HasPrefix(lines[1], "Error: GET /api/v1/admin/personas: cannot reach mana-auth at "+url) ||
		!strings.HasSuffix(lines[1], "after 2 tries; mana-auth may not be running: start it, or check MANA_AUTH_URL (or --auth)") {
		t.Errorf("want the one retry said, then the error naming %s after 2 tries\n%s", url, r)
	}
}
