// Package ci tests the scripts the example GitHub Actions workflows run
// (examples/github-actions): each script runs as the workflow would run it,
// with the built personactl, against mana-auth-dev, with a stand-in for gh
// (ghstub) first on PATH that records what would have been posted.
package ci

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// bin holds personactl, mana-auth-dev and the gh stand-in, built once for
// the test binary by TestMain.
var bin string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("examples/ci: the script tests build personactl and run it; skipped with -short")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "personactl-ci-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		for name, pkg := range map[string]string{
			"personactl":    "../../cmd/personactl",
			"mana-auth-dev": "../../cmd/mana-auth-dev",
			"gh":            "./ghstub",
		} {
			out, err := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg).CombinedOutput()
			if err != nil {
				fmt.Fprintf(os.Stderr, "go build %s: %v\n%s", pkg, err, out)
				return 1
			}
		}
		bin = dir
		return m.Run()
	}()
	os.Exit(code)
}

const (
	repo         = "mana/monorepo"
	pr           = "42"
	adminToken   = "ci-test-admin-token"
	adminEmail   = "ops@mana.test"
	adminPass    = "ci-test-admin-password"
	testSecret   = "ci-test-seed-secret-not-for-anything-else"
	bot          = "github-actions[bot]"
	exampleNora  = "persona.nora@mana.test"
	exampleSam   = "persona.sam@mana.test"
	markerPrefix = "<!-- personactl-plan workspace=default "
)

// world is one workflow's surroundings: a mana-auth-dev, a work directory
// (the checkout: catalog, state, summary and output files) and the gh
// stand-in's directory.
type world struct {
	t       *testing.T
	dir     string
	url     string
	ghDir   string
	catalog string
	env     map[string]string
}

// newWorld starts mana-auth-dev (in memory, or in the database dbURL names)
// and sets up the environment a workflow step would have.
func newWorld(t *testing.T, dbURL string) *world {
	t.Helper()
	needTools(t, "jq")
	w := &world{t: t, dir: t.TempDir()}
	w.url = startManaAuthDev(t, dbURL)
	w.ghDir = filepath.Join(w.dir, "gh")
	for _, d := range []string{w.ghDir, filepath.Join(w.dir, "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	w.catalog = filepath.Join(w.dir, "catalog.json")
	w.writeCatalog(w.examplePersonas())
	w.env = map[string]string{
		"PATH":                 bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME":                 w.dir,
		"RUNNER_TEMP":          filepath.Join(w.dir, "tmp"),
		"GITHUB_ACTIONS":       "true",
		"GITHUB_REPOSITORY":    repo,
		"GITHUB_STEP_SUMMARY":  filepath.Join(w.dir, "summary.md"),
		"GITHUB_OUTPUT":        filepath.Join(w.dir, "output"),
		"GH_TOKEN":             "not-a-real-token",
		"GH_STUB_DIR":          w.ghDir,
		"PR_NUMBER":            pr,
		"MANA_AUTH_URL":        w.url,
		"MANA_ADMIN_JWT":       adminToken,
		"PERSONA_SEED_SECRET":  testSecret,
		"PERSONACTL_CATALOG":   w.catalog,
		"PERSONACTL_STATE":     filepath.Join(w.dir, "personactl.state.json"),
		"PERSONACTL_WORKSPACE": "default",
	}
	return w
}

// needTools skips the test when one of tools, which GitHub's hosted
// runners have, is not installed here; under CI (CI set) that fails it.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			msg := tool + " is not installed: the scripts use it, as it is on GitHub's hosted runners; install it to run these tests"
			if os.Getenv("CI") != "" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
}

// startManaAuthDev runs the built mana-auth-dev on a free loopback port
// until the test ends and returns its URL, the first line it prints. It
// accepts adminToken, and adminEmail signs in with adminPass as an admin
// (with the role claim of a fixed mana-auth).
func startManaAuthDev(t *testing.T, dbURL string) string {
	t.Helper()
	pwFile := filepath.Join(t.TempDir(), "admin-password")
	if err := os.WriteFile(pwFile, []byte(adminPass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--listen=127.0.0.1:0", "--admin-token=" + adminToken, "--user-token=ci-test-user-token", "--quiet",
		"--admin-email=" + adminEmail, "--admin-password-file=" + pwFile, "--fixed-role-claim"}
	if dbURL != "" {
		args = append(args, "--db="+dbURL)
	}
	cmd := exec.Command(filepath.Join(bin, "mana-auth-dev"), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		<-exited
		t.Fatalf("mana-auth-dev did not print its address: %v\n%s", err, stderr.String())
	}
	go io.Copy(io.Discard, stdout)
	return strings.TrimSpace(line)
}

// result is how a script ended.
type result struct {
	code        int
	out, errout string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", r.code, r.out, r.errout)
}

// run runs a script of this directory (or a binary from bin) with the
// world's environment plus extra (KEY=VALUE; an empty value unsets KEY).
func (w *world) run(name string, extra []string, args ...string) result {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var cmd *exec.Cmd
	if strings.HasSuffix(name, ".sh") {
		script, err := filepath.Abs(name)
		if err != nil {
			w.t.Fatal(err)
		}
		cmd = exec.CommandContext(ctx, "bash", append([]string{script}, args...)...)
	} else {
		if !filepath.IsAbs(name) {
			name = filepath.Join(bin, name)
		}
		cmd = exec.CommandContext(ctx, name, args...)
	}
	cmd.Dir = w.dir
	env := map[string]string{}
	for k, v := range w.env {
		env[k] = v
	}
	for _, kv := range extra {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for k, v := range env {
		if v != "" {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	var out, errout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errout
	err := cmd.Run()
	r := result{out: out.String(), errout: errout.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		r.code = ee.ExitCode()
	default:
		w.t.Fatalf("running %s: %v\n%s", name, err, r)
	}
	if strings.Contains(r.out+r.errout, adminToken) || strings.Contains(r.out+r.errout, testSecret) || strings.Contains(r.out+r.errout, adminPass) {
		w.t.Errorf("%s printed the admin token, the admin's password or the seed secret:\n%s", name, r)
	}
	return r
}

// must runs and fails the test unless the exit code is want.
func (w *world) must(want int, name string, extra []string, args ...string) result {
	w.t.Helper()
	r := w.run(name, extra, args...)
	if r.code != want {
		w.t.Fatalf("%s %s: want exit %d, got\n%s", name, strings.Join(args, " "), want, r)
	}
	return r
}

// persona is a catalog entry, kept as JSON values so a test can change one
// field and write the catalog back.
type persona map[string]any

func (w *world) examplePersonas() []persona {
	w.t.Helper()
	b, err := os.ReadFile("../catalog.json")
	if err != nil {
		w.t.Fatal(err)
	}
	var c struct{ Personas []persona }
	if err := json.Unmarshal(b, &c); err != nil {
		w.t.Fatal(err)
	}
	return c.Personas
}

func (w *world) writeCatalog(ps []persona) {
	w.t.Helper()
	b, err := json.MarshalIndent(map[string]any{"personas": ps}, "", "  ")
	if err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(w.catalog, b, 0o644); err != nil {
		w.t.Fatal(err)
	}
}

// file returns a file of the work directory, "" when it does not exist.
func (w *world) file(name string) string {
	w.t.Helper()
	b, err := os.ReadFile(filepath.Join(w.dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	if err != nil {
		w.t.Fatal(err)
	}
	return string(b)
}

// reset empties the files a step writes (summary, output), as a new job
// starts with fresh ones.
func (w *world) reset() {
	w.t.Helper()
	for _, f := range []string{"summary.md", "output"} {
		if err := os.Remove(filepath.Join(w.dir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			w.t.Fatal(err)
		}
	}
}

// comment is an issue comment as the gh stand-in keeps it.
type comment struct {
	ID       int64                  `json:"id"`
	Body     string                 `json:"body"`
	User     struct{ Login string } `json:"user"`
	IssueURL string                 `json:"issue_url"`
}

func (w *world) comments() []comment {
	w.t.Helper()
	var cs []comment
	b, err := os.ReadFile(filepath.Join(w.ghDir, "comments.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err == nil {
		err = json.Unmarshal(b, &cs)
	}
	if err != nil {
		w.t.Fatal(err)
	}
	return cs
}

func (w *world) seedComments(cs []comment) {
	w.t.Helper()
	b, err := json.Marshal(cs)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.ghDir, "comments.json"), b, 0o600); err != nil {
		w.t.Fatal(err)
	}
}

// prComments returns the comments on the test's pull request by author.
func (w *world) prComments(author string) []comment {
	var out []comment
	for _, c := range w.comments() {
		if c.IssueURL == issueURL(pr) && c.User.Login == author {
			out = append(out, c)
		}
	}
	return out
}

func issueURL(n string) string { return "https://api.github.com/repos/" + repo + "/issues/" + n }

// ghCall is one recorded gh invocation.
type ghCall struct {
	Method   string
	Endpoint string
	Fields   map[string]string
}

// calls returns the gh calls recorded since the last call of calls.
func (w *world) calls() []ghCall {
	w.t.Helper()
	path := filepath.Join(w.ghDir, "calls.jsonl")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		w.t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		w.t.Fatal(err)
	}
	var out []ghCall
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var c ghCall
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			w.t.Fatalf("gh call log line %q: %v", line, err)
		}
		out = append(out, c)
	}
	return out
}

// writes returns the calls among cs that change something, as "METHOD endpoint".
func writes(cs []ghCall) []string {
	var out []string
	for _, c := range cs {
		if c.Method != "GET" {
			out = append(out, c.Method+" "+c.Endpoint)
		}
	}
	return out
}

// live returns mana-auth's personas by email (user id and archetype).
func (w *world) live() map[string]string {
	w.t.Helper()
	req, err := http.NewRequest(http.MethodGet, w.url+"/api/v1/admin/personas", nil)
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Personas []struct{ UserID, Email, Archetype string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		w.t.Fatalf("listing personas: %s: %v", resp.Status, err)
	}
	out := map[string]string{}
	for _, p := range list.Personas {
		out[p.Email] = p.UserID + " " + p.Archetype
	}
	return out
}

// editByHand changes a live persona through the admin API, behind
// personactl's back, the way a person with a token and curl would.
func (w *world) editByHand(p persona, field string, value any) {
	w.t.Helper()
	body := persona{"password": "a-hand-made-password"}
	for k, v := range p {
		body[k] = v
	}
	body[field] = value
	b, err := json.Marshal(body)
	if err != nil {
		w.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, w.url+"/api/v1/admin/personas", bytes.NewReader(b))
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		w.t.Fatalf("editing %s by hand: %s", p["email"], resp.Status)
	}
}
