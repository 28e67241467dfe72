package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mana/personactl/apply"
	"github.com/mana/personactl/manaauthdev"
	"github.com/mana/personactl/manaauthdev/devtest"
	"github.com/mana/personactl/state"
)

// TestE2EAdminTokenAboutToExpire: a token that expires within two minutes
// is refused before the first write, saying when it expires.
func TestE2EAdminTokenAboutToExpire(t *testing.T) {
	e := newE2E(t)
	t.Setenv("MANA_ADMIN_JWT", e.inst.Server.MintToken(manaauthdev.RoleAdmin, 90*time.Second))
	r := e.must(1, "apply", "--auto-approve")
	if !strings.Contains(r.err, "admin token expires at") || !strings.Contains(r.err, "mint a fresh admin token") {
		t.Errorf("no refusal naming the expiry\n%s", r)
	}
	if n := e.writes(); n != 0 {
		t.Errorf("%d writes with a token about to expire", n)
	}

	// A token read from a file is replaced in that file: every message
	// about it names the file, not a variable personactl did not read.
	tokenFile := filepath.Join(e.dir, "tok.txt")
	t.Setenv("MANA_ADMIN_JWT", "")
	for _, tt := range []struct {
		ttl  time.Duration
		args []string
		want string
	}{
		{90 * time.Second, []string{"apply", "--auto-approve"}, "mint a fresh admin token, put it in the file " + tokenFile + " and run again"},
		{-time.Minute, []string{"plan"}, "the admin token from the file " + tokenFile + " expired at"},
	} {
		if err := os.WriteFile(tokenFile, []byte(e.inst.Server.MintToken(manaauthdev.RoleAdmin, tt.ttl)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		r := e.must(1, append(tt.args, "--jwt-file="+tokenFile)...)
		if !strings.Contains(r.err, tt.want) || strings.Contains(r.err, "MANA_ADMIN_JWT") {
			t.Errorf("personactl %s with --jwt-file: want %q and no MANA_ADMIN_JWT\n%s", tt.args[0], tt.want, r)
		}
	}
}

// TestE2EAdminTokenExpiresMidRun: mana-auth starts refusing the token
// after three creates; the run stops at once, rolls nothing back (the
// rollback would be refused the same way), keeps its journal open, and says
// to run again with a fresh token, which converges.
func TestE2EAdminTokenExpiresMidRun(t *testing.T) {
	clock := manaauthdev.NewClock(time.Now())
	e := newE2E(t, devtest.WithNow(clock.Now))
	t.Setenv("MANA_ADMIN_JWT", e.inst.Server.MintToken(manaauthdev.RoleAdmin, 15*time.Minute))
	w := &countingWriter{at: 3, hook: func() { clock.Advance(16 * time.Minute) }}
	testHooks.Writer = func(inner apply.Writer) apply.Writer { w.Writer = inner; return w }
	defer func() { testHooks.Writer = nil }()

	r := e.must(1, "apply", "--auto-approve", "--parallelism=1")
	testHooks.Writer = nil
	for _, want := range []string{"Invalid or expired token", "mana-auth refused the admin token", "nothing was rolled back", "with a fresh admin token"} {
		if !strings.Contains(r.err, want) {
			t.Errorf("the error lacks %q\n%s", want, r)
		}
	}
	if n := w.started.Load(); n != 4 {
		t.Errorf("%d steps started; want the 3 that worked and the one refused", n)
	}
	if live := e.live(); len(live) != 3 {
		t.Errorf("%d personas live; want the 3 created before the refusal, none rolled back", len(live))
	}
	t.Setenv("MANA_ADMIN_JWT", e.inst.Server.MintToken(manaauthdev.RoleAdmin, 15*time.Minute))
	r = e.must(0, "apply", "--auto-approve")
	if !strings.Contains(r.err, "interrupted") || !strings.Contains(r.out, "7 created") {
		t.Errorf("the run with a fresh token does not report the halted one and converge\n%s", r)
	}
	e.must(0, "plan", "--detailed-exitcode")
}

// TestE2ECredentialDriftAndVerify: the runner's view end to end. verify with
// the right secret logs in once per persona; after the seed secret is
// rotated, plan reports credential drift with no request sent, and so does
// verify, from the recorded fingerprints: five such runs once locked every
// persona. With --force-login it logs in, with exactly one failed attempt
// per persona; a locked address is reported with its minutes.
func TestE2ECredentialDriftAndVerify(t *testing.T) {
	e := newE2E(t)
	e.must(0, "apply", "--auto-approve", "--verify")
	e.faults().ResetCounts()
	r := e.must(0, "verify")
	if n := e.faults().Requests("POST", manaauthdev.PathLogin); n != len(e.personas) {
		t.Errorf("verify sent %d logins for %d personas", n, len(e.personas))
	}
	if !strings.Contains(r.out, "10 ready") {
		t.Errorf("verify with the right secret\n%s", r)
	}
	e.must(0, "plan", "--detailed-exitcode")

	// Rotate the secret: the plan sees it offline.
	t.Setenv("PERSONA_SEED_SECRET", "a-rotated-seed-secret-nobody-told-the-runner")
	e.faults().ResetCounts()
	r = e.must(2, "plan", "--detailed-exitcode")
	if !strings.Contains(r.out, "credentials") || strings.Contains(r.out, "No changes.") {
		t.Errorf("plan after rotating the secret shows no credential drift\n%s", r)
	}
	if n := e.faults().Requests("POST", manaauthdev.PathLogin); n != 0 {
		t.Errorf("plan sent %d logins; credential drift needs no request", n)
	}
	r = e.must(2, "drift", "--format=json")
	var doc struct {
		Changes []struct {
			Drift *struct{ Kind string }
		}
	}
	if err := json.Unmarshal([]byte(r.out), &doc); err != nil {
		t.Fatal(err)
	}
	kinds := 0
	for _, c := range doc.Changes {
		if c.Drift != nil && c.Drift.Kind == "credentials" {
			kinds++
		}
	}
	if kinds != len(e.personas) {
		t.Errorf("drift --format=json marks %d personas with kind credentials, want %d", kinds, len(e.personas))
	}

	anna := e.personas[0].Email
	e.faults().ResetCounts()
	r = e.must(2, "verify")
	if n := e.faults().Requests("POST", manaauthdev.PathLogin); n != 0 {
		t.Errorf("verify with a secret the recorded fingerprints call another sent %d logins, want none", n)
	}
	if !strings.Contains(r.out, anna+": wrong password (from the recorded fingerprint; not tried)") || !strings.Contains(r.out, "--force-login") {
		t.Errorf("verify with a wrong secret does not say it did not try, and how to\n%s", r)
	}
	r = e.must(2, "verify", "--force-login")
	if n := e.faults().Requests("POST", manaauthdev.PathLogin); n != len(e.personas) {
		t.Errorf("verify --force-login sent %d logins for %d personas", n, len(e.personas))
	}
	for _, p := range e.personas {
		if n := e.inst.Server.FailedLogins(p.Email); n != 1 {
			t.Errorf("%s: %d failed login attempts after one verify --force-login, want exactly 1", p.Email, n)
		}
	}
	if !strings.Contains(r.out, anna+": wrong password: ") {
		t.Errorf("verify --force-login with a wrong secret\n%s", r)
	}
	e.inst.LockOut(t, anna)
	r = e.must(2, "verify", "--target="+anna, "--force-login")
	if !strings.Contains(r.out, anna+": locked") || !strings.Contains(r.out, "30 minute") {
		t.Errorf("a locked persona is not reported with its minutes\n%s", r)
	}

	// Nothing written anywhere holds the secret, a password or the
	// fingerprint's input.
	st := e.recorded()
	b, _ := json.Marshal(st)
	for _, secret := range []string{testSecret, "a-rotated-seed-secret-nobody-told-the-runner", e.secret.Password(anna)} {
		if strings.Contains(string(b), secret) {
			t.Errorf("the state holds a secret")
		}
	}
	for _, p := range st.Personas {
		if !strings.HasPrefix(p.Credentials, "pbkdf2") {
			t.Errorf("%s: credentials %q; want the fingerprint recorded by apply", p.Email, p.Credentials)
		}
	}
	_ = state.StepDone
}

// TestE2EReplaceRecordsTheNewSecret: after the seed secret is rotated,
// --replace re-creates the personas with passwords from the new secret and
// records its fingerprint, so the next plan has nothing left to do.
func TestE2EReplaceRecordsTheNewSecret(t *testing.T) {
	e := newE2E(t)
	e.applyAll()
	t.Setenv("PERSONA_SEED_SECRET", "a-rotated-seed-secret-nobody-told-the-runner")
	e.must(2, "plan", "--detailed-exitcode")

	r := e.must(0, "apply", "--auto-approve", "--replace="+strings.Join(emailsOf(e.personas), ","))
	if got := lastLine(r.out); !strings.Contains(got, "10 replaced") {
		t.Errorf("apply --replace's last line = %q\n%s", got, r)
	}
	r = e.run("plan", "--detailed-exitcode")
	if r.code != 0 || !strings.Contains(r.out, "No changes.") {
		t.Errorf("the plan after replacing every persona with the new secret is not empty\n%s", r)
	}
}

// TestE2EVerifyReadsOnlyTheDetailsItNeeds: verify --target and apply
// --verify log in as a few personas; reading every live persona's detail
// for them cost one request per persona of the fleet.
func TestE2EVerifyReadsOnlyTheDetailsItNeeds(t *testing.T) {
	e := newE2E(t)
	e.applyAll()
	anna := e.personas[0].Email
	r := e.must(0, "verify", "--target="+anna)
	if n := e.faults().Requests("GET", manaauthdev.PathPersona); n != 1 {
		t.Errorf("verify --target read %d persona details, want 1\n%s", n, r)
	}

	live := e.live()
	if err := e.inst.Store.DeleteUser(context.Background(), live[anna].UserID); err != nil {
		t.Fatal(err)
	}
	e.faults().ResetCounts()
	r = e.must(0, "apply", "--auto-approve", "--verify")
	// The plan reads the 9 personas left; the check after it the one created.
	if n := e.faults().Requests("GET", manaauthdev.PathPersona); n != len(e.personas) {
		t.Errorf("apply --verify read %d persona details, want %d\n%s", n, len(e.personas), r)
	}
	if n := e.faults().Requests("POST", manaauthdev.PathLogin); n != 1 {
		t.Errorf("apply --verify sent %d logins for the one persona it created", n)
	}
}
