package main

// End-to-end tests: personactl run in-process against a real mana-auth-dev
// over HTTP, asserting what a user would see (output, exit codes) and what
// ends up live and in the recorded state.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/manaauthdev"
	"github.com/mana/personactl/manaauthdev/devtest"
	"github.com/mana/personactl/state"
	"github.com/mana/personactl/state/file"
)

const (
	realCatalog = "../../testdata/fixtures/catalog.json"
	testSecret  = "e2e-test-seed-secret-not-for-anything-else"
)

// e2e is one test's world: a mana-auth-dev, a catalog, a state and the
// environment personactl reads.
type e2e struct {
	t        *testing.T
	inst     *devtest.Instance
	dir      string
	catalog  string // path of the catalog file personactl reads
	state    string // path or DSN of the recorded state
	personas []catalog.Persona
	secret   catalog.Secret
	// issued holds the session and access tokens the server handed out,
	// for the secret scan.
	issued *issuedSecrets
}

// loadReal returns the real catalog's personas (the project's copy).
func loadReal(t *testing.T) []catalog.Persona {
	t.Helper()
	c, err := catalog.Load(realCatalog, catalog.Options{})
	if err != nil {
		t.Fatalf("loading the real catalog: %v", err)
	}
	if len(c.Personas) != 10 {
		t.Fatalf("the real catalog has %d personas, the tests expect 10", len(c.Personas))
	}
	return c.Personas
}

func newE2E(t *testing.T, opts ...devtest.Option) *e2e {
	t.Helper()
	personas := loadReal(t)
	issued := &issuedSecrets{}
	e := newE2EWith(t, devtest.Start(t, append(opts, devtest.WithIssued(issued.add))...), personas)
	e.issued = issued
	return e
}

// newE2EWith builds the world around a mana-auth-dev the test started itself.
func newE2EWith(t *testing.T, inst *devtest.Instance, personas []catalog.Persona) *e2e {
	t.Helper()
	e := &e2e{t: t, inst: inst, dir: t.TempDir(), personas: personas}
	e.catalog = filepath.Join(e.dir, "catalog.json")
	e.state = filepath.Join(e.dir, "personactl.state.json")
	e.writeCatalog(personas)
	var err error
	if e.secret, err = catalog.NewSecret(testSecret); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MANA_AUTH_URL", e.inst.URL)
	t.Setenv("MANA_ADMIN_JWT", e.inst.AdminToken)
	t.Setenv("PERSONACTL_CATALOG", e.catalog)
	t.Setenv("PERSONACTL_STATE", e.state)
	t.Setenv("PERSONACTL_WORKSPACE", "default")
	t.Setenv("PERSONA_SEED_SECRET", testSecret)
	t.Setenv("NODE_ENV", "")
	t.Setenv("NO_COLOR", "1")
	return e
}

// writeCatalog replaces the catalog file with these personas.
func (e *e2e) writeCatalog(ps []catalog.Persona) {
	e.t.Helper()
	writeCatalogFile(e.t, e.catalog, ps)
}

// writeCatalogFile writes a catalog of these personas to path.
func writeCatalogFile(t *testing.T, path string, ps []catalog.Persona) {
	t.Helper()
	b, err := json.MarshalIndent(map[string]any{"personas": ps}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// clone copies the real catalog's personas so a test can edit them.
func (e *e2e) clone() []catalog.Persona {
	out := make([]catalog.Persona, len(e.personas))
	for i, p := range e.personas {
		mix := make(map[string]float64, len(p.ModuleMix))
		for k, v := range p.ModuleMix {
			mix[k] = v
		}
		p.ModuleMix = mix
		out[i] = p
	}
	return out
}

type result struct {
	code     int
	out, err string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", r.code, r.out, r.err)
}

// run runs personactl in-process and checks that no output carries the
// admin token; collect scans its output and files for every secret.
func (e *e2e) run(args ...string) result {
	e.t.Helper()
	before := e.snapshotFiles()
	var out, errb bytes.Buffer
	code := run(args, Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	r := result{code, out.String(), errb.String()}
	e.collect(args, r, before) // the secret scan (campaign_secrets_test.go)
	if again := repeatedSentences(r.err); len(again) > 0 {
		e.t.Errorf("personactl %v: the error says %q more than once:\n%s", args, again, r.err)
	}
	if tok := e.inst.AdminToken; strings.Contains(r.out, tok) || strings.Contains(r.err, tok) {
		e.t.Fatalf("personactl %v printed the admin JWT:\n%s", args, r)
	}
	for _, p := range e.personas {
		if pw := e.secret.Password(p.Email); strings.Contains(r.out, pw) || strings.Contains(r.err, pw) {
			e.t.Fatalf("personactl %v printed the derived password of %s", args, p.Email)
		}
	}
	return r
}

var (
	// sentencePiece splits a clause into pieces: between colons, commas,
	// parentheses and full stops.
	sentencePiece = regexp.MustCompile(`[:,()]|\.\s`)
	// ownClause says something of one persona ("a@mana.test: planned as a
	// create, …"): one of a list, not a link of the chain.
	ownClause = regexp.MustCompile(`^\s*\S+@\S+: `)
	// diagnosticLine is a catalog finding ("file:3:5: error: …"), one a line.
	diagnosticLine = regexp.MustCompile(`^\S+:\d+:\d+: (error|warning): `)
)

// repeatedSentences returns what the error in stderr (from "Error: " on)
// says twice: a piece of three words or more repeated within one line (a
// chain of wrapped errors), or the same last clause ending two lines (the
// advice of two failures in a list). Error chains give each piece of
// advice once, at the top.
func repeatedSentences(stderr string) []string {
	i := strings.Index(stderr, "Error: ")
	if i < 0 {
		return nil
	}
	var again []string
	repeat := func(seen map[string]bool, piece string) {
		piece = strings.ToLower(strings.Trim(piece, " *."))
		if len(strings.Fields(piece)) < 3 {
			return
		}
		if seen[piece] && !slices.Contains(again, piece) {
			again = append(again, piece)
		}
		seen[piece] = true
	}
	ends := map[string]bool{}
	for _, line := range strings.Split(stderr[i+len("Error: "):], "\n") {
		if line = strings.TrimLeft(line, " *"); diagnosticLine.MatchString(line) {
			continue
		}
		seen := map[string]bool{}
		clauses := strings.Split(line, ";")
		for _, c := range clauses {
			if !ownClause.MatchString(c) {
				for _, piece := range sentencePiece.Split(c, -1) {
					repeat(seen, piece)
				}
			}
		}
		if last := clauses[len(clauses)-1]; !ownClause.MatchString(last) {
			repeat(ends, last)
		}
	}
	return again
}

// TestRepeatedSentences: the check finds advice given twice in a chain,
// and leaves alone what a list says of each persona.
func TestRepeatedSentences(t *testing.T) {
	for msg, want := range map[string][]string{
		"Error: refusing to destroy, nothing was changed: the plan deletes 5 personas: a, b; nothing was changed; pass --max-deletes=5\n":                       {"nothing was changed"},
		"Error: refusing to destroy, nothing was changed: the plan deletes 5 personas: a, b; pass --max-deletes=5\n":                                            nil,
		"Error: saved plan is stale, nothing was applied: a@mana.test: planned as a create, but it is live; b@mana.test: planned as a create, but it is live\n": nil,
		"Error: 2 failures:\n  * a: 500; try again later\n  * b: 503; try again later\n":                                                                        {"try again later"},
		"Error: 2 failures:\n  * a: mana-auth answered 500; try again later\n  * b: mana-auth answered 500\n":                                                   nil,
		"Error: the catalog has 2 error(s):\nc.json:3:5: error: no name; every persona needs one\nc.json:4:5: error: no name; every persona needs one\n":        nil,
	} {
		if got := repeatedSentences(msg); !slices.Equal(got, want) {
			t.Errorf("repeatedSentences(%q) = %q, want %q", msg, got, want)
		}
	}
}

// must runs personactl and fails unless it exits with code.
func (e *e2e) must(code int, args ...string) result {
	e.t.Helper()
	r := e.run(args...)
	if r.code != code {
		e.t.Fatalf("personactl %s: want exit %d, got\n%s", strings.Join(args, " "), code, r)
	}
	return r
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func (e *e2e) faults() *manaauthdev.Faults { return e.inst.Server.Faults() }

func (e *e2e) writes() int { return e.faults().WriteRequests() }

// live returns the live personas by email.
func (e *e2e) live() map[string]manaauthdev.Persona {
	e.t.Helper()
	ctx := context.Background()
	list, err := e.inst.Store.ListPersonas(ctx, time.Time{})
	if err != nil {
		e.t.Fatal(err)
	}
	out := make(map[string]manaauthdev.Persona, len(list))
	for _, l := range list {
		if _, dup := out[l.Email]; dup {
			e.t.Fatalf("two live personas with address %s", l.Email)
		}
		p, err := e.inst.Store.Persona(ctx, l.UserID)
		if err != nil {
			e.t.Fatal(err)
		}
		out[l.Email] = p
	}
	return out
}

// users counts the users whose address contains s, to catch duplicates.
func (e *e2e) users(s string) int {
	e.t.Helper()
	_, n, err := e.inst.Store.SearchUsers(context.Background(), manaauthdev.UserQuery{Search: s, Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// recorded reads the recorded state through the file backend.
func (e *e2e) recorded() *state.State {
	e.t.Helper()
	b, err := file.New(e.state)
	if err != nil {
		e.t.Fatal(err)
	}
	defer b.Close()
	st, err := b.Read(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

// post upserts a persona straight through the admin API, behind personactl's back.
func (e *e2e) post(p catalog.Persona, password string) {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{
		"email": p.Email, "name": p.Name, "password": password, "archetype": p.Archetype,
		"systemPrompt": p.SystemPrompt, "moduleMix": p.ModuleMix, "tickCadence": p.TickCadence,
	})
	req, _ := http.NewRequest(http.MethodPost, e.inst.URL+manaauthdev.PathPersonas, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.inst.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("POST %s: %s", p.Email, resp.Status)
	}
}

func emailsOf(ps []catalog.Persona) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Email
	}
	sort.Strings(out)
	return out
}

func keys(m map[string]manaauthdev.Persona) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// applyAll brings live and state to the real catalog.
func (e *e2e) applyAll() {
	e.t.Helper()
	r := e.must(0, "apply", "--auto-approve")
	if got := lastLine(r.out); got != "Apply complete! Personas: 10 created, 0 updated, 0 deleted." {
		e.t.Fatalf("first apply: last line %q\n%s", got, r)
	}
	e.faults().ResetCounts()
}

func TestE2EPlanApplyNoChanges(t *testing.T) {
	e := newE2E(t)

	r := e.must(0, "plan")
	if got := strings.Count(r.out, "will be created"); got != 10 {
		t.Errorf("plan on empty live: %d creates, want 10\n%s", got, r)
	}
	if got := lastLine(r.out); got != "Plan: 10 to create, 0 to update, 0 to delete." {
		t.Errorf("plan's last line = %q", got)
	}
	e.must(2, "plan", "--detailed-exitcode")
	if n := e.writes(); n != 0 {
		t.Errorf("plan sent %d write requests, want 0", n)
	}
	if _, err := os.Stat(e.state); !os.IsNotExist(err) {
		t.Errorf("plan created the state file (stat: %v)", err)
	}

	r = e.must(0, "apply", "--auto-approve")
	if got := lastLine(r.out); got != "Apply complete! Personas: 10 created, 0 updated, 0 deleted." {
		t.Errorf("apply's last line = %q\n%s", got, r)
	}
	live := e.live()
	if got, want := keys(live), emailsOf(e.personas); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("live after apply = %v, want %v", got, want)
	}
	for _, p := range e.personas {
		e.inst.SignIn(t, p.Email, e.secret.Password(p.Email))
		if l := live[p.Email]; l.Name != p.Name || l.SystemPrompt != p.SystemPrompt || l.Archetype != p.Archetype {
			t.Errorf("%s live = %+v, want the catalog's values", p.Email, l)
		}
	}
	st := e.recorded()
	if len(st.Personas) != 10 || st.Serial == 0 {
		t.Fatalf("state after apply: serial %d, %d personas", st.Serial, len(st.Personas))
	}

	e.faults().ResetCounts()
	r = e.must(0, "apply", "--auto-approve")
	if got := lastLine(r.out); got != "No changes." {
		t.Errorf("second apply's last line = %q\n%s", got, r)
	}
	if n := e.writes(); n != 0 {
		t.Errorf("second apply sent %d write requests, want 0", n)
	}
	if got := e.recorded().Serial; got != st.Serial {
		t.Errorf("second apply moved the serial from %d to %d", st.Serial, got)
	}
	e.must(0, "plan", "--detailed-exitcode")
}

func TestE2EPromptWordDiff(t *testing.T) {
	e := newE2E(t)
	e.applyAll()
	ps := e.clone()
	old := ps[2].SystemPrompt
	words := strings.Fields(old)
	oldWord := words[3]
	ps[2].SystemPrompt = strings.Replace(old, " "+oldWord+" ", " Zebrafisch ", 1)
	if ps[2].SystemPrompt == old {
		t.Fatalf("could not change a word of %q", old)
	}
	e.writeCatalog(ps)

	r := e.must(2, "plan", "--detailed-exitcode")
	if got := lastLine(r.out); got != "Plan: 0 to create, 1 to update, 0 to delete." {
		t.Errorf("plan's last line = %q\n%s", got, r)
	}
	if want := "[-" + oldWord + "-]{+Zebrafisch+}"; !strings.Contains(r.out, want) {
		t.Errorf("plan does not show the word diff %s\n%s", want, r)
	}
	if strings.Contains(r.out, old) {
		t.Errorf("plan prints the whole old prompt instead of a word diff\n%s", r)
	}
	r = e.must(0, "apply", "--auto-approve")
	if got := lastLine(r.out); got != "Apply complete! Personas: 0 created, 1 updated, 0 deleted." {
		t.Errorf("apply's last line = %q\n%s", got, r)
	}
	if got := e.live()[ps[2].Email].SystemPrompt; got != ps[2].SystemPrompt {
		t.Errorf("live prompt = %q, want the new one", got)
	}
}

func TestE2EDriftOutsidePersonactl(t *testing.T) {
	e := newE2E(t)
	e.applyAll()
	target := e.personas[1]
	id := e.live()[target.Email].UserID
	edited := "edited by hand in the database"
	if err := e.inst.Store.EditPersona(context.Background(), id, manaauthdev.PersonaEdit{SystemPrompt: &edited}); err != nil {
		t.Fatal(err)
	}

	r := e.must(2, "plan", "--detailed-exitcode")
	if !strings.Contains(r.out, "changed outside personactl") || !strings.Contains(r.out, target.Email) {
		t.Errorf("plan does not mark %s as changed outside personactl\n%s", target.Email, r)
	}
	if got := lastLine(r.out); got != "Plan: 0 to create, 1 to update, 0 to delete." {
		t.Errorf("plan's last line = %q", got)
	}
	r = e.must(2, "drift")
	if !strings.Contains(r.out, target.Email) {
		t.Errorf("drift does not name %s\n%s", target.Email, r)
	}
	e.must(2, "plan", "--refresh-only", "--detailed-exitcode")
	if n := e.writes(); n != 0 {
		t.Errorf("plan and drift sent %d writes", n)
	}

	e.must(0, "apply", "--auto-approve")
	if got := e.live()[target.Email].SystemPrompt; got != target.SystemPrompt {
		t.Errorf("apply did not restore the prompt: %q", got)
	}
	e.must(0, "drift")
	e.must(0, "plan", "--refresh-only", "--detailed-exitcode")
}

func TestE2EUnmanagedOnlyDeletedWithPrune(t *testing.T) {
	e := newE2E(t)
	e.applyAll()
	stray := catalog.Persona{Name: "Stray", Email: "persona.stray@mana.test", Archetype: "other", SystemPrompt: "Du bist niemand.", ModuleMix: map[string]float64{"todo": 1}, TickCadence: "daily"}
	e.post(stray, "a-password-of-some-length")
	e.faults().ResetCounts()

	r := e.must(0, "plan", "--detailed-exitcode")
	if !strings.Contains(r.out, stray.Email) || !strings.Contains(strings.ToLower(r.out), "unmanaged") {
		t.Errorf("plan does not report the unmanaged persona\n%s", r)
	}
	r = e.must(0, "apply", "--auto-approve")
	if _, ok := e.live()[stray.Email]; !ok {
		t.Fatalf("apply without --prune deleted the unmanaged persona\n%s", r)
	}
	if n := e.faults().Requests(http.MethodDelete, manaauthdev.PathPersona); n != 0 {
		t.Errorf("apply without --prune sent %d deletes", n)
	}

	r = e.must(2, "plan", "--prune", "--detailed-exitcode")
	if got := lastLine(r.out); got != "Plan: 0 to create, 0 to update, 1 to delete." {
		t.Errorf("plan --prune's last line = %q\n%s", got, r)
	}
	r = e.must(0, "apply", "--prune", "--auto-approve")
	if got := lastLine(r.out); got != "Apply complete! Personas: 0 created, 0 updated, 1 deleted." {
		t.Errorf("apply --prune's last line = %q\n%s", got, r)
	}
	if live := e.live(); len(live) != 10 {
		t.Errorf("after prune: %d live, want 10", len(live))
	} else if _, ok := live[stray.Email]; ok {
		t.Errorf("apply --prune left %s", stray.Email)
	}
}

func TestE2ERemoveThenDestroy(t *testing.T) {
	e := newE2E(t)
	e.applyAll()
	ps := e.clone()
	gone := ps[9]
	e.writeCatalog(ps[:9])

	r := e.must(2, "plan", "--detailed-exitcode")
	if got := lastLine(r.out); got != "Plan: 0 to create, 0 to update, 1 to delete." {
		t.Errorf("plan's last line = %q\n%s", got, r)
	}
	r = e.must(0, "apply", "--auto-approve")
	if got := lastLine(r.out); got != "Apply complete! Personas: 0 created, 0 updated, 1 deleted." {
		t.Errorf("apply's last line = %q\n%s", got, r)
	}
	if _, ok := e.live()[gone.Email]; ok {
		t.Errorf("%s still live", gone.Email)
	}
	if _, ok := e.recorded().Find(gone.Email); ok {
		t.Errorf("%s still recorded", gone.Email)
	}

	// One persona this setup does not manage: destroy leaves it, and
	// destroy --all deletes it, marked as not in the catalog.
	stray := catalog.Persona{Name: "Stray", Email: "persona.stray@mana.test", Archetype: "other", SystemPrompt: "Du bist niemand, nur ein Test.", ModuleMix: map[string]float64{"todo": 1}, TickCadence: "daily"}
	e.post(stray, "a-password-of-some-length")

	r = e.must(2, "plan", "--destroy", "--detailed-exitcode")
	if got := lastLine(r.out); got != "Plan: 0 to create, 0 to update, 9 to delete." {
		t.Errorf("plan --destroy's last line = %q\n%s", got, r)
	}
	r = e.must(0, "destroy", "--auto-approve")
	if got := lastLine(r.out); got != "Destroy complete! Personas: 9 deleted." {
		t.Errorf("destroy's last line = %q\n%s", got, r)
	}
	if live := e.live(); len(live) != 1 {
		t.Errorf("after destroy %d personas are live: %v, want only %s", len(live), keys(live), stray.Email)
	}
	if st := e.recorded(); len(st.Personas) != 0 {
		t.Errorf("after destroy %d personas are recorded", len(st.Personas))
	}
	e.must(0, "plan", "--destroy", "--detailed-exitcode")

	r = e.must(2, "plan", "--destroy", "--all", "--detailed-exitcode")
	if got := lastLine(r.out); got != "Plan: 0 to create, 0 to update, 1 to delete." || !strings.Contains(r.out, stray.Email+" will be deleted (not in the catalog)") {
		t.Errorf("plan --destroy --all does not delete the persona not in the catalog, marked\n%s", r)
	}
	e.must(0, "destroy", "--all", "--auto-approve")
	if live := e.live(); len(live) != 0 {
		t.Errorf("after destroy --all %d personas are live: %v", len(live), keys(live))
	}
	e.must(0, "plan", "--destroy", "--all", "--detailed-exitcode")
}

func TestE2EReplaceAppliesName(t *testing.T) {
	e := newE2E(t)
	e.applyAll()
	ps := e.clone()
	ps[0].Name = "Annabelle"
	e.writeCatalog(ps)

	// A name only --replace can apply is still a difference: CI must not
	// read it as "No changes."
	r := e.must(2, "plan", "--detailed-exitcode")
	if !strings.Contains(r.out, "--replace") || strings.Contains(r.out, "No changes.") {
		t.Errorf("a name change without --replace carries no warning naming the flag, or says No changes.\n%s", r)
	}
	r = e.must(2, "plan", "--replace="+ps[0].Email, "--detailed-exitcode")
	if !strings.Contains(r.out, "-/+") {
		t.Errorf("plan --replace shows no replace\n%s", r)
	}
	r = e.must(0, "apply", "--replace="+ps[0].Email, "--auto-approve")
	if !strings.Contains(lastLine(r.out), "1 replaced") {
		t.Errorf("apply --replace's last line = %q\n%s", lastLine(r.out), r)
	}
	live := e.live()
	if got := live[ps[0].Email].Name; got != "Annabelle" {
		t.Errorf("live name after replace = %q, want Annabelle", got)
	}
	if len(live) != 10 || e.users(ps[0].Email) != 1 {
		t.Errorf("after replace: %d live, %d users with %s", len(live), e.users(ps[0].Email), ps[0].Email)
	}
	e.inst.SignIn(t, ps[0].Email, e.secret.Password(ps[0].Email))
	e.must(0, "plan", "--detailed-exitcode")
}

func TestE2EPersonsAddressStopsPlan(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(e *e2e, email string)
	}{
		{"signed in", func(e *e2e, email string) { e.inst.SignedInHuman(e.t, email, "A Person") }},
		{"never signed in", func(e *e2e, email string) {
			e.inst.SignUpHuman(e.t, email, "their-own-password", "A Person")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newE2E(t)
			person := e.personas[4].Email
			tc.make(e, person)
			e.faults().ResetCounts()

			r := e.must(1, "plan")
			if !strings.Contains(r.out+r.err, person) {
				t.Errorf("plan does not name %s\n%s", person, r)
			}
			r = e.must(1, "apply", "--auto-approve")
			if n := e.writes(); n != 0 {
				t.Errorf("%d write requests with a person's address in the catalog", n)
			}
			if live := e.live(); len(live) != 0 {
				t.Errorf("personas created: %v", keys(live))
			}
			if _, err := os.Stat(e.state); !os.IsNotExist(err) {
				t.Errorf("state written (stat: %v)", err)
			}
		})
	}
}

func TestE2ESavedPlan(t *testing.T) {
	e := newE2E(t)
	planFile := filepath.Join(e.dir, "tfplan")
	e.must(0, "plan", "--out="+planFile)
	if n := e.writes(); n != 0 {
		t.Errorf("plan --out sent %d writes", n)
	}
	b, err := os.ReadFile(planFile)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(e.inst.AdminToken)) || bytes.Contains(b, []byte(e.secret.Password(e.personas[0].Email))) {
		t.Errorf("the plan file holds a secret")
	}
	r := e.must(0, "show", planFile)
	if got := lastLine(r.out); got != "Plan: 10 to create, 0 to update, 0 to delete." {
		t.Errorf("show's last line = %q\n%s", got, r)
	}
	// A saved plan is the approval, as in Terraform: apply FILE does not
	// ask, even off a terminal.
	r = e.must(0, "apply", planFile)
	if got := lastLine(r.out); got != "Apply complete! Personas: 10 created, 0 updated, 0 deleted." {
		t.Errorf("apply PLANFILE's last line = %q\n%s", got, r)
	}

	// A plan that goes stale: live changes between plan and apply.
	ps := e.clone()
	ps[3].TickCadence = "hourly"
	e.writeCatalog(ps)
	e.must(0, "plan", "--out="+planFile)
	edited := "changed between plan and apply"
	if err := e.inst.Store.EditPersona(context.Background(), e.live()[ps[3].Email].UserID, manaauthdev.PersonaEdit{SystemPrompt: &edited}); err != nil {
		t.Fatal(err)
	}
	serial := e.recorded().Serial
	e.faults().ResetCounts()
	r = e.must(1, "apply", "--auto-approve", planFile)
	if !strings.Contains(r.err, "saved plan is stale") {
		t.Errorf("stale plan: no \"saved plan is stale\"\n%s", r)
	}
	if n := e.writes(); n != 0 {
		t.Errorf("stale plan: %d writes", n)
	}
	if got := e.live()[ps[3].Email]; got.SystemPrompt != edited || got.TickCadence == "hourly" {
		t.Errorf("stale plan changed live: %+v", got)
	}
	if got := e.recorded().Serial; got != serial {
		t.Errorf("stale plan moved the serial %d -> %d", serial, got)
	}
}

func TestE2EApplyRefusesOffTerminal(t *testing.T) {
	e := newE2E(t)
	r := e.must(1, "apply")
	if !strings.Contains(r.err, "--auto-approve") {
		t.Errorf("refusal does not name --auto-approve\n%s", r)
	}
	if n := e.writes(); n != 0 {
		t.Errorf("%d writes without approval", n)
	}
	if live := e.live(); len(live) != 0 {
		t.Errorf("personas created without approval: %v", keys(live))
	}
	e.must(0, "apply", "--auto-approve")
	e.faults().ResetCounts()
	r = e.must(1, "destroy")
	if n := e.writes(); n != 0 || len(e.live()) != 10 {
		t.Errorf("destroy without approval: %d writes, %d live", n, len(e.live()))
	}
}

func TestE2ERollback(t *testing.T) {
	e := newE2E(t)
	e.applyAll()
	before := e.live()
	st := e.recorded()

	ps := e.clone()
	ps[0].TickCadence = "hourly" // update
	ps[1].SystemPrompt += " Neu."
	removed := ps[9] // delete, must not run
	extra := []catalog.Persona{
		{Name: "Neu Eins", Email: "persona.neu1@mana.test", Archetype: "other", SystemPrompt: "Du bist Eins, eine neue Persona.", ModuleMix: map[string]float64{"todo": 1}, TickCadence: "daily"},
		{Name: "Neu Zwei", Email: "persona.neu2@mana.test", Archetype: "other", SystemPrompt: "Du bist Zwei, eine neue Persona.", ModuleMix: map[string]float64{"todo": 1}, TickCadence: "daily"},
	}
	next := append(append([]catalog.Persona{}, ps[:9]...), extra...)
	e.writeCatalog(next)
	e.faults().FailWritesFor(extra[1].Email)
	e.faults().ResetCounts()

	r := e.must(1, "apply", "--auto-approve", "--parallelism=1")
	if !strings.Contains(r.err, extra[1].Email) {
		t.Errorf("the error does not name %s\n%s", extra[1].Email, r)
	}
	after := e.live()
	if fmt.Sprint(keys(after)) != fmt.Sprint(keys(before)) {
		t.Errorf("live after rollback = %v, want %v", keys(after), keys(before))
	}
	for email, b := range before {
		a := after[email]
		if a.UserID != b.UserID || a.SystemPrompt != b.SystemPrompt || a.TickCadence != b.TickCadence || a.Name != b.Name || a.Archetype != b.Archetype {
			t.Errorf("%s not restored: before %+v, after %+v", email, b, a)
		}
	}
	if _, ok := after[removed.Email]; !ok {
		t.Errorf("the delete of %s ran although the apply failed", removed.Email)
	}
	if n := e.users("persona.neu"); n != 0 {
		t.Errorf("%d users created by the failed apply remain", n)
	}
	if got := e.recorded(); got.Serial != st.Serial || len(got.Personas) != len(st.Personas) {
		t.Errorf("state changed: serial %d -> %d, %d -> %d personas", st.Serial, got.Serial, len(st.Personas), len(got.Personas))
	}
	// A rolled-back apply finished: nothing reports it as interrupted, and
	// once the fault is gone the same catalog applies.
	e.faults().Reset()
	r = e.must(2, "plan", "--detailed-exitcode")
	if strings.Contains(r.err, "interrupted") {
		t.Errorf("the rolled-back apply is reported as interrupted\n%s", r)
	}
	r = e.must(0, "apply", "--auto-approve")
	if got := lastLine(r.out); got != "Apply complete! Personas: 2 created, 2 updated, 1 deleted." {
		t.Errorf("apply after the fault: %q\n%s", got, r)
	}
}

func TestE2ELostAnswerRetried(t *testing.T) {
	e := newE2E(t)
	e.faults().SetLostAnswerRate(0.3)
	r := e.must(0, "apply", "--auto-approve")
	if got := lastLine(r.out); got != "Apply complete! Personas: 10 created, 0 updated, 0 deleted." {
		t.Errorf("apply's last line = %q\n%s", got, r)
	}
	e.faults().SetLostAnswerRate(0)
	if live := e.live(); len(live) != 10 {
		t.Errorf("%d live, want 10", len(live))
	}
	for _, p := range e.personas {
		if n := e.users(p.Email); n != 1 {
			t.Errorf("%d users with %s, want 1", n, p.Email)
		}
	}
	e.must(0, "plan", "--detailed-exitcode")
}

func TestE2ELockHeld(t *testing.T) {
	e := newE2E(t)
	b, err := file.New(e.state)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	lock, err := b.Lock(context.Background(), "holding-for-a-test", 0)
	if err != nil {
		t.Fatal(err)
	}
	r := e.must(1, "apply", "--auto-approve")
	if !strings.Contains(r.err, "locked") || !strings.Contains(r.err, "holding-for-a-test") || !strings.Contains(r.err, lock.Info().ID) {
		t.Errorf("the refusal does not name the holder\n%s", r)
	}
	if n := e.writes(); n != 0 {
		t.Errorf("%d writes while locked", n)
	}

	// With --lock-timeout the run waits: it is released only once it is
	// inside Lock, so its success shows it waited for the holder.
	waiting := make(chan struct{})
	testHooks.Backend = func(b state.Backend) state.Backend { return lockEntered{b, waiting} }
	defer func() { testHooks.Backend = nil }()
	done := make(chan result, 1)
	go func() {
		var out, errb bytes.Buffer
		code := run([]string{"apply", "--auto-approve", "--lock-timeout=60s"}, Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
		done <- result{code, out.String(), errb.String()}
	}()
	<-waiting
	if err := lock.Release(); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.code != 0 {
		t.Fatalf("apply --lock-timeout after the holder released: %s", r)
	}
	if live := e.live(); len(live) != 10 {
		t.Errorf("%d live, want 10", len(live))
	}
}

// lockEntered tells, once, that a run asked for the state lock.
type lockEntered struct {
	state.Backend
	entered chan struct{}
}

func (b lockEntered) Lock(ctx context.Context, op string, timeout time.Duration) (state.Lock, error) {
	close(b.entered)
	return b.Backend.Lock(ctx, op, timeout)
}

func TestE2ECrashRecovery(t *testing.T) {
	e := newE2E(t)
	// An apply that died after creating three personas: its journal entry
	// is open and nothing was recorded.
	b, err := file.New(e.state)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	lock, err := b.Lock(ctx, "apply", 0)
	if err != nil {
		t.Fatal(err)
	}
	entry := state.JournalEntry{ID: "deadbeefdeadbeef", Operation: "apply", Started: time.Now().UTC().Add(-time.Minute)}
	if err := lock.OpenJournal(ctx, entry); err != nil {
		t.Fatal(err)
	}
	for _, p := range e.personas[:3] {
		e.post(p, e.secret.Password(p.Email))
		if err := lock.AppendSteps(ctx, entry.ID, []state.JournalStep{{Email: p.Email, Action: "create", Result: state.StepDone, Finished: time.Now().UTC()}}); err != nil {
			t.Fatal(err)
		}
	}
	lock.Release()
	b.Close()

	r := e.must(0, "plan")
	if !strings.Contains(r.err, "interrupted") || !strings.Contains(r.err, entry.ID) {
		t.Errorf("plan does not report the interrupted run\n%s", r)
	}
	if got := lastLine(r.out); got != "Plan: 7 to create, 0 to update, 0 to delete." {
		t.Errorf("plan's last line = %q\n%s", got, r)
	}
	e.must(0, "apply", "--auto-approve")
	if live := e.live(); len(live) != 10 {
		t.Errorf("%d live, want 10", len(live))
	}
	for _, p := range e.personas {
		if n := e.users(p.Email); n != 1 {
			t.Errorf("%d users with %s", n, p.Email)
		}
		e.inst.SignIn(t, p.Email, e.secret.Password(p.Email))
	}
	if st := e.recorded(); len(st.Personas) != 10 {
		t.Errorf("%d recorded, want 10", len(st.Personas))
	}
	b, _ = file.New(e.state)
	defer b.Close()
	if open, err := b.OpenJournals(ctx); err != nil || len(open) != 0 {
		t.Errorf("journal still open after apply: %v %v", open, err)
	}
	r = e.must(0, "plan", "--detailed-exitcode")
	if strings.Contains(r.err, "interrupted") {
		t.Errorf("plan still reports the interrupted run\n%s", r)
	}
}

func TestE2EPostgresState(t *testing.T) {
	e := newE2E(t)
	e.state = devtest.FreshDatabase(t)
	t.Setenv("PERSONACTL_STATE", e.state)

	e.must(2, "plan", "--detailed-exitcode")
	r := e.must(0, "apply", "--auto-approve")
	if got := lastLine(r.out); got != "Apply complete! Personas: 10 created, 0 updated, 0 deleted." {
		t.Errorf("apply's last line = %q\n%s", got, r)
	}
	e.faults().ResetCounts()
	r = e.must(0, "apply", "--auto-approve")
	if got := lastLine(r.out); got != "No changes." || e.writes() != 0 {
		t.Errorf("second apply: %q, %d writes", got, e.writes())
	}
	ps := e.clone()
	ps[5].TickCadence = "hourly"
	e.writeCatalog(ps)
	r = e.must(0, "apply", "--auto-approve")
	if got := lastLine(r.out); got != "Apply complete! Personas: 0 created, 1 updated, 0 deleted." {
		t.Errorf("update: %q\n%s", got, r)
	}
	r = e.must(0, "state", "list")
	if got := strings.Count(r.out, "@mana.test"); got != 10 {
		t.Errorf("state list shows %d personas\n%s", got, r)
	}
	r = e.must(0, "destroy", "--auto-approve")
	if got := lastLine(r.out); got != "Destroy complete! Personas: 10 deleted." {
		t.Errorf("destroy: %q\n%s", got, r)
	}
	if live := e.live(); len(live) != 0 {
		t.Errorf("%d live after destroy", len(live))
	}
	e.must(0, "plan", "--destroy", "--detailed-exitcode")
}

func TestE2EBadInput(t *testing.T) {
	e := newE2E(t)
	bad := filepath.Join(e.dir, "bad.json")
	if err := os.WriteFile(bad, []byte("{\n  \"personas\": [\n    {\"name\": \"X\", \"email\": \"not-an-address\", \"archetype\": 7}\n  ]\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range [][]string{{"plan"}, {"apply", "--auto-approve"}, {"validate"}} {
		r := e.must(1, append(cmd, "--catalog="+bad)...)
		if !strings.Contains(r.err, bad+":3:") {
			t.Errorf("%v: no file:line:col\n%s", cmd, r)
		}
	}
	// The reads overlap loading the catalog; nothing is written.
	if n := e.writes(); n != 0 {
		t.Errorf("%d writes sent with a bad catalog", n)
	}
	e.faults().ResetCounts()

	r := e.must(1, "plan", "--no-such-flag")
	if !strings.Contains(r.err, "no-such-flag") {
		t.Errorf("unknown flag not named\n%s", r)
	}

	r = e.must(1, "plan", "--auth=http://mana.example.com")
	if !strings.Contains(r.err, "refusing plain http://") {
		t.Errorf("plain http off loopback not refused\n%s", r)
	}
	// The JWT in a flag is not echoed either (run checks every output).
	e.must(1, "plan", "--jwt="+e.inst.AdminToken, "--auth=http://mana.example.com")
	if n := e.faults().Counts(); len(n) != 0 {
		t.Errorf("requests sent: %v", n)
	}
}
