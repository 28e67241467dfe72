package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mana/personactl/manaauthdev/devtest"
)

// TestE2EOutNeverOverwritesItsInputs: plan --out refuses the recorded
// state, its backup, journal and lock file, and the catalog, and leaves
// each as it was.
func TestE2EOutNeverOverwritesItsInputs(t *testing.T) {
	e := newE2E(t)
	e.applyAll()
	ps := e.clone()
	ps[0].Archetype = "edited"
	e.writeCatalog(ps)
	// Through a second name for the state too: a symlink to it.
	link := filepath.Join(e.dir, "link.json")
	if err := os.Symlink(e.state, link); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{e.state, e.state + ".backup", e.state + ".journal", e.state + ".lock", e.catalog, link, "./" + filepath.Base(e.state)} {
		before, _ := os.ReadFile(out)
		cwd, _ := os.Getwd()
		if strings.HasPrefix(out, "./") {
			if err := os.Chdir(e.dir); err != nil {
				t.Fatal(err)
			}
		}
		r := e.run("plan", "--out="+out)
		os.Chdir(cwd)
		if r.code != 1 || !strings.Contains(r.err, "would overwrite it") {
			t.Errorf("plan --out=%s: want a refusal\n%s", out, r)
		}
		if after, _ := os.ReadFile(filepath.Join(e.dir, filepath.Base(out))); !bytes.Equal(before, after) && !strings.HasPrefix(out, "./") {
			t.Errorf("plan --out=%s changed the file", out)
		}
	}
	if st := e.recorded(); len(st.Personas) != len(e.personas) {
		t.Errorf("the state lost personas: %d recorded", len(st.Personas))
	}
	e.must(0, "plan", "--out="+filepath.Join(e.dir, "tfplan"))
}

// TestE2EOutToStandardOutput: plan --out=- writes the plan file to
// standard output, which apply reads back, and the plan's rendering to
// standard error.
func TestE2EOutToStandardOutput(t *testing.T) {
	e := newE2E(t)
	r := e.must(0, "plan", "--out=-")
	if !strings.Contains(r.err, "Plan: 10 to create, 0 to update, 0 to delete.") || strings.Contains(r.out, "Plan:") {
		t.Errorf("the rendering is not on standard error alone\n%s", r)
	}
	saved := filepath.Join(e.dir, "from-stdout.plan")
	if err := os.WriteFile(saved, []byte(r.out), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat("-"); err == nil {
		t.Error("plan --out=- wrote a file named -")
		os.Remove("-")
	}
	r = e.must(0, "apply", saved)
	if got := lastLine(r.out); got != "Apply complete! Personas: 10 created, 0 updated, 0 deleted." {
		t.Errorf("apply of the plan from standard output: %q\n%s", got, r)
	}
}

// TestE2EOutRefusesWhatIsNotARegularFile: plan --out naming a FIFO is
// refused before a request is sent, and the FIFO stays one.
func TestE2EOutRefusesWhatIsNotARegularFile(t *testing.T) {
	e := newE2E(t)
	fifo := filepath.Join(e.dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	r := e.must(1, "plan", "--out="+fifo)
	if !strings.Contains(r.err, "names a named pipe (FIFO); a plan is written only to a regular file") {
		t.Errorf("no refusal that says what to do\n%s", r)
	}
	if n := e.faults().Counts(); len(n) != 0 {
		t.Errorf("requests sent before the refusal: %v", n)
	}
	if info, err := os.Lstat(fifo); err != nil || info.Mode().Type() != fs.ModeNamedPipe {
		t.Errorf("the FIFO was replaced: %v, %v", info, err)
	}
}

// TestE2ETwoStandardInputsRefused: the catalog and the admin JWT cannot
// both come from standard input; the refusal names both and comes before
// any request.
func TestE2ETwoStandardInputsRefused(t *testing.T) {
	e := newE2E(t)
	t.Setenv("MANA_ADMIN_JWT", "")
	r := e.must(1, "plan", "--catalog=-", "--jwt-file=-")
	if !strings.Contains(r.err, "--catalog (PERSONACTL_CATALOG) and --jwt-file (MANA_ADMIN_JWT_FILE) each read standard input") {
		t.Errorf("the refusal does not name both\n%s", r)
	}
	if n := e.faults().Counts(); len(n) != 0 {
		t.Errorf("requests sent before the refusal: %v", n)
	}
}

// TestE2EApplyJSONIsJSONLines: every line apply --format=json prints is one
// JSON object with a type: the plan first, then the run's events, the
// summary last.
func TestE2EApplyJSONIsJSONLines(t *testing.T) {
	e := newE2E(t)
	r := e.must(0, "apply", "--auto-approve", "--format=json")
	lines := strings.Split(strings.TrimRight(r.out, "\n"), "\n")
	var types []string
	for i, line := range lines {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("line %d is not a JSON object: %v\n%s", i+1, err, line)
		}
		typ, _ := ev["type"].(string)
		if typ == "" {
			t.Fatalf("line %d has no type: %s", i+1, line)
		}
		types = append(types, typ)
	}
	count := map[string]int{}
	for _, typ := range types {
		count[typ]++
	}
	if types[0] != "plan" || types[len(types)-1] != "summary" || count["plan"] != 1 || count["apply_start"] != 1 || count["step_start"] != 10 || count["step_finish"] != 10 {
		t.Errorf("event types %v; want one plan, one apply_start, 10 step_start and step_finish, a summary last", count)
	}
}

// TestE2EPostgresStateFailuresExitOne: a PostgreSQL state that cannot be
// opened is an error (exit 1) that says so, never a panic; exit 2 would
// read as "changes" or "drift" in CI.
func TestE2EPostgresStateFailuresExitOne(t *testing.T) {
	e := newE2E(t)
	dsn := devtest.FreshDatabase(t)
	missing := strings.Replace(dsn, "/personactl_", "/no_such_database_", 1)
	if missing == dsn {
		missing = dsn[:strings.LastIndex(dsn, "/")] + "/no_such_database_here" + dsn[strings.Index(dsn, "?"):]
	}
	cases := []struct {
		name, state, workspace, want string
	}{
		{"unreachable server", "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=5", "default", "127.0.0.1"},
		{"missing database", missing, "default", "no_such_database"},
		{"bad DSN", "postgres://postgres@127.0.0.1:5432/%zz", "default", "postgres"},
		{"empty workspace", dsn, "", "--workspace"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("PERSONACTL_STATE", c.state)
			t.Setenv("PERSONACTL_WORKSPACE", c.workspace)
			for _, cmd := range [][]string{{"plan", "--detailed-exitcode"}, {"apply", "--auto-approve"}, {"destroy", "--auto-approve"}, {"drift"}} {
				r := e.run(cmd...)
				if r.code != 1 || strings.Contains(r.err, "goroutine") || strings.Contains(r.err, "crashed") || !strings.Contains(r.err, c.want) {
					t.Errorf("%v: want exit 1 naming %q, no crash\n%s", cmd, c.want, r)
				}
			}
		})
	}
	if n := e.writes(); n != 0 {
		t.Errorf("%d writes sent although the state could not be opened", n)
	}
}

// TestE2EPanicInAWorkerExitsOne: a bug that panics inside an apply worker
// goroutine (forced through a test build's hook) ends the process with a
// short crash report and exit 1, not Go's exit 2.
func TestE2EPanicInAWorkerExitsOne(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	e := newE2E(t)
	bin := filepath.Join(t.TempDir(), "personactl-crashtest")
	if out, err := exec.Command("go", "build", "-tags", "crashtest", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build -tags crashtest: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "apply", "--auto-approve")
	cmd.Env = append(os.Environ(), "PERSONACTL_CRASHTEST=step")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := cmd.ProcessState.ExitCode()
	if code != 1 || !strings.Contains(errb.String(), "personactl crashed: forced by PERSONACTL_CRASHTEST=step") || !strings.Contains(errb.String(), "crash report is in") {
		t.Fatalf("exit %d (%v); want 1 with a crash report\n--- stdout\n%s--- stderr\n%s", code, err, out.String(), errb.String())
	}
	if strings.Contains(errb.String(), "goroutine ") {
		t.Errorf("the stack was printed instead of filed:\n%s", errb.String())
	}
	// The run halted: the journal stays open, and the next apply (a normal
	// build) converges.
	e.must(0, "apply", "--auto-approve")
	e.must(0, "plan", "--detailed-exitcode")
}

// TestE2EGitHubAnnotations: catalog errors and warnings are also printed as
// GitHub Actions workflow commands, at their file, line and column, with
// --format=github or under GITHUB_ACTIONS=true.
func TestE2EGitHubAnnotations(t *testing.T) {
	e := newE2E(t)
	bad := filepath.Join(e.dir, "bad.json")
	if err := os.WriteFile(bad, []byte("{\n  \"personas\": [\n    {\"name\": \"X\", \"email\": \"not-an-address\", \"archetype\": 7}\n  ]\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := e.must(1, "validate", "--format=github", "--catalog="+bad)
	if !strings.Contains(r.out, "::error file="+bad+",line=3,col=") {
		t.Errorf("no annotation at line 3\n%s", r)
	}
	t.Setenv("GITHUB_WORKSPACE", e.dir)
	r = e.must(1, "validate", "--format=github", "--catalog="+bad)
	if !strings.Contains(r.out, "::error file=bad.json,line=3,col=") {
		t.Errorf("the annotation's path is not relative to the repository\n%s", r)
	}
	t.Setenv("GITHUB_WORKSPACE", "")
	r = e.must(1, "validate", "--catalog="+bad)
	if strings.Contains(r.out, "::error") {
		t.Errorf("annotations without --format=github or GITHUB_ACTIONS\n%s", r)
	}
	ps := e.clone()
	ps[0].ModuleMix = map[string]float64{"todo": 0.5} // sums to 0.5: a warning
	e.writeCatalog(ps)
	t.Setenv("GITHUB_ACTIONS", "true")
	r = e.must(0, "plan")
	if !strings.Contains(r.out, "::warning file="+e.catalog+",line=") {
		t.Errorf("under GITHUB_ACTIONS=true a warning is not annotated\n%s", r)
	}
}

// TestE2EHistory: every run is listed newest first, with who ran it, what it
// changed and how it ended; --format=json says the same.
func TestE2EHistory(t *testing.T) {
	for _, backend := range []string{"file", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			e := newE2E(t)
			if backend == "postgres" {
				e.state = devtest.FreshDatabase(t)
				t.Setenv("PERSONACTL_STATE", e.state)
			}
			e.must(0, "history")
			e.must(0, "apply", "--auto-approve")
			ps := e.clone()
			ps[1].Archetype = "edited"
			e.writeCatalog(ps[1:])
			e.must(0, "apply", "--auto-approve")
			extra := ps[2]
			extra.Email, extra.Name = "persona.extra@mana.test", "Extra"
			e.faults().FailWritesFor(extra.Email)
			ps[3].Archetype = "edited too"
			e.writeCatalog(append(ps[1:], extra))
			e.must(1, "apply", "--auto-approve", "--parallelism=1")

			r := e.must(0, "history")
			runs := strings.Split(strings.TrimSpace(r.out), "\n\n")
			if len(runs) != 3 {
				t.Fatalf("%d runs listed, want 3\n%s", len(runs), r.out)
			}
			for i, want := range []string{"rolled back", "1 deleted: " + ps[0].Email, "10 created"} {
				if !strings.Contains(runs[i], want) || !strings.Contains(runs[i], "apply by ") {
					t.Errorf("run %d (newest first) lacks %q:\n%s", i+1, want, runs[i])
				}
			}
			if !strings.Contains(runs[1], "1 updated: "+ps[1].Email) {
				t.Errorf("the second run's update is not listed:\n%s", runs[1])
			}
			r = e.must(0, "history", "--format=json")
			var got []struct {
				Operation, Outcome, Who string
				Changed                 map[string][]string
				Failed                  []string
			}
			if err := json.Unmarshal([]byte(r.out), &got); err != nil || len(got) != 3 {
				t.Fatalf("history --format=json: %v, %d runs\n%s", err, len(got), r.out)
			}
			if got[0].Outcome != "rolled_back" || len(got[0].Failed) != 1 || got[2].Outcome != "complete" || len(got[2].Changed["create"]) != 10 || !strings.Contains(got[2].Who, "@") {
				t.Errorf("history JSON = %+v", got)
			}
		})
	}
}

// TestE2EExport: the live personas come out as a catalog that validates and
// plans to "No changes.", in JSON and YAML; a persona the catalog rules
// forbid makes export write nothing and name it with why.
func TestE2EExport(t *testing.T) {
	e := newE2E(t)
	e.applyAll()
	if err := os.Remove(e.state); err != nil { // made by hand, as far as personactl knows
		t.Fatal(err)
	}
	for _, format := range []string{"json", "yaml"} {
		r := e.must(0, "export", "--format="+format)
		exported := filepath.Join(e.dir, "exported."+format)
		if err := os.WriteFile(exported, []byte(r.out), 0o644); err != nil {
			t.Fatal(err)
		}
		e.must(0, "validate", "--strict", "--catalog="+exported)
		r = e.must(0, "plan", "--catalog="+exported)
		if got := lastLine(r.out); !strings.HasPrefix(got, "No changes.") {
			t.Errorf("the %s export does not plan to No changes.: %q\n%s", format, got, r)
		}
	}
	odd := e.personas[0]
	odd.Email, odd.TickCadence = "persona.odd@mana.test", ""
	e.post(odd, "a-password-for-the-odd-one")
	r := e.must(1, "export")
	if r.out != "" || !strings.Contains(r.err, "persona.odd@mana.test") || !strings.Contains(r.err, "tickCadence") {
		t.Errorf("export of a persona with an empty tickCadence\n%s", r)
	}
}

// TestE2EAnnotationsNeverBreakJSON: under GITHUB_ACTIONS=true a JSON or
// Markdown plan on standard output stays JSON or Markdown.
func TestE2EAnnotationsNeverBreakJSON(t *testing.T) {
	e := newE2E(t)
	ps := e.clone()
	ps[0].ModuleMix = map[string]float64{"todo": 0.5} // a warning
	e.writeCatalog(ps)
	t.Setenv("GITHUB_ACTIONS", "true")
	for _, cmd := range [][]string{{"plan", "--format=json"}, {"drift", "--format=json"}} {
		r := e.run(cmd...)
		var doc map[string]any
		if err := json.Unmarshal([]byte(r.out), &doc); err != nil {
			t.Errorf("%v under GITHUB_ACTIONS is not JSON: %v\n%s", cmd, err, r)
		}
	}
	r := e.must(0, "plan", "--format=markdown")
	if strings.Contains(r.out, "::warning") || !strings.Contains(r.err, "::warning file=") {
		t.Errorf("the annotation is not on standard error, beside the Markdown plan\n%s", r)
	}
}
