package main

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/manaauthdev/devtest"
)

// withPassword returns rawURL with password in its userinfo.
func withPassword(t *testing.T, rawURL, user, password string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(user, password)
	return u.String()
}

// TestE2EDebugLog: the debug log of apply, verify and a --live plan shows
// the settings, the requests, the statements of both databases, the lock
// and the journal, and no secret, with canaries planted where personactl
// sees them: a password in the state's DSN, in mana-auth's database DSN
// and in the --auth URL, and a distinctive seed secret. e.run's secret
// scan reads standard error, and at the end the log file.
func TestE2EDebugLog(t *testing.T) {
	e, liveDSN := newE2EOnDatabase(t)
	e.state = withPassword(t, devtest.FreshDatabase(t), "postgres", canaryPassword) // trust auth takes any
	t.Setenv("PERSONACTL_STATE", e.state)
	t.Setenv("MANA_AUTH_URL", withPassword(t, e.inst.URL, "personactl", "authpw-canary-4c1e"))
	t.Setenv("PERSONA_SEED_SECRET", canarySeed)
	var err error
	if e.secret, err = catalog.NewSecret(canarySeed); err != nil {
		t.Fatal(err)
	}
	live := "--live=" + withPassword(t, liveDSN, "postgres", "livepw-canary-93d0")

	r := e.must(0, "apply", "--auto-approve", "--debug")
	wantLog(t, "apply", r.err,
		`level=INFO msg=setting name=auth value=http://personactl:xxxxx@127.0.0.1:`,
		`level=INFO msg=setting name=state value="postgres://postgres:xxxxx@`,
		`level=INFO msg=setting name="seed secret" value="(set, 41 bytes)" source="environment PERSONA_SEED_SECRET"`,
		`level=DEBUG msg=http method=GET path=/api/v1/admin/personas retry=0 status=200 bytes=`,
		`level=DEBUG msg=http method=POST path=/api/v1/admin/personas retry=0 status=200 bytes=`,
		`level=DEBUG msg=sql db=state sql="SELECT pg_try_advisory_lock($1, $2)" duration=`,
		`level=INFO msg="lock taken" lock.id=`,
		`level=INFO msg="journal opened" entry=`,
		`level=DEBUG msg="journal steps written" entry=`,
		`level=INFO msg="journal closed" entry=`,
		`level=INFO msg="lock released" lock.id=`)

	logFile := filepath.Join(e.dir, "debug.log")
	t.Setenv("PERSONACTL_LOG", "debug")
	t.Setenv("PERSONACTL_LOG_FORMAT", "json")
	t.Setenv("PERSONACTL_LOG_PATH", logFile)
	r = e.must(0, "verify")
	if strings.Contains(r.err, `"msg"`) {
		t.Errorf("with PERSONACTL_LOG_PATH the log still goes to standard error:\n%s", r)
	}
	data, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	wantLog(t, "verify", string(data),
		`"msg":"setting","name":"live","value":"","source":"default"`,
		`"msg":"http","method":"POST","path":"/api/v1/auth/login","retry":0,"status":200,"bytes":`)

	t.Setenv("PERSONACTL_LOG_PATH", "")
	t.Setenv("PERSONACTL_LOG_FORMAT", "")
	r = e.must(0, "plan", live)
	wantLog(t, "plan --live", r.err,
		`level=INFO msg=setting name=live value="postgres://postgres:xxxxx@`,
		`level=DEBUG msg=sql db=mana-auth sql="SELECT u.id, u.email, u.name,`,
		`level=DEBUG msg=sql db=state sql="SELECT version, lineage, serial FROM personactl.states WHERE workspace = $1" duration=`)

	// A refused --auth is logged as a setting first: redacted too.
	r = e.must(1, "plan", "--auth="+e.inst.URL+"/?sig="+canarySig)
	wantLog(t, "plan --auth with a query", r.err, `msg=setting name=auth value="http://127.0.0.1:`, `/?sig=xxxxx" source="flag --auth"`)

	// The scan of these runs finds a canary planted in one of their logs.
	sc := newSecretScanner(os.Environ(), []string{live})
	for _, canary := range []string{canaryPassword, "authpw-canary-4c1e", "livepw-canary-93d0", canarySeed, e.secret.Password(e.personas[0].Email)} {
		if got := sc.scan("a planted copy", []byte(string(data)+e.personas[0].Email+" "+canary+"\n")); len(got) == 0 {
			t.Errorf("the scan does not find a canary (%d bytes) planted in a debug log", len(canary))
		}
	}
}

// wantLog checks that the log of a run has a line holding each of lines.
func wantLog(t *testing.T, run, log string, lines ...string) {
	t.Helper()
	for _, want := range lines {
		if !strings.Contains(log, want) {
			t.Errorf("the debug log of %s has no line with %s:\n%s", run, want, log)
		}
	}
}
