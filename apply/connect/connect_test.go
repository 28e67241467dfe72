package connect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mana/personactl/apply"
	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/plan"
	"github.com/mana/personactl/state/adminapi"
)

// settings are valid settings over a state file in a fresh directory.
func settings(t *testing.T) Settings {
	t.Helper()
	dir := t.TempDir()
	return Settings{
		Catalog:     filepath.Join(dir, "catalog.json"),
		Auth:        "http://127.0.0.1:3001",
		Token:       "admin-token",
		State:       filepath.Join(dir, "personactl.state.json"),
		Workspace:   "default",
		Parallelism: 4,
		Stderr:      &bytes.Buffer{},
		LookupEnv:   func(string) (string, bool) { return "", false },
	}
}

func wantError(t *testing.T, err error, words ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one saying %q", words)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
}

const onePersona = `{"personas": [{"name": "Anna", "email": "anna@mana.test", "archetype": "adhd-student",
  "systemPrompt": "Du bist Anna, 28, und schreibst kurz.", "moduleMix": {"todo": 0.6, "journal": 0.4}, "tickCadence": "daily"}]}`

func TestOpenRefusesBadNumbersBeforeAnythingElse(t *testing.T) {
	s := settings(t)
	s.Parallelism = 0
	s.Auth = "not a url" // checked later: the numbers are named first
	_, err := Open(context.Background(), s, Needs{})
	wantError(t, err, "--parallelism=0", "at least 1")

	s = settings(t)
	s.LockTimeout = -5e9
	_, err = Open(context.Background(), s, Needs{})
	wantError(t, err, "--lock-timeout=-5s", "must not be negative")
}

func TestAuthURL(t *testing.T) {
	for _, tt := range []struct {
		auth     string
		insecure bool
		err      []string
	}{
		{auth: "http://localhost:3001"},
		{auth: "http://127.0.0.1:3001"},
		{auth: "http://[::1]:3001"},
		{auth: "http://mana.localhost:3001"},
		{auth: "https://auth.mana.example"},
		{auth: "http://auth.mana.example", insecure: true},
		{auth: "http://auth.mana.example", err: []string{"refusing plain http:// to auth.mana.example", "--insecure-http"}},
		{auth: "ftp://localhost", err: []string{"not an http(s) URL", "MANA_AUTH_URL"}},
		{auth: "localhost:3001", err: []string{"not an http(s) URL"}},
		{auth: "https://auth.mana.example:bad?sig=SECRET", err: []string{"not an http(s) URL", "sig=xxxxx"}},
	} {
		s := settings(t)
		s.Auth, s.InsecureHTTP = tt.auth, tt.insecure
		u, err := s.AuthURL()
		if tt.err == nil {
			if err != nil || u == nil {
				t.Errorf("AuthURL(%q) = %v, %v; want the URL", tt.auth, u, err)
			}
			continue
		}
		wantError(t, err, tt.err...)
		if err != nil && strings.Contains(err.Error(), "SECRET") {
			t.Errorf("AuthURL(%q) shows the query: %v", tt.auth, err)
		}
	}
}

func TestResolveToken(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good := write("good", "  from-file\n")

	s := settings(t)
	if tok, err := s.ResolveToken(); tok != "admin-token" || err != nil {
		t.Errorf("ResolveToken = %q, %v; want the token itself", tok, err)
	}
	if got := s.Stderr.(*bytes.Buffer).String(); got != "" {
		t.Errorf("a token from the environment warns %q", got)
	}

	s.TokenInArgs = true
	if _, err := s.ResolveToken(); err != nil {
		t.Fatal(err)
	}
	if got := s.Stderr.(*bytes.Buffer).String(); !strings.Contains(got, "visible to every user") {
		t.Errorf("a token on the command line does not warn: %q", got)
	}

	s = settings(t)
	s.Token, s.TokenFile = "", good
	if tok, err := s.ResolveToken(); tok != "from-file" || err != nil {
		t.Errorf("ResolveToken from a file = %q, %v; want %q", tok, err, "from-file")
	}
	s.TokenFile = write("bom", "\uFEFFfrom-file\r\n")
	if tok, err := s.ResolveToken(); tok != "from-file" || err != nil {
		t.Errorf("ResolveToken from a file with a byte-order mark = %q, %v; want %q", tok, err, "from-file")
	}
	s.TokenFile, s.Stdin = "-", strings.NewReader("from-stdin\n")
	if tok, err := s.ResolveToken(); tok != "from-stdin" || err != nil {
		t.Errorf("ResolveToken from standard input = %q, %v", tok, err)
	}
	s.Stdin = nil
	_, err := s.ResolveToken()
	wantError(t, err, "standard input")

	for _, tt := range []struct {
		token, file string
		words       []string
	}{
		{"admin-token", good, []string{"MANA_ADMIN_JWT and MANA_ADMIN_JWT_FILE both give the admin token", "keep one"}},
		{"", write("empty", " \n"), []string{"does not hold one admin JWT"}},
		{"", write("two", "one two\n"), []string{"does not hold one admin JWT", "several words"}},
		{"", filepath.Join(dir, "missing"), []string{"reading the admin JWT from", "no such file", "--jwt-file"}},
	} {
		s := settings(t)
		s.Token, s.TokenFile = tt.token, tt.file
		tok, err := s.ResolveToken()
		if tok != "" {
			t.Errorf("ResolveToken(%q, %q) returned a token %q with its error", tt.token, tt.file, tok)
		}
		wantError(t, err, tt.words...)
	}
}

func TestTokenInArgs(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want bool
	}{
		{[]string{"plan", "--jwt=abc"}, true},
		{[]string{"plan", "--jwt", "abc"}, true},
		{[]string{"plan", "--jwt-file=token"}, false},
		{[]string{"plan", "--", "--jwt=abc"}, false},
		{[]string{"plan"}, false},
	} {
		if got := TokenInArgs(tt.args); got != tt.want {
			t.Errorf("TokenInArgs(%q) = %v, want %v", tt.args, got, tt.want)
		}
	}
}

func TestOpenNeedsAToken(t *testing.T) {
	s := settings(t)
	s.Token = ""
	_, err := Open(context.Background(), s, Needs{})
	wantError(t, err, "no admin token", "MANA_ADMIN_JWT", "http://127.0.0.1:3001")
}

func TestOpenResolvesTheSeedSecretOnlyWhenNeeded(t *testing.T) {
	production := func(key string) (string, bool) {
		if key == "NODE_ENV" {
			return "production", true
		}
		return "", false
	}
	s := settings(t)
	s.LookupEnv = production
	r, err := Open(context.Background(), s, Needs{SecretIfSet: true})
	if err != nil {
		t.Fatalf("a run that uses the secret only when set failed without one: %v", err)
	}
	if r.Secret != nil {
		t.Error("a secret was resolved though PERSONA_SEED_SECRET is not set")
	}
	r.Close()

	_, err = Open(context.Background(), s, Needs{Secret: true})
	if !errors.Is(err, catalog.ErrFallbackInProduction) {
		t.Errorf("Open needing the secret in production without one: %v, want ErrFallbackInProduction", err)
	}

	s.LookupEnv = func(key string) (string, bool) {
		if key == "PERSONA_SEED_SECRET" {
			return "a-secret", true
		}
		return "", false
	}
	r, err = Open(context.Background(), s, Needs{SecretIfSet: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Secret == nil || r.Loop.Secret != r.Secret {
		t.Error("PERSONA_SEED_SECRET is set, but the loop has no secret")
	}
}

func TestNeedsOfEachRun(t *testing.T) {
	withToken := Settings{Token: "t"}
	liveOnly := Settings{Live: "postgres://mana-auth"}
	liveWithTokenFile := Settings{Live: "postgres://mana-auth", TokenFile: "jwt"}
	saved := func(actions ...plan.Action) *plan.Plan {
		p := &plan.Plan{}
		for i, a := range actions {
			p.Changes = append(p.Changes, plan.Change{Action: a, Email: fmt.Sprintf("p%d@example.com", i)})
		}
		return p
	}
	for _, tc := range []struct {
		name string
		got  Needs
		want Needs
	}{
		{"plan", withToken.PlanNeeds(plan.Options{}), Needs{Catalog: true, Secret: true}},
		{"plan --destroy", withToken.PlanNeeds(plan.Options{Destroy: true}), Needs{Catalog: true, CatalogOptional: true, SecretIfSet: true}},
		{"plan --refresh-only (and drift)", withToken.PlanNeeds(plan.Options{RefreshOnly: true}), Needs{Catalog: true, SecretIfSet: true}},
		{"plan --live without a token writes nothing", liveOnly.PlanNeeds(plan.Options{}), Needs{Catalog: true, SecretIfSet: true}},
		{"plan --live with a token file", liveWithTokenFile.PlanNeeds(plan.Options{}), Needs{Catalog: true, Secret: true}},
		{"apply", ApplyNeeds(nil, plan.Options{}), Needs{Catalog: true, Secret: true, Writes: true}},
		{"destroy", ApplyNeeds(nil, plan.Options{Destroy: true}), Needs{Catalog: true, CatalogOptional: true, Writes: true}},
		{"apply of a saved plan that deletes", ApplyNeeds(saved(plan.Delete), plan.Options{}), Needs{Writes: true}},
		{"apply of a saved plan that creates", ApplyNeeds(saved(plan.Delete, plan.Create), plan.Options{}), Needs{Secret: true, Writes: true}},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: needs %+v, want %+v", tc.name, tc.got, tc.want)
		}
	}
}

func TestOpenBuildsTheLoopOnWhatItOpened(t *testing.T) {
	s := settings(t)
	r, err := Open(context.Background(), s, Needs{Writes: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Client == nil || r.Live == nil || r.Backend == nil {
		t.Fatalf("Open left a side unopened: %+v", r)
	}
	l := r.Loop
	if l.Backend != r.Backend || l.Live != r.Live || l.Workspace != "default" || l.Parallelism != 4 || !l.CountsRequests {
		t.Errorf("the loop is not built on what was opened: %+v", l)
	}
	if l.Catalog != nil {
		t.Error("a run that needs no catalog loads one")
	}
	if !strings.Contains(r.Backend.Describe(), "personactl.state.json") {
		t.Errorf("the state is %s, want the file named", r.Backend.Describe())
	}
	if !r.TokenExpiry().IsZero() {
		t.Errorf("a token that names no expiry expires at %v", r.TokenExpiry())
	}
}

func TestOpenCatalog(t *testing.T) {
	s := settings(t)
	r, err := Open(context.Background(), s, Needs{Catalog: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Loop.Catalog(); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing catalog loads with %v, want an error that it does not exist", err)
	}

	r2, err := Open(context.Background(), s, Needs{Catalog: true, CatalogOptional: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	c, err := r2.Loop.Catalog()
	if err != nil || c == nil || len(c.Personas) != 0 || c.Path != s.Catalog || !c.Missing {
		t.Errorf("a missing optional catalog is %+v, %v; want an empty catalog at its path, said to be missing", c, err)
	}
	if err := os.WriteFile(s.Catalog, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := r2.Loop.Catalog(); err == nil {
		t.Error("an optional catalog that is there but invalid loads without an error")
	}
}

func TestLoadCatalogReportsFindings(t *testing.T) {
	s := settings(t)
	var annotated []catalog.Diagnostic
	s.Annotate = func(d []catalog.Diagnostic) { annotated = append(annotated, d...) }

	warning := strings.Replace(onePersona, `"journal": 0.4`, `"journal": 0.2`, 1) // weights sum to 0.8
	if err := os.WriteFile(s.Catalog, []byte(warning), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := s.LoadCatalog()
	if err != nil || len(c.Personas) != 1 {
		t.Fatalf("LoadCatalog = %v, %v", c, err)
	}
	if got := s.Stderr.(*bytes.Buffer).String(); !strings.Contains(got, "sum to 0.8") {
		t.Errorf("the warning was not printed: %q", got)
	}
	if len(annotated) != 1 || annotated[0].Severity != catalog.SeverityWarning {
		t.Errorf("annotated %+v, want the one warning", annotated)
	}

	annotated = nil
	broken := strings.Replace(onePersona, `"anna@mana.test"`, `"not an address"`, 1)
	if err := os.WriteFile(s.Catalog, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = s.LoadCatalog()
	wantError(t, err, "the catalog has 1 error(s); fix them and run again", "email")
	if len(annotated) != 1 || annotated[0].Severity != catalog.SeverityError {
		t.Errorf("annotated %+v, want the one error", annotated)
	}

	annotated = nil
	both := strings.Replace(broken, `"journal": 0.4`, `"journal": 0.2`, 1)
	if err := os.WriteFile(s.Catalog, []byte(both), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = s.LoadCatalog()
	wantError(t, err, "the catalog has 1 error(s) and 1 warning(s); fix them")
	if len(annotated) != 2 {
		t.Errorf("annotated %+v, want the error and the warning", annotated)
	}

	s.Strict = true
	if err := os.WriteFile(s.Catalog, []byte(warning), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = s.LoadCatalog()
	wantError(t, err, "the catalog has 1 error(s); fix them") // --strict: the warning is an error
}

func TestOpenStateRefusesABadWorkspaceName(t *testing.T) {
	for _, name := range []string{"", " ", "a b", "staging\n", strings.Repeat("w", 64), "prod/eu", "ü"} {
		s := settings(t)
		s.State, s.Workspace = "postgres://postgres@127.0.0.1:1/none", name
		_, err := s.OpenState(context.Background())
		wantError(t, err, "is not a workspace name")
	}
	for _, name := range []string{"default", "staging.eu-1", "W_2", strings.Repeat("w", 63)} {
		if err := CheckWorkspace(name); err != nil {
			t.Errorf("%q refused: %v", name, err)
		}
	}
}

// TestAtMostOneInputReadsStandardInput: two inputs set to - are refused
// before either is read, naming both; one alone reads it.
func TestAtMostOneInputReadsStandardInput(t *testing.T) {
	s := settings(t)
	stdin := strings.NewReader("admin-token\n")
	s.Stdin, s.Token, s.TokenFile, s.Catalog = stdin, "", "-", "-"
	_, err := Open(context.Background(), s, Needs{Writes: true})
	wantError(t, err, "--catalog (PERSONACTL_CATALOG) and --jwt-file (MANA_ADMIN_JWT_FILE) each read standard input")
	if stdin.Len() != len("admin-token\n") {
		t.Error("standard input was read")
	}
	s.Catalog = settings(t).Catalog
	r, err := Open(context.Background(), s, Needs{Writes: true})
	if err != nil {
		t.Fatalf("--jwt-file=- alone: %v", err)
	}
	r.Close()
	if stdin.Len() != 0 {
		t.Error("--jwt-file=- alone did not read standard input")
	}
}

func TestInputs(t *testing.T) {
	s := settings(t)
	s.TokenFile = filepath.Join(t.TempDir(), "admin.jwt")
	in := s.Inputs()
	if in[s.Catalog] != "the catalog" || in[s.State] == "" || in[s.TokenFile] == "" {
		t.Errorf("Inputs of a state file = %v; want the catalog, the admin JWT's file and the state", in)
	}
	s.TokenFile = ""
	if len(in) < 3 {
		t.Errorf("Inputs of a state file = %v; want its backup, journal and lock too", in)
	}
	s.State = "postgresql://postgres@127.0.0.1/db"
	if in := s.Inputs(); len(in) != 1 {
		t.Errorf("Inputs of a PostgreSQL state = %v; want only the catalog", in)
	}
	for ref, want := range map[string]bool{"postgres://x": true, "postgresql://x": true, "state.json": false, "postgres.json": false} {
		if IsDSN(ref) != want {
			t.Errorf("IsDSN(%q) = %v", ref, !want)
		}
	}
}

func TestWritesCarryTheAdminAPIsRules(t *testing.T) {
	s := settings(t)
	r, err := Open(context.Background(), s, Needs{Writes: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var events int
	o := r.Writes(true, func(apply.Event) { events++ })
	if o.Parallelism != 4 || !o.NoRollback || o.Check == nil || o.Fatal == nil || o.Events == nil {
		t.Fatalf("Writes = %+v; want the settings' parallelism, no rollback, a check and a fatal rule", o)
	}
	o.Events(apply.Event{})
	if events != 1 {
		t.Error("the events are not the ones given")
	}
	if err := o.Check(catalog.Persona{Email: "anna@mana.test", Name: "Anna", Archetype: "adhd-student"}, ""); err == nil {
		t.Error("an empty password passes the admin API's check")
	}
	if !o.Fatal(fmt.Errorf("step 3: %w", adminapi.ErrTokenRejected)) {
		t.Error("a refused token does not stop the run")
	}
	if o.Fatal(errors.New("503 Service Unavailable")) {
		t.Error("a server error stops the run at once")
	}
}
