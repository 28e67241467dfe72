package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mana/personactl/plan"
)

// hostileCase is one input a hostile or careless user gives personactl.
type hostileCase struct {
	name string
	// setup prepares the input in e's world and returns the arguments of
	// the run (after the command, "apply --auto-approve" unless cmd says).
	setup func(t *testing.T, e *e2e) []string
	cmd   []string
	// want are words the error must hold (compared ignoring letter case):
	// they name the problem, or the input.
	want []string
	// full: only in the full campaign: slow by design (the retry budget
	// spends some 13 s on a server that refuses connections).
	full bool
}

// fakeServer answers every request with h and counts the requests that
// would write.
type fakeServer struct {
	URL    string
	mu     sync.Mutex
	writes int
}

func newFakeServer(t *testing.T, h http.HandlerFunc) *fakeServer {
	t.Helper()
	f := &fakeServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			f.mu.Lock()
			f.writes++
			f.mu.Unlock()
		}
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

func (f *fakeServer) writeCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes
}

// writeFile writes data to name in e's directory and returns its path.
func writeFile(t *testing.T, e *e2e, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(e.dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// catalogWith returns a valid catalog's JSON with persona 0's field set
// to raw JSON.
func catalogWith(e *e2e, field, raw string) []byte {
	b, _ := json.Marshal(map[string]any{"personas": e.personas})
	var doc struct {
		Personas []map[string]json.RawMessage `json:"personas"`
	}
	json.Unmarshal(b, &doc)
	doc.Personas[0][field] = json.RawMessage(raw)
	out, _ := json.Marshal(doc)
	return out
}

// savedPlan makes a plan file of the current catalog and returns its path.
func savedPlan(t *testing.T, e *e2e, name string) string {
	t.Helper()
	path := filepath.Join(e.dir, name)
	e.must(0, "plan", "--out="+path)
	return path
}

// editPlan decodes a plan file, edits the plan and encodes it again with
// a valid checksum: only the check against live can refuse it.
func editPlan(t *testing.T, path string, edit func(p *plan.Plan)) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	edit(p)
	if b, err = plan.Encode(p); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func hostileCases() []hostileCase {
	fake := func(h http.HandlerFunc) func(t *testing.T, e *e2e) []string {
		return func(t *testing.T, e *e2e) []string {
			f := newFakeServer(t, h)
			t.Cleanup(func() {
				if n := f.writeCount(); n != 0 {
					t.Errorf("%d write requests reached the hostile server", n)
				}
			})
			return []string{"--auth=" + f.URL}
		}
	}
	answer := func(status int, body string) func(t *testing.T, e *e2e) []string {
		return fake(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			w.Write([]byte(body))
		})
	}
	catalogFile := func(name string, data func(e *e2e) []byte) func(t *testing.T, e *e2e) []string {
		return func(t *testing.T, e *e2e) []string {
			return []string{"--catalog=" + writeFile(t, e, name, data(e))}
		}
	}
	stateFile := func(data func(e *e2e) []byte) func(t *testing.T, e *e2e) []string {
		return func(t *testing.T, e *e2e) []string {
			return []string{"--state=" + writeFile(t, e, "other.state.json", data(e))}
		}
	}
	realState := func(e *e2e) map[string]any {
		b, err := os.ReadFile(e.state)
		if err != nil {
			panic(err)
		}
		var m map[string]any
		json.Unmarshal(b, &m)
		return m
	}
	marshal := func(v any) []byte { b, _ := json.Marshal(v); return b }

	return []hostileCase{
		// The catalog.
		{name: "catalog: binary", setup: catalogFile("bin.json", func(*e2e) []byte { return []byte("\x00\x01\xff\xfePK\x03\x04garbage\x00") }), want: []string{"bin.json"}},
		{name: "catalog: huge", setup: catalogFile("huge.json", func(e *e2e) []byte {
			b := catalogWith(e, "name", `"Anna"`)
			return append(b[:len(b)-1], append(bytes.Repeat([]byte(" "), 33<<20), '}')...)
		}), want: []string{"huge.json", "larger than 32 MiB"}},
		{name: "catalog: deep nesting", setup: catalogFile("deep.json", func(*e2e) []byte {
			return []byte(`{"personas": ` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`)
		}), want: []string{"deep.json"}},
		{name: "catalog: bidi control in a name", setup: catalogFile("bidi.json", func(e *e2e) []byte { return catalogWith(e, "name", `"Anna\u202egnp.exe"`) }), want: []string{"bidi.json", "name"}},
		{name: "catalog: control character in a prompt", setup: catalogFile("c0.json", func(e *e2e) []byte {
			return catalogWith(e, "systemPrompt", `"Du bist Anna, 28, und schreibst gern.\u0007 Mit Glocke, wie früher."`)
		}), want: []string{"c0.json", "systemPrompt"}},
		{name: "catalog: duplicate keys", setup: catalogFile("dupkey.json", func(e *e2e) []byte {
			return bytes.Replace(catalogWith(e, "name", `"Anna"`), []byte(`"name":"Anna"`), []byte(`"name":"Anna","name":"Eve"`), 1)
		}), want: []string{"dupkey.json", "twice"}},
		{name: "catalog: duplicate addresses", setup: catalogFile("dupmail.json", func(e *e2e) []byte { return catalogWith(e, "email", fmt.Sprintf("%q", e.personas[1].Email)) }), want: []string{"dupmail.json", e2eEmail(1)}},
		{name: "catalog: duplicate addresses in other letter case", setup: catalogFile("dupcase.json", func(e *e2e) []byte {
			return catalogWith(e, "email", fmt.Sprintf("%q", strings.ToUpper(e.personas[1].Email)))
		}), want: []string{"dupcase.json"}},
		{name: "catalog: wrong type", setup: catalogFile("types.json", func(e *e2e) []byte { return catalogWith(e, "archetype", `7`) }), want: []string{"types.json", "archetype"}},
		{name: "catalog: module weights as a string", setup: catalogFile("mix.json", func(e *e2e) []byte { return catalogWith(e, "moduleMix", `"todo"`) }), want: []string{"mix.json", "moduleMix"}},
		{name: "catalog: infinite weight", setup: catalogFile("inf.json", func(e *e2e) []byte { return catalogWith(e, "moduleMix", `{"todo": 1e999}`) }), want: []string{"inf.json", "finite"}},
		{name: "catalog: not an address", setup: catalogFile("mail.json", func(e *e2e) []byte { return catalogWith(e, "email", `"anna at mana"`) }), want: []string{"mail.json", "anna at mana"}},
		{name: "catalog: unknown cadence", setup: catalogFile("cad.json", func(e *e2e) []byte { return catalogWith(e, "tickCadence", `"every full moon"`) }), want: []string{"cad.json", "tickCadence"}},
		{name: "catalog: invalid UTF-8", setup: catalogFile("utf8.json", func(e *e2e) []byte {
			return bytes.Replace(catalogWith(e, "name", `"ANNA"`), []byte("ANNA"), []byte("An\xffna"), 1)
		}), want: []string{"utf8.json"}},
		{name: "catalog: an array", setup: catalogFile("array.json", func(*e2e) []byte { return []byte(`[{"name": "Anna"}]`) }), want: []string{"array.json", "personas"}},
		{name: "catalog: empty", setup: catalogFile("empty.json", func(*e2e) []byte { return nil }), want: []string{"empty.json"}},
		{name: "catalog: YAML alias bomb", setup: catalogFile("bomb.yaml", func(*e2e) []byte {
			var b strings.Builder
			b.WriteString("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
			for i := 'b'; i <= 'j'; i++ {
				fmt.Fprintf(&b, "%c: &%c [*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
			}
			b.WriteString("personas: *j\n")
			return []byte(b.String())
		}), want: []string{"bomb.yaml"}},
		{name: "catalog: a FIFO", setup: func(t *testing.T, e *e2e) []string {
			path := filepath.Join(e.dir, "fifo.json")
			if err := syscall.Mkfifo(path, 0o644); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
			return []string{"--catalog=" + path}
		}, want: []string{"fifo.json", "regular file"}},
		{name: "catalog: a directory", setup: func(t *testing.T, e *e2e) []string { return []string{"--catalog=" + e.dir} }, want: []string{e2eDir}},
		{name: "catalog: missing", setup: func(t *testing.T, e *e2e) []string { return []string{"--catalog=" + filepath.Join(e.dir, "nope.json")} }, want: []string{"nope.json"}},

		// The recorded state.
		{name: "state: truncated", setup: stateFile(func(e *e2e) []byte { b, _ := os.ReadFile(e.state); return b[:len(b)/2] }), want: []string{"other.state.json"}},
		{name: "state: duplicate personas", setup: stateFile(func(e *e2e) []byte {
			m := realState(e)
			ps := m["personas"].([]any)
			m["personas"] = append(ps, ps[0])
			return marshal(m)
		}), want: []string{"other.state.json", "twice"}},
		{name: "state: wrong version", setup: stateFile(func(e *e2e) []byte { m := realState(e); m["version"] = 99; return marshal(m) }), want: []string{"other.state.json", "version"}},
		{name: "state: wrong types", setup: stateFile(func(e *e2e) []byte { m := realState(e); m["serial"] = "seven"; return marshal(m) }), want: []string{"other.state.json", "serial"}},
		{name: "state: binary", setup: stateFile(func(*e2e) []byte { return []byte("\x1f\x8b\x08\x00binary") }), want: []string{"other.state.json"}},
		{name: "state: a persona without an address", setup: stateFile(func(e *e2e) []byte {
			m := realState(e)
			m["personas"].([]any)[0].(map[string]any)["email"] = ""
			return marshal(m)
		}), want: []string{"other.state.json", "email"}},
		{name: "state: symlink loop", setup: func(t *testing.T, e *e2e) []string {
			a, b := filepath.Join(e.dir, "loop-a.json"), filepath.Join(e.dir, "loop-b.json")
			os.Symlink(b, a)
			os.Symlink(a, b)
			return []string{"--state=" + a}
		}, want: []string{"loop-a.json"}},
		{name: "state: a directory", setup: func(t *testing.T, e *e2e) []string {
			dir := filepath.Join(e.dir, "statedir")
			os.Mkdir(dir, 0o755)
			return []string{"--state=" + dir}
		}, want: []string{"statedir"}},

		// Saved plans.
		{name: "plan file: edited by hand", setup: func(t *testing.T, e *e2e) []string {
			path := savedPlan(t, e, "edited.tfplan")
			b, _ := os.ReadFile(path)
			os.WriteFile(path, bytes.Replace(b, []byte("hourly"), []byte("weekly"), 1), 0o644)
			return []string{path}
		}, want: []string{"edited.tfplan", "checksum"}},
		{name: "plan file: truncated", setup: func(t *testing.T, e *e2e) []string {
			path := savedPlan(t, e, "truncated.tfplan")
			b, _ := os.ReadFile(path)
			os.WriteFile(path, b[:len(b)*2/3], 0o644)
			return []string{path}
		}, want: []string{"truncated.tfplan", "plan file"}},
		{name: "plan file: wrong checksum", setup: func(t *testing.T, e *e2e) []string {
			path := savedPlan(t, e, "checksum.tfplan")
			b, _ := os.ReadFile(path)
			var m map[string]any
			json.Unmarshal(b, &m)
			m["sha256"] = strings.Repeat("0", 64)
			os.WriteFile(path, marshal(m), 0o644)
			return []string{path}
		}, want: []string{"checksum.tfplan", "checksum"}},
		{name: "plan file: other format version", setup: func(t *testing.T, e *e2e) []string {
			path := savedPlan(t, e, "version.tfplan")
			b, _ := os.ReadFile(path)
			var m map[string]any
			json.Unmarshal(b, &m)
			m["format_version"] = "1"
			os.WriteFile(path, marshal(m), 0o644)
			return []string{path}
		}, want: []string{"version.tfplan", "format"}},
		{name: "plan file: another workspace", setup: func(t *testing.T, e *e2e) []string {
			path := savedPlan(t, e, "workspace.tfplan")
			editPlan(t, path, func(p *plan.Plan) { p.Workspace = "staging" })
			return []string{path}
		}, want: []string{"workspace", "staging"}},
		{name: "plan file: another lineage", setup: func(t *testing.T, e *e2e) []string {
			path := savedPlan(t, e, "lineage.tfplan")
			editPlan(t, path, func(p *plan.Plan) { p.Lineage = "0000000000000000-another-history" })
			return []string{path}
		}, want: []string{"stale", "lineage"}},
		{name: "plan file: an update pointed at another user", setup: func(t *testing.T, e *e2e) []string {
			path := savedPlan(t, e, "other-user.tfplan")
			editPlan(t, path, func(p *plan.Plan) {
				for i := range p.Changes {
					if p.Changes[i].Action == plan.Update {
						p.Changes[i].UserID = "not-" + p.Changes[i].UserID
					}
				}
			})
			return []string{path}
		}, want: []string{"stale"}},
		{name: "plan file: an update pointed at a person's address", setup: func(t *testing.T, e *e2e) []string {
			person := strings.Replace(e.personas[0].Email, "@", "x@", 1)
			e.inst.SignUpHuman(t, person, "their-own-password", "A Person")
			path := savedPlan(t, e, "person.tfplan")
			editPlan(t, path, func(p *plan.Plan) {
				for i := range p.Changes {
					if c := &p.Changes[i]; c.Action == plan.Update {
						c.Email = person
						if c.After != nil {
							c.After.Email = person
						}
						if c.Before != nil {
							c.Before.Email = person
						}
					}
				}
			})
			return []string{path}
		}, want: []string{"stale"}},
		{name: "plan file: binary", setup: func(t *testing.T, e *e2e) []string {
			return []string{writeFile(t, e, "binary.tfplan", []byte("\x00\x00\x01garbage\xff"))}
		}, want: []string{"binary.tfplan", "not a personactl plan file"}},
		{name: "plan file: a catalog instead", setup: func(t *testing.T, e *e2e) []string { return []string{e.catalog} }, want: []string{"catalog.json", "not a personactl plan file"}},
		{name: "plan file: a FIFO", setup: func(t *testing.T, e *e2e) []string {
			// Reading a FIFO blocks until a writer closes it; after a
			// generous deadline the test closes it, so that a reader that
			// blocked fails this case instead of hanging the campaign.
			path := filepath.Join(e.dir, "fifo.tfplan")
			if err := syscall.Mkfifo(path, 0o644); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
			timer := time.AfterFunc(deadline/4, func() {
				if f, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
					f.Close()
				}
			})
			t.Cleanup(func() {
				if !timer.Stop() {
					t.Errorf("apply blocked reading the FIFO until the test closed it")
				}
			})
			return []string{path}
		}, want: []string{"fifo.tfplan", "regular file"}},
		{name: "plan file: a directory", setup: func(t *testing.T, e *e2e) []string { return []string{e.dir} }, want: []string{e2eDir}},

		// mana-auth's answers.
		{name: "server: garbage", setup: answer(200, "\x00\x01 this is not JSON"), want: []string{"personas"}},
		{name: "server: HTML", setup: answer(200, "<html><body>Welcome to nginx!</body></html>"), want: []string{"personas"}},
		{name: "server: wrong types", setup: answer(200, `{"personas": "many", "total": "lots"}`), want: []string{"personas"}},
		{name: "server: empty 200", setup: answer(200, ""), want: []string{"personas"}},
		{name: "server: huge body", setup: fake(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"personas": [`))
			chunk := []byte(strings.Repeat(`{"userId":"x","email":"persona.x@mana.test","name":"X"},`, 1000))
			for range (40 << 20) / len(chunk) {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}), want: []string{"MiB"}},
		{name: "server: redirect", setup: fake(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://127.0.0.1:1/elsewhere", http.StatusFound)
		}), want: []string{"redirect"}},
		{name: "server: 401", setup: answer(401, `{"error": "Invalid or expired token"}`), want: []string{"token"}},
		{name: "server: 500 everywhere", setup: answer(500, `{"error": "Internal server error"}`), want: []string{"500"}},
		{name: "server: list fine, details garbage", setup: fake(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if strings.HasSuffix(r.URL.Path, "/personas") {
				w.Write([]byte(`{"personas": [{"userId": "u1", "email": "persona.anna@mana.test", "name": "Anna", "archetype": "adhd-student", "tickCadence": "daily", "createdAt": "2024-01-01T00:00:00Z"}], "total": 1}`))
				return
			}
			w.Write([]byte(`{"persona": [1, 2, 3]}`))
		}), want: []string{"/personas/u1", "got an array"}},

		// Flags.
		{name: "flag: --parallelism=0", setup: func(*testing.T, *e2e) []string { return []string{"--parallelism=0"} }, want: []string{"--parallelism"}},
		{name: "flag: --parallelism=-3", setup: func(*testing.T, *e2e) []string { return []string{"--parallelism=-3"} }, want: []string{"--parallelism"}},
		{name: "flag: --lock-timeout=-5s", setup: func(*testing.T, *e2e) []string { return []string{"--lock-timeout=-5s"} }, want: []string{"--lock-timeout"}},
		{name: "flag: --lock-timeout=soon", setup: func(*testing.T, *e2e) []string { return []string{"--lock-timeout=soon"} }, want: []string{"lock-timeout"}},
		{name: "flag: --auth not a URL", setup: func(*testing.T, *e2e) []string { return []string{"--auth=::not a url"} }, want: []string{"--auth"}},
		{name: "flag: --auth ftp", setup: func(*testing.T, *e2e) []string { return []string{"--auth=ftp://127.0.0.1/"} }, want: []string{"--auth"}},
		{name: "flag: --auth plain http off loopback", setup: func(*testing.T, *e2e) []string { return []string{"--auth=http://mana.example.com"} }, want: []string{"plain http"}},
		{name: "flag: --auth unreachable", setup: func(*testing.T, *e2e) []string { return []string{"--auth=http://127.0.0.1:1"} }, want: []string{"127.0.0.1:1"}, full: true},
		{name: "flag: --format=xml", setup: func(*testing.T, *e2e) []string { return []string{"--format=xml"} }, want: []string{"format"}},
		{name: "flag: --max-deletes=many", setup: func(*testing.T, *e2e) []string { return []string{"--max-deletes=many"} }, want: []string{"max-deletes"}},
		{name: "flag: --catalog-format=toml", setup: func(*testing.T, *e2e) []string { return []string{"--catalog-format=toml"} }, want: []string{"catalog-format"}},
		{name: "flag: --state postgres with an empty workspace", setup: func(t *testing.T, e *e2e) []string {
			return []string{"--state=postgres://postgres@127.0.0.1:1/x?sslmode=disable", "--workspace="}
		}, want: []string{"--workspace"}},
		{name: "flag: --jwt-file missing", setup: func(t *testing.T, e *e2e) []string {
			t.Setenv("MANA_ADMIN_JWT", "")
			return []string{"--jwt-file=" + filepath.Join(e.dir, "nope.jwt")}
		}, want: []string{"nope.jwt"}},
		{name: "flag: --jwt and --jwt-file both", setup: func(t *testing.T, e *e2e) []string {
			return []string{"--jwt=" + e.inst.AdminToken, "--jwt-file=" + writeFile(t, e, "admin.jwt", []byte(e.inst.AdminToken))}
		}, want: []string{"--jwt and --jwt-file both give the admin token", "keep one"}},
		{name: "env: MANA_ADMIN_JWT and MANA_ADMIN_EMAIL both", setup: func(t *testing.T, e *e2e) []string {
			t.Setenv("MANA_ADMIN_EMAIL", "ops@example.test")
			return nil
		}, want: []string{"MANA_ADMIN_JWT and MANA_ADMIN_EMAIL both give the admin token", "keep one"}},
		{name: "env: MANA_ADMIN_EMAIL without a password", setup: func(t *testing.T, e *e2e) []string {
			t.Setenv("MANA_ADMIN_JWT", "")
			t.Setenv("MANA_ADMIN_EMAIL", "ops@example.test")
			return nil
		}, want: []string{"no password to sign in as ops@example.test", "MANA_ADMIN_PASSWORD_FILE"}},
	}
}

// Placeholders the cases' wanted words use for values known only once
// the world exists.
const (
	e2eDir      = "\x00dir"
	e2eEmailFmt = "\x00email%d"
)

func e2eEmail(i int) string { return fmt.Sprintf(e2eEmailFmt, i) }

// TestCampaignHostileInput (issue 9, B.5): every hostile input (catalogs,
// state files, saved plans, server answers, flags) ends in exit 1 with an
// error that names the problem, never a panic, and nothing written: the
// state's files are unchanged and no write request reached a server.
func TestCampaignHostileInput(t *testing.T) {
	e := newE2E(t)
	ps := e.clone()
	e.applyAll()
	// A change to apply, so that saved plans and runs have something to write.
	ps[0].TickCadence = "hourly"
	e.writeCatalog(ps)
	stateFiles := func() string {
		var b strings.Builder
		for _, suffix := range []string{"", ".backup", ".journal"} {
			data, _ := os.ReadFile(e.state + suffix)
			fmt.Fprintf(&b, "%s:%x\n", suffix, data)
		}
		return b.String()
	}
	cases := hostileCases()
	if len(cases) < 40 {
		t.Fatalf("%d cases; the campaign promises at least 40", len(cases))
	}
	failed := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.full && !campaignFull() {
				t.Skip("slow by design; runs in make reliability")
			}
			defer func() {
				if t.Failed() {
					failed++
				}
			}()
			sub := *e
			sub.t = t
			before := stateFiles()
			args := tc.setup(t, &sub)
			sub.faults().ResetCounts()
			cmd := tc.cmd
			if cmd == nil {
				cmd = []string{"apply", "--auto-approve"}
			}
			r := sub.run(append(append([]string{}, cmd...), args...)...)
			if r.code != 1 {
				t.Errorf("exit %d, want 1\n%s", r.code, r)
			}
			for _, bad := range []string{"goroutine ", "panic:", "crashed"} {
				if strings.Contains(r.out+r.err, bad) {
					t.Errorf("the output shows %q\n%s", bad, r)
				}
			}
			msg := strings.ToLower(r.err)
			for _, w := range tc.want {
				switch {
				case w == e2eDir:
					w = filepath.Base(e.dir)
				case strings.HasPrefix(w, "\x00email"):
					var i int
					fmt.Sscanf(w, e2eEmailFmt, &i)
					w = e.personas[i].Email
				}
				if !strings.Contains(msg, strings.ToLower(w)) {
					t.Errorf("the error does not say %q\n%s", w, r)
				}
			}
			if !strings.HasPrefix(r.err, "Error: ") && !strings.Contains(r.err, "\nError: ") {
				t.Errorf("no error is printed\n%s", r)
			}
			if n := sub.writes(); n != 0 {
				t.Errorf("%d write requests reached mana-auth-dev", n)
			}
			if stateFiles() != before {
				t.Errorf("the state's files changed")
			}
			if lines := strings.Count(strings.TrimSpace(r.err), "\n") + 1; lines > 40 && !strings.HasPrefix(tc.name, "catalog") {
				t.Errorf("the error runs to %d lines", lines)
			}
		})
	}
	t.Logf("hostile input: %d cases, %d failed", len(cases), failed)
	// Nothing above changed live either.
	if live := e.live(); len(live) != 10 || live[ps[0].Email].TickCadence == "hourly" {
		t.Errorf("live changed: %d personas", len(live))
	}
}
