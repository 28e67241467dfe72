package main

import (
	"bufio"
	"context"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/mana/personactl/state/file"
)

// troubleshootingDoc is the page whose quoted messages the test checks.
const troubleshootingDoc = "../../docs/troubleshooting.md"

// troubleshootingEntry is one error of the page: its heading, the command
// its console block runs and the lines it quotes from the output.
type troubleshootingEntry struct {
	title string
	args  []string
	lines []string
}

// readTroubleshooting parses the page: each "## " heading opens an entry,
// whose first fenced block starts with "$ personactl ARGS" and goes on
// with the lines personactl prints.
func readTroubleshooting(t *testing.T) []troubleshootingEntry {
	t.Helper()
	f, err := os.Open(troubleshootingDoc)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var entries []troubleshootingEntry
	var cur *troubleshootingEntry
	inBlock, blockDone := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case !inBlock && strings.HasPrefix(line, "## "):
			entries = append(entries, troubleshootingEntry{title: strings.TrimPrefix(line, "## ")})
			cur, blockDone = &entries[len(entries)-1], false
		case strings.HasPrefix(line, "```"):
			inBlock = !inBlock
			if !inBlock && cur != nil {
				blockDone = true
			}
		case inBlock && cur != nil && !blockDone:
			if cur.args == nil {
				cmd, ok := strings.CutPrefix(line, "$ personactl ")
				if !ok {
					t.Fatalf("%s: %q: the block must start with the command, \"$ personactl ...\"", cur.title, line)
				}
				cur.args = strings.Fields(cmd)
				continue
			}
			cur.lines = append(cur.lines, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.args == nil || len(e.lines) == 0 {
			t.Fatalf("%s: no block with a command and the message it prints", e.title)
		}
	}
	return entries
}

// quotedLine matches an output line against a line of the page, where …
// stands for any text.
func quotedLine(quote string) *regexp.Regexp {
	parts := strings.Split(quote, "…")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile("^" + strings.Join(parts, ".+") + "$")
}

// troubleshootingSetups makes, in a fresh world, the situation each entry
// of the page describes; its command then runs in the world's directory,
// with a catalog and a state named as a user's would be.
var troubleshootingSetups = map[string]func(t *testing.T, e *e2e){
	"The catalog has errors": func(t *testing.T, e *e2e) {
		misspelt := `{
  "personas": [
    {
      "name": "Anna",
      "email": "persona.anna@mana.test",
      "archetype": "adhd-student",
      "sytemPrompt": "Du bist Anna, 28, und studierst Soziale Arbeit.",
      "moduleMix": {"todo": 1}
    }
  ]
}
`
		if err := os.WriteFile(e.catalog, []byte(misspelt), 0o644); err != nil {
			t.Fatal(err)
		}
	},
	"No admin token": func(t *testing.T, e *e2e) {
		t.Setenv("MANA_ADMIN_JWT_FILE", "")
		os.Unsetenv("MANA_ADMIN_JWT_FILE")
		os.Unsetenv("MANA_ADMIN_JWT")
	},
	"The admin token has expired": func(t *testing.T, e *e2e) {
		t.Setenv("MANA_ADMIN_JWT", e.inst.Expired())
	},
	"The admin sign-in is refused": func(t *testing.T, e *e2e) {
		e.inst.AddAdmin(t, e2eAdmin, e2eAdminPassword)
		e.signInAs(e2eAdmin, "a-wrong-password")
	},
	"mana-auth answers 403 after a sign-in": func(t *testing.T, e *e2e) {
		e.inst.AddAdmin(t, e2eAdmin, e2eAdminPassword)
		e.signInAs(e2eAdmin, e2eAdminPassword)
	},
	"mana-auth answers 403: not an admin token": func(t *testing.T, e *e2e) {
		t.Setenv("MANA_ADMIN_JWT", e.inst.UserToken)
	},
	"mana-auth cannot be reached": func(t *testing.T, e *e2e) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv("MANA_AUTH_URL", "http://"+l.Addr().String())
		l.Close()
	},
	"The development seed secret is refused": func(t *testing.T, e *e2e) {
		t.Setenv("MANA_AUTH_URL", "https://auth.staging.example")
		os.Unsetenv("PERSONA_SEED_SECRET")
	},
	"A catalog address belongs to a person": func(t *testing.T, e *e2e) {
		e.inst.SignUpHuman(t, "persona.marcus@mana.test", "their-own-password", "Marcus Person")
	},
	"apply asks for confirmation, but there is no terminal": func(t *testing.T, e *e2e) {},
	"The state is locked": func(t *testing.T, e *e2e) {
		b, err := file.New(e.state)
		if err != nil {
			t.Fatal(err)
		}
		lock, err := b.Lock(context.Background(), "apply", 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { lock.Release(); b.Close() })
	},
	"The saved plan is stale": func(t *testing.T, e *e2e) {
		e.applyAll()
		ps := e.clone()
		ps[0].Archetype = "night-owl"
		e.writeCatalog(ps)
		e.must(0, "plan", "--out=personas.plan")
		edited := e.personas[0]
		edited.TickCadence = "hourly"
		e.post(edited, e.secret.Password(edited.Email))
	},
}

// TestTroubleshootingMessages: every message docs/troubleshooting.md
// quotes is what personactl prints in the situation the page describes,
// so the page cannot drift from the code.
func TestTroubleshootingMessages(t *testing.T) {
	entries := readTroubleshooting(t)
	if len(entries) != len(troubleshootingSetups) {
		t.Errorf("the page has %d entries, the test sets up %d", len(entries), len(troubleshootingSetups))
	}
	for _, entry := range entries {
		t.Run(entry.title, func(t *testing.T) {
			setup, ok := troubleshootingSetups[entry.title]
			if !ok {
				t.Fatalf("no setup for %q: add one to troubleshootingSetups", entry.title)
			}
			e := newE2E(t)
			t.Chdir(e.dir)
			t.Setenv("PERSONACTL_CATALOG", "catalog.json")
			t.Setenv("PERSONACTL_STATE", "personactl.state.json")
			setup(t, e)

			r := e.must(1, entry.args...)
			output := strings.Split(strings.TrimRight(r.out, "\n")+"\n"+strings.TrimRight(r.err, "\n"), "\n")
			next := 0
			for _, quote := range entry.lines {
				re := quotedLine(quote)
				for next < len(output) && !re.MatchString(output[next]) {
					next++
				}
				if next == len(output) {
					t.Fatalf("personactl %s does not print, in this order, the line the page quotes:\n%s\n%s", strings.Join(entry.args, " "), quote, r)
				}
				next++
			}
		})
	}
}
