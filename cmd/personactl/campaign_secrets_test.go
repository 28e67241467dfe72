package main

// The secret scan: everything personactl writes in the end-to-end tests
// (standard output and error of every run, the files a run creates or
// changes, the state, its backup, journal and lock, and a PostgreSQL
// state's rows) is searched for the secrets that run had: the admin JWT
// (and anything shaped like a JWT), the derived passwords, the seed
// secret, a DSN's password and a URL's query values. A finding fails the
// test that made the output.

import (
	"context"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/manaauthdev/devtest"
)

var (
	jwtPattern   = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{8,}`)
	emailPattern = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)
)

// secretScanner finds secrets in text. It never prints one: a finding
// names where it was and what kind of secret it is.
type secretScanner struct {
	secrets map[string]string // value → what it is
	seed    *catalog.Secret   // derives the password of every address found
}

// newSecretScanner returns a scanner for the secrets an environment hands
// personactl (env as os.Environ gives it) and its command line.
func newSecretScanner(env []string, args []string) *secretScanner {
	s := &secretScanner{secrets: map[string]string{}}
	get := func(k string) (string, bool) {
		for i := len(env) - 1; i >= 0; i-- {
			if v, ok := strings.CutPrefix(env[i], k+"="); ok {
				return v, true
			}
		}
		return "", false
	}
	flag := func(name string) []string {
		var out []string
		for i, a := range args {
			if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
				out = append(out, v)
			} else if a == "--"+name && i+1 < len(args) {
				out = append(out, args[i+1])
			}
		}
		return out
	}
	seed, ok := get("PERSONA_SEED_SECRET")
	if ok && seed != "" && seed != catalog.DevSecret {
		s.add(seed, "the seed secret")
	}
	if !ok || seed == "" {
		seed = catalog.DevSecret // the public fallback; its passwords still are the personas'
	}
	if sec, err := catalog.NewSecret(seed); err == nil {
		s.seed = &sec
	}
	if tok, ok := get("MANA_ADMIN_JWT"); ok {
		s.add(tok, "the admin JWT")
	}
	for _, t := range flag("jwt") {
		s.add(t, "the admin JWT")
	}
	if pw, ok := get("MANA_ADMIN_PASSWORD"); ok {
		s.add(pw, "the admin's password")
	}
	files := flag("admin-password-file")
	if f, ok := get("MANA_ADMIN_PASSWORD_FILE"); ok {
		files = append(files, f)
	}
	for _, f := range files {
		if data, err := os.ReadFile(f); err == nil {
			s.add(strings.TrimSpace(string(data)), "the admin's password")
		}
	}
	var urls []string
	for _, k := range []string{"MANA_AUTH_URL", "PERSONACTL_STATE", "PERSONACTL_LIVE_DSN"} {
		if v, ok := get(k); ok {
			urls = append(urls, v)
		}
	}
	for _, f := range []string{"auth", "state", "live"} {
		urls = append(urls, flag(f)...)
	}
	for _, u := range urls {
		s.addURL(u)
	}
	return s
}

// issuedSecrets collects the session tokens (which the session cookie
// carries) and access tokens a mana-auth-dev issued.
type issuedSecrets struct {
	mu     sync.Mutex
	values []string
}

func (i *issuedSecrets) add(v string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.values = append(i.values, v)
}

// addIssued registers what a server issued.
func (s *secretScanner) addIssued(i *issuedSecrets) {
	if i == nil {
		return
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	for _, v := range i.values {
		s.add(v, "a session cookie or access token mana-auth issued")
	}
}

// add registers a secret; values too short to be told from ordinary text
// are left out.
func (s *secretScanner) add(value, what string) {
	if len(value) >= 6 {
		s.secrets[value] = what
	}
}

// addURL registers a URL's or DSN's password and query values.
func (s *secretScanner) addURL(raw string) {
	u, err := url.Parse(raw)
	if err != nil {
		return
	}
	if pw, ok := u.User.Password(); ok && pw != u.User.Username() && !strings.Contains(u.Host+u.Path, pw) {
		s.add(pw, "the password of "+u.Redacted())
	}
	for k, vs := range u.Query() {
		for _, v := range vs {
			if k == "sslmode" || k == "connect_timeout" {
				continue // settings, not secrets
			}
			s.add(v, fmt.Sprintf("the query value %s of a URL", k))
		}
	}
}

// scan returns a finding for every secret in data.
func (s *secretScanner) scan(where string, data []byte) []string {
	var out []string
	text := string(data)
	for v, what := range s.secrets {
		if strings.Contains(text, v) {
			out = append(out, fmt.Sprintf("%s holds %s", where, what))
		}
	}
	if m := jwtPattern.FindString(text); m != "" {
		out = append(out, fmt.Sprintf("%s holds a JWT (%s…)", where, m[:12]))
	}
	if s.seed != nil {
		seen := map[string]bool{}
		for _, email := range emailPattern.FindAllString(text, -1) {
			for _, e := range []string{email, strings.ToLower(email)} {
				if seen[e] {
					continue
				}
				seen[e] = true
				if strings.Contains(text, s.seed.Password(e)) {
					out = append(out, fmt.Sprintf("%s holds the derived password of %s", where, e))
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// scanFigures counts what the scan read in this test process.
var scanFigures struct {
	sync.Mutex
	outputs, files, rows, bytes, findings int
}

func countScan(outputs, files, rows, bytes, findings int) {
	scanFigures.Lock()
	defer scanFigures.Unlock()
	scanFigures.outputs += outputs
	scanFigures.files += files
	scanFigures.rows += rows
	scanFigures.bytes += bytes
	scanFigures.findings += findings
}

func secretScanFigures() string {
	scanFigures.Lock()
	defer scanFigures.Unlock()
	if scanFigures.outputs == 0 {
		return ""
	}
	return fmt.Sprintf("secret scan: %d outputs, %d files and %d database rows scanned (%d bytes), %d findings",
		scanFigures.outputs, scanFigures.files, scanFigures.rows, scanFigures.bytes, scanFigures.findings)
}

// fileStamp tells whether a file changed.
type fileStamp struct {
	size int64
	mod  time.Time
}

// snapshotFiles records the files in e's directory, so that collect can
// tell the ones a run wrote.
func (e *e2e) snapshotFiles() map[string]fileStamp {
	out := map[string]fileStamp{}
	filepath.WalkDir(e.dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				out[path] = fileStamp{fi.Size(), fi.ModTime()}
			}
		}
		return nil
	})
	return out
}

// scanned is per world: the scanners of its runs, and whether the end of
// the test scans its files.
var scannedWorlds sync.Map // *e2e → *worldScan

type worldScan struct {
	mu       sync.Mutex
	scanners []*secretScanner
	files    map[string]bool
}

// collect scans one in-process run's output, and the files it wrote, for
// the secrets the run had; at the test's end the state's files or rows are
// scanned too.
func (e *e2e) collect(args []string, r result, before map[string]fileStamp) {
	e.t.Helper()
	sc := newSecretScanner(os.Environ(), args)
	for _, p := range e.personas {
		if e.secret.Password(p.Email) != "" {
			sc.add(e.secret.Password(p.Email), "the derived password of "+p.Email)
		}
	}
	sc.add(e.inst.AdminToken, "the admin JWT")
	sc.addIssued(e.issued)
	ws := e.worldScan()
	ws.mu.Lock()
	ws.scanners = append(ws.scanners, sc)
	ws.mu.Unlock()
	cmd := "personactl " + strings.Join(redactArgs(args), " ")
	var findings []string
	findings = append(findings, sc.scan(cmd+": standard output", []byte(r.out))...)
	findings = append(findings, sc.scan(cmd+": standard error", []byte(r.err))...)
	for path, st := range e.snapshotFiles() {
		if old, ok := before[path]; ok && old == st || path == e.catalog {
			continue
		}
		ws.mu.Lock()
		ws.files[path] = true
		ws.mu.Unlock()
	}
	countScan(2, 0, 0, len(r.out)+len(r.err), len(findings))
	for _, f := range findings {
		e.t.Errorf("secret scan: %s", f)
	}
}

// redactArgs keeps secrets out of the scan's own messages.
func redactArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if k, _, ok := strings.Cut(a, "="); ok && (k == "--jwt" || k == "--auth" || k == "--state" || k == "--live") {
			a = k + "=…"
		}
		out[i] = a
	}
	return out
}

// collectProc scans a personactl process's output once it ended, for the
// secrets in its environment.
func collectProc(t *testing.T, p *proc) {
	t.Helper()
	t.Cleanup(func() {
		<-p.exited
		sc := newSecretScanner(p.cmd.Env, p.cmd.Args[1:])
		var findings []string
		findings = append(findings, sc.scan("a personactl process's standard output", []byte(p.out.String()))...)
		findings = append(findings, sc.scan("a personactl process's standard error", []byte(p.err.String()))...)
		countScan(2, 0, 0, len(p.out.String())+len(p.err.String()), len(findings))
		for _, f := range findings {
			t.Errorf("secret scan: %s", f)
		}
	})
}

// worldScan returns e's scan record, registering at the first run the
// scan of its files and state at the test's end (before the test's
// directory and database are removed, which were set up before).
func (e *e2e) worldScan() *worldScan {
	if ws, ok := scannedWorlds.Load(e); ok {
		return ws.(*worldScan)
	}
	ws := &worldScan{files: map[string]bool{}}
	scannedWorlds.Store(e, ws)
	e.t.Cleanup(func() {
		defer scannedWorlds.Delete(e)
		ws.mu.Lock()
		defer ws.mu.Unlock()
		merged := &secretScanner{secrets: map[string]string{}}
		for _, sc := range ws.scanners {
			for v, what := range sc.secrets {
				merged.secrets[v] = what
			}
		}
		var findings []string
		files, rows, size := 0, 0, 0
		scanWith := func(where string, data []byte) {
			size += len(data)
			findings = append(findings, merged.scan(where, data)...)
			for _, sc := range ws.scanners {
				if sc.seed != nil {
					findings = append(findings, (&secretScanner{seed: sc.seed}).scan(where, data)...)
				}
			}
		}
		paths := ws.files
		if !isPostgresState(e.state) {
			for _, suffix := range []string{"", ".backup", ".journal", ".lock"} {
				if _, err := os.Stat(e.state + suffix); err == nil {
					paths[e.state+suffix] = true
				}
			}
		}
		for path := range paths {
			data, err := os.ReadFile(path)
			if err != nil {
				continue // removed since, as a lock file is
			}
			files++
			scanWith(path, data)
		}
		if isPostgresState(e.state) {
			dump, n, err := dumpDatabase(e.state)
			if err != nil {
				e.t.Errorf("secret scan: reading the PostgreSQL state's rows: %v", err)
			}
			rows += n
			scanWith("the PostgreSQL state's rows", []byte(dump))
		}
		findings = dedupe(findings)
		countScan(0, files, rows, size, len(findings))
		for _, f := range findings {
			e.t.Errorf("secret scan: %s", f)
		}
	})
	return ws
}

func dedupe(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// dumpDatabase returns every row of every table outside the system schemas
// as JSON text, and how many rows there were.
func dumpDatabase(dsn string) (string, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", 0, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables
		WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'`)
	if err != nil {
		return "", 0, err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", 0, err
	}
	var b strings.Builder
	n := 0
	for _, table := range tables {
		rows, err := conn.Query(ctx, "SELECT row_to_json(t)::text FROM "+table+" t")
		if err != nil {
			return "", n, err
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return "", n, err
		}
		n += len(lines)
		for _, l := range lines {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.String(), n, nil
}

// Canaries: distinctive secrets planted where personactl sees them, so
// that the scan has something to find if anything leaks.
const (
	canarySeed          = "seed-canary-3b9d0f6e2a71c845-do-not-print"
	canaryPassword      = "dsnpw-canary-81f2c7"
	canarySig           = "sig-canary-5e0a9d33"
	canaryAdminPassword = "adminpw-canary-6a40e2d9"
	canarySession       = "sessiontokencanary9f3c51d0a7be2"
)

// TestCampaignSecretScannerFindsPlantedCanaries proves that the scan can
// fail: each kind of secret planted in an output is reported, by kind and
// never by value, and a clean output is not.
func TestCampaignSecretScannerFindsPlantedCanaries(t *testing.T) {
	sec, err := catalog.NewSecret(canarySeed)
	if err != nil {
		t.Fatal(err)
	}
	token := devtest.Token(map[string]any{"sub": "x", "role": "admin"})
	pwFile := filepath.Join(t.TempDir(), "admin.password")
	if err := os.WriteFile(pwFile, []byte("file-"+canaryAdminPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"PERSONA_SEED_SECRET=" + canarySeed,
		"MANA_ADMIN_JWT=" + token,
		"MANA_AUTH_URL=http://127.0.0.1:1/?sig=" + canarySig,
		"PERSONACTL_STATE=postgres://postgres:" + canaryPassword + "@127.0.0.1:5432/postgres?sslmode=disable",
		"MANA_ADMIN_PASSWORD=" + canaryAdminPassword,
		"MANA_ADMIN_PASSWORD_FILE=" + pwFile,
	}
	accessToken := devtest.Token(map[string]any{"sub": "ops", "role": "user", "sid": canarySession})
	issued := &issuedSecrets{values: []string{canarySession, accessToken}}
	clean := "Plan: 1 to create for persona.anna@mana.test at http://127.0.0.1:1/?sig=xxxxx with postgres://postgres:xxxxx@127.0.0.1:5432/postgres\n"
	for _, tc := range []struct {
		name, planted, want string
	}{
		{"seed secret", canarySeed, "the seed secret"},
		{"admin JWT", token, "the admin JWT"},
		{"any JWT", devtest.Token(map[string]any{"sub": "someone else"}), "holds a JWT"},
		{"derived password", sec.Password("persona.anna@mana.test"), "the derived password of persona.anna@mana.test"},
		{"derived password of an address in capitals", sec.Password("Persona.Anna@Mana.Test"), "the derived password of Persona.Anna@Mana.Test"},
		{"URL query secret", canarySig, "the query value sig"},
		{"DSN password", canaryPassword, "the password of postgres://postgres:xxxxx@"},
		{"admin's password", canaryAdminPassword, "the admin's password"},
		{"admin's password file", "file-" + canaryAdminPassword, "the admin's password"},
		{"session cookie", "mana.session_token=" + canarySession + ".c2lnbmF0dXJl%3D", "a session cookie or access token mana-auth issued"},
		{"access token", accessToken, "a session cookie or access token mana-auth issued"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := newSecretScanner(env, nil)
			sc.addIssued(issued)
			if got := sc.scan("clean output", []byte(clean)); len(got) != 0 {
				t.Fatalf("a clean output is reported: %v", got)
			}
			out := clean + "Error: Persona.Anna@Mana.Test: " + tc.planted + "\n"
			got := sc.scan("the planted output", []byte(out))
			if len(got) == 0 || !strings.Contains(strings.Join(got, "\n"), tc.want) {
				t.Fatalf("the planted %s is not reported as %q: %v", tc.name, tc.want, got)
			}
			for _, f := range got {
				if strings.Contains(f, tc.planted) {
					t.Errorf("the finding prints the secret: %s", f)
				}
			}
		})
	}
}

// TestCampaignSecretsNeverLeak runs a session that touches every output
// with canaries planted (a DSN with a password, which a trust-auth server
// accepts, an --auth URL with a query secret, a distinctive seed secret),
// failures included; collect scans each run's output (with the debug log
// on standard error), the plan files and, at the end, the PostgreSQL
// state's rows. A last check plants a canary into a copy of a real output
// to prove this session's scan could fail.
func TestCampaignSecretsNeverLeak(t *testing.T) {
	e := newE2E(t, devtest.WithFixedRoleClaim())
	t.Setenv("PERSONACTL_LOG", "debug")
	dsn := devtest.FreshDatabase(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), canaryPassword)
	e.state = u.String()
	t.Setenv("PERSONACTL_STATE", e.state)
	t.Setenv("PERSONA_SEED_SECRET", canarySeed)
	if e.secret, err = catalog.NewSecret(canarySeed); err != nil {
		t.Fatal(err)
	}
	planFile := filepath.Join(e.dir, "tfplan")
	jsonPlan := filepath.Join(e.dir, "plan.json")

	// mana-auth's address takes no query: refused, and shown redacted.
	for _, auth := range []string{e.inst.URL + "/?sig=" + canarySig, e.inst.URL + "/#" + canarySig} {
		r := e.must(1, "plan", "--auth="+auth)
		if !strings.Contains(r.err, "has a query or fragment") {
			t.Errorf("an --auth URL with a query is not refused as such\n%s", r)
		}
		t.Setenv("MANA_AUTH_URL", auth)
		e.must(1, "apply", "--auto-approve")
		t.Setenv("MANA_AUTH_URL", e.inst.URL)
	}
	e.must(0, "validate")
	e.must(2, "plan", "--detailed-exitcode")
	e.must(0, "plan", "--out="+planFile)
	e.must(0, "show", planFile)
	e.must(0, "apply", planFile)
	e.must(0, "plan", "--format=json", "--out="+jsonPlan)
	ps := e.clone()
	ps[0].TickCadence = "hourly"
	ps[1].SystemPrompt += " Neu."
	e.writeCatalog(ps)
	e.must(0, "apply", "--auto-approve", "--format=json")
	e.must(0, "drift")
	e.must(0, "state", "list")
	e.must(0, "state", "show", ps[0].Email)
	e.must(0, "state", "pull")
	e.must(0, "show")
	e.must(0, "history")
	e.must(0, "history", "--format=json")
	e.must(0, "export")
	e.must(0, "verify")
	e.must(0, "plan", "--format=markdown")

	// Failures print URLs and DSNs: each must come out redacted.
	e.faults().FailWritesFor(ps[2].Email)
	ps[2].TickCadence = "hourly"
	e.writeCatalog(ps)
	e.must(1, "apply", "--auto-approve")
	e.faults().Reset()
	b := openBackend(t, e.state)
	lock, err := b.Lock(context.Background(), "holding-for-a-test", 0)
	if err != nil {
		t.Fatal(err)
	}
	e.must(1, "apply", "--auto-approve")
	lock.Release()
	b.Close()
	r := e.must(1, "plan", "--auth=http://127.0.0.1:1/?sig="+canarySig)
	if !strings.Contains(r.err, "127.0.0.1:1") {
		t.Errorf("the unreachable server is not named\n%s", r)
	}
	bad := strings.Replace(e.state, "@127.0.0.1:5432/", "@127.0.0.1:1/", 1)
	r = e.must(1, "plan", "--state="+bad)
	if !strings.Contains(r.err, "127.0.0.1:1") {
		t.Errorf("the unreachable database is not named\n%s", r)
	}
	e.must(1, "plan", "--auth=ftp://user:"+canaryPassword+"@example.com/?sig="+canarySig)

	// Signed in as an admin: the password, the session cookie and every
	// token stay in memory, through successes and failures alike.
	e.inst.AddAdmin(t, e2eAdmin, canaryAdminPassword)
	t.Setenv("MANA_ADMIN_JWT", "")
	t.Setenv("MANA_ADMIN_EMAIL", e2eAdmin)
	t.Setenv("MANA_ADMIN_PASSWORD", canaryAdminPassword)
	e.must(0, "auth", "status")
	ps[3].TickCadence = "hourly"
	e.writeCatalog(ps)
	signedPlan := filepath.Join(e.dir, "signed.plan")
	e.must(0, "plan", "--out="+signedPlan, "--format=json")
	e.must(0, "apply", signedPlan)
	ps[4].TickCadence = "hourly"
	e.writeCatalog(ps)
	e.faults().FailWritesFor(ps[4].Email)
	e.must(1, "apply", "--auto-approve", "--format=json")
	e.faults().Reset()
	e.must(0, "verify")
	t.Setenv("MANA_ADMIN_PASSWORD", "")
	t.Setenv("MANA_ADMIN_PASSWORD_FILE", writeFile(t, e, "admin.password", []byte(canaryAdminPassword+"\n")))
	e.must(0, "history", "--format=json")
	e.must(0, "apply", "--auto-approve")
	t.Setenv("MANA_ADMIN_EMAIL", "plain.admin@example.test")
	e.must(1, "plan")
	if len(e.issued.values) < 6 {
		t.Errorf("the signed-in runs were issued %d session tokens and access tokens: the scan had little to look for", len(e.issued.values))
	}
	t.Setenv("MANA_ADMIN_EMAIL", e2eAdmin)
	e.must(0, "destroy", "--auto-approve")

	// The same scan finds a canary planted in one of these outputs.
	r = e.run("state", "list")
	sc := newSecretScanner(os.Environ(), []string{"--auth=" + e.inst.URL + "/?sig=" + canarySig})
	for _, canary := range []string{canarySig, canaryPassword, canarySeed, e.secret.Password(ps[3].Email)} {
		if got := sc.scan("a planted copy", []byte(r.out+"\n"+ps[3].Email+": "+canary+"\n")); len(got) == 0 {
			t.Errorf("the scan does not find a canary planted in a real output (%d bytes)", len(canary))
		}
	}
}
