package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"

	"github.com/mana/personactl/cmd/personactl/internal/kongdoc"
)

// cliOutput runs personactl in process and returns what it printed.
func cliOutput(args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code = run(args, Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	return out.String(), errb.String(), code
}

// cliModel is personactl's kong model, for tests that walk every command.
func cliModel(t *testing.T) *kong.Application {
	t.Helper()
	var cli CLI
	parser, err := newParser(&cli)
	if err != nil {
		t.Fatal(err)
	}
	return parser.Model
}

// completeWords asks __complete for the candidates of the last word.
func completeWords(t *testing.T, words ...string) (values []string, files bool) {
	t.Helper()
	out, errOut, code := cliOutput(append([]string{"__complete", "--"}, words...)...)
	if code != 0 {
		t.Fatalf("__complete %q exited %d: %s", words, code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	switch last := lines[len(lines)-1]; last {
	case kongdoc.AnswerFiles:
		files = true
	case kongdoc.AnswerDone:
	default:
		t.Fatalf("__complete %q ended with %q, not a directive:\n%s", words, last, out)
	}
	for _, l := range lines[:len(lines)-1] {
		value, _, _ := strings.Cut(l, "\t")
		values = append(values, value)
	}
	return values, files
}

// planFormats are the values plan --format accepts, read from the model:
// the shells must offer exactly those, and at least the spec's three.
func planFormats(t *testing.T) []string {
	t.Helper()
	for _, cmd := range cliModel(t).Children {
		if cmd.Name != "plan" {
			continue
		}
		for _, f := range cmd.Flags {
			if f.Name == "format" {
				formats := f.EnumSlice()
				for _, want := range []string{"text", "json", "markdown"} {
					if !slices.Contains(formats, want) {
						t.Fatalf("plan --format no longer accepts %s (%q)", want, formats)
					}
				}
				return formats
			}
		}
	}
	t.Fatal("the model has no plan --format")
	return nil
}

func TestCompleteCandidates(t *testing.T) {
	formats := planFormats(t)
	// No catalog and no state: no address to offer.
	t.Setenv("PERSONACTL_CATALOG", filepath.Join(t.TempDir(), "none.json"))
	t.Setenv("PERSONACTL_STATE", filepath.Join(t.TempDir(), "none.state.json"))
	tests := []struct {
		name  string
		words []string
		want  []string
		files bool
	}{
		{"a command by its prefix", []string{"pl"}, []string{"plan"}, false},
		{"a flag by its prefix", []string{"plan", "--for"}, []string{"--format"}, false},
		{"enum values after a flag", []string{"plan", "--format", ""}, formats, false},
		{"enum values after --flag=", []string{"plan", "--format=m"}, []string{"--format=markdown"}, false},
		{"apply's own formats", []string{"apply", "--format", ""}, []string{"text", "json"}, false},
		{"subcommands", []string{"state", ""}, []string{"list", "show", "rm", "pull", "force-unlock"}, false},
		{"a global flag's value is skipped", []string{"--workspace", "staging", "dr"}, []string{"drift"}, false},
		{"the shell's name", []string{"completion", ""}, []string{"bash", "zsh", "fish"}, false},
		{"--catalog takes a file", []string{"--catalog", ""}, nil, true},
		{"--state= takes a file", []string{"plan", "--state=pers"}, nil, true},
		{"--out takes a file", []string{"plan", "--out", ""}, nil, true},
		{"PLANFILE is a file", []string{"apply", ""}, nil, true},
		{"show's PLANFILE is a file", []string{"show", "pl"}, nil, true},
		{"no files for a token", []string{"plan", "--jwt", ""}, nil, false},
		{"no files for an address", []string{"state", "show", ""}, nil, false},
		{"flags once the arguments are given", []string{"apply", "plan.out", "--auto"}, []string{"--auto-approve"}, false},
		{"global flags after the command", []string{"destroy", "--no-c"}, []string{"--no-color"}, false},
		{"a repeatable flag's value is skipped", []string{"plan", "--replace", "a@mana.how", "--det"}, []string{"--detailed-exitcode"}, false},
		{"nothing matches", []string{"plan", "--format", "yaml"}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, files := completeWords(t, tt.words...)
			if !slices.Equal(got, tt.want) || files != tt.files {
				t.Errorf("personactl %s<TAB>: got %q files=%v, want %q files=%v", strings.Join(tt.words, " "), got, files, tt.want, tt.files)
			}
		})
	}
}

// TestCompleteCoversTheModel walks every command of the kong model: each is
// offered under its parent, each of its flags after "--", and each enum
// flag's values; hidden commands are never offered.
func TestCompleteCoversTheModel(t *testing.T) {
	app := cliModel(t)
	var walk func(n *kong.Node, path []string)
	walk = func(n *kong.Node, path []string) {
		got, _ := completeWords(t, append(slices.Clone(path), "")...)
		for _, child := range n.Children {
			if child.Type != kong.CommandNode {
				continue
			}
			if offered := slices.Contains(got, child.Name); offered == child.Hidden {
				t.Errorf("personactl %s <TAB>: %q offered=%v, hidden=%v (candidates %q)", strings.Join(path, " "), child.Name, offered, child.Hidden, got)
			}
			if !child.Hidden {
				walk(child, append(slices.Clone(path), child.Name))
			}
		}
		flags, _ := completeWords(t, append(slices.Clone(path), "--")...)
		for _, group := range n.AllFlags(true) {
			for _, f := range group {
				if !slices.Contains(flags, "--"+f.Name) {
					t.Errorf("personactl %s --<TAB> lacks --%s (got %q)", strings.Join(path, " "), f.Name, flags)
				}
				if f.Enum == "" {
					continue
				}
				values, _ := completeWords(t, append(slices.Clone(path), "--"+f.Name, "")...)
				for _, e := range f.EnumSlice() {
					if e != "" && !slices.Contains(values, e) {
						t.Errorf("personactl %s --%s <TAB> lacks %q (got %q)", strings.Join(path, " "), f.Name, e, values)
					}
				}
			}
		}
	}
	walk(app.Node, nil)
}

func TestCompletionScriptNamesTheShell(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		out, errOut, code := cliOutput("completion", shell)
		if code != 0 || !strings.Contains(out, " __complete -- ") {
			t.Errorf("completion %s: exit %d, script does not call __complete:\n%s%s", shell, code, out, errOut)
		}
	}
	_, errOut, code := cliOutput("completion", "powershell")
	if code != 1 || !strings.Contains(errOut, `"bash","zsh","fish"`) {
		t.Errorf("completion powershell: exit %d, want 1 naming the shells; stderr:\n%s", code, errOut)
	}
}

// shellCase is what a user types and what <TAB> must offer. The bash
// harness splits the line the way readline does (at blanks, "=", ":" and
// "@"); the candidates differ between shells only where bash replaces
// the part of a word after its last "=" or from its last "@" (want), and
// zsh and fish the whole word (wantWhole).
type shellCase struct {
	line            string
	want, wantWhole []string
}

func shellCases(planFormats []string) []shellCase {
	return []shellCase{
		{line: "personactl pl", want: []string{"plan"}},
		{line: "personactl plan --for", want: []string{"--format"}},
		{line: "personactl plan --format ", want: planFormats},
		{line: "personactl state ", want: []string{"list", "show", "rm", "pull", "force-unlock"}},
		{line: "personactl completion ", want: []string{"bash", "zsh", "fish"}},
		{line: "personactl --catalog c", want: []string{"catalog.yaml"}},
		{line: "personactl apply pl", want: []string{"plan.out"}},
		{line: "personactl plan --format=m", want: []string{"markdown"}, wantWhole: []string{"--format=markdown"}},
		{line: "personactl plan --out=pl", want: []string{"plan.out"}, wantWhole: []string{"--out=plan.out"}},
		{line: "personactl state show persona.z", want: []string{"persona.zoe@mana.test"}},
		{line: "personactl state rm persona.anna@mana.test persona.ma", want: []string{"persona.marcus@mana.test", "persona.maya@mana.test"}},
		{line: "personactl state show persona.marcus@m", want: []string{"@mana.test"}, wantWhole: []string{"persona.marcus@mana.test"}},
		{line: "personactl plan --target persona.j", want: []string{"persona.julia@mana.test"}},
		{line: "personactl plan --replace=persona.k", want: []string{"persona.kai@mana.test"}, wantWhole: []string{"--replace=persona.kai@mana.test"}},
		{line: "personactl destroy --target=persona.paul@", want: []string{"@mana.test"}, wantWhole: []string{"--target=persona.paul@mana.test"}},
	}
}

// TestCompletionInShells loads each shell's script in the real shell and
// presses <TAB> there. A shell that is not installed is skipped, unless
// PERSONACTL_REQUIRE_SHELLS=1 (as in CI), where that fails.
func TestCompletionInShells(t *testing.T) {
	cases := shellCases(planFormats(t))
	bin := buildBinary(t)
	work := t.TempDir()
	for _, f := range []string{"catalog.yaml", "plan.out", "state.json"} {
		if err := os.WriteFile(filepath.Join(work, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	catalogPath, statePath, _ := addressFixtures(t)
	home := t.TempDir()
	sr := shellRunner{dir: work, env: append(os.Environ(),
		"PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, "config"), "XDG_DATA_HOME="+filepath.Join(home, "data"),
		"PERSONACTL_CATALOG="+catalogPath, "PERSONACTL_STATE="+statePath, "PERSONACTL_ENV=")}

	shells := []struct {
		name  string
		whole bool // completes --flag=value and user@host as one word
		press func(sr shellRunner, t *testing.T, shell, script string, typed []string) [][]string
	}{
		{"bash", false, shellRunner.pressBash},
		{"zsh", true, shellRunner.pressZsh},
		{"fish", true, shellRunner.pressFish},
	}
	for _, sh := range shells {
		t.Run(sh.name, func(t *testing.T) {
			path, err := exec.LookPath(sh.name)
			if err != nil {
				if os.Getenv("PERSONACTL_REQUIRE_SHELLS") == "1" {
					t.Fatalf("%s is not installed and PERSONACTL_REQUIRE_SHELLS=1: install it (apt-get install %s)", sh.name, sh.name)
				}
				t.Skipf("%s is not installed; completion in %s is untested (PERSONACTL_REQUIRE_SHELLS=1 makes this a failure)", sh.name, sh.name)
			}
			script := filepath.Join(t.TempDir(), "personactl."+sh.name)
			if err := os.WriteFile(script, []byte(runBinary(t, bin, "completion", sh.name)), 0o644); err != nil {
				t.Fatal(err)
			}
			var typed []string
			for _, c := range cases {
				typed = append(typed, c.line)
			}
			offered := sh.press(sr, t, path, script, typed)
			if len(offered) != len(cases) {
				t.Fatalf("%s answered %d of %d lines: %q", sh.name, len(offered), len(cases), offered)
			}
			for i, c := range cases {
				want := c.want
				if sh.whole && c.wantWhole != nil {
					want = c.wantWhole
				}
				got := offered[i]
				// Shells sort what they show; the order is theirs.
				slices.Sort(got)
				want = slices.Sorted(slices.Values(want))
				if !slices.Equal(got, want) {
					t.Errorf("%s: %q<TAB> offers %q, want %q", sh.name, c.line, got, want)
				}
			}
		})
	}
}

// shellRunner runs a shell in the test's directory and environment.
type shellRunner struct {
	env []string
	dir string
}

func (sr shellRunner) output(t *testing.T, name string, args ...string) string {
	t.Helper()
	// The deadline only stops a shell that hangs; the test waits for the
	// shell's own output, never for a time.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env, cmd.Dir = sr.env, sr.dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %q: %v\n%s%s", filepath.Base(name), args, err, out.String(), errb.String())
	}
	return out.String()
}

func lines(s string) []string {
	var out []string
	for l := range strings.Lines(s) {
		if l = strings.TrimRight(l, "\r\n"); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// readlineWords splits a command line as bash hands it to a completion
// function, with the default COMP_WORDBREAKS: COMP_WORDS are the words at
// blanks, each "=", ":" and "@" a word of its own, and an empty word when
// the line ends in a blank; cur, the word being completed ($2), is what
// readline replaces: what follows the last "=" or ":", or the last "@"
// with it (bash keeps "@", for host names, with the word it starts).
func readlineWords(line string) (words []string, cur string) {
	for _, f := range strings.Fields(line) {
		start := 0
		for i, r := range f {
			if strings.ContainsRune("=:@", r) {
				if i > start {
					words = append(words, f[start:i])
				}
				words = append(words, string(r))
				start = i + 1
			}
		}
		if start < len(f) {
			words = append(words, f[start:])
		}
	}
	if strings.HasSuffix(line, " ") {
		return append(words, ""), ""
	}
	last := line[strings.LastIndexAny(line, " =:@")+1:]
	if at := strings.LastIndexAny(line, " =:@"); at >= 0 && line[at] == '@' {
		last = line[at:]
	}
	return words, last
}

// bashHarness sources the script, finds the function it registered for
// personactl and calls it as bash does on <TAB>: with COMP_LINE the line
// typed, COMP_WORDS its words, and the word being completed.
const bashHarness = `source "$1"; COMP_LINE=$2; cur=$3; shift 3
spec=$(complete -p personactl) || exit 3
fn=${spec##*-F }; fn=${fn%% *}
COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_POINT=${#COMP_LINE}; COMPREPLY=()
"$fn" personactl "$cur" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
`

func (sr shellRunner) pressBash(t *testing.T, shell, script string, typed []string) [][]string {
	var got [][]string
	for _, line := range typed {
		words, cur := readlineWords(line)
		args := append([]string{"--norc", "--noprofile", "-c", bashHarness, "bash", script, line, cur}, words...)
		got = append(got, lines(sr.output(t, shell, args...)))
	}
	return got
}

// zshHarness runs an interactive zsh on a pseudo-terminal (zsh/zpty) with
// the real completion system, and for each line it types the line and
// <TAB>, prints every match the completion adds and then <END>; a key bound
// to a widget marks when the completion is over.
const zshHarness = `zmodload zsh/zpty || exit 3
zpty z zsh -f -i
zpty -w z "PROMPT=''; RPROMPT=''; autoload -U compinit; compinit -u -D"
zpty -w z "source ${(q)1}"
zpty -w z 'compadd () {
  if (( ${@[(I)-O]} || ${@[(I)-A]} || ${@[(I)-D]} )); then builtin compadd "$@"; return; fi
  local -a __hits
  builtin compadd -A __hits "$@"
  local h; for h in $__hits; do print -r -- "<H""IT>$IPREFIX$h</H""IT>"; done
  builtin compadd "$@"
}'
zpty -w z 'zle_done() { print -r -- "<DO""NE>" }; zle -N zle_done; bindkey "^X" zle_done'
shift
local typed line
for typed in "$@"; do
  zpty -n -w z "$typed"$'\t'$'\x18'
  while zpty -r z line; do
    [[ $line == *'<DONE>'* ]] && break
    [[ $line == *'<HIT>'* ]] && print -r -- ${${line#*<HIT>}%%</HIT>*}
  done
  print -r -- '<END>'
  zpty -n -w z $'\x15'
done
zpty -d z
`

func (sr shellRunner) pressZsh(t *testing.T, shell, script string, typed []string) [][]string {
	out := sr.output(t, shell, append([]string{"-f", "-c", zshHarness, "zsh", script}, typed...)...)
	var got [][]string
	var cur []string
	for _, l := range lines(out) {
		if l == "<END>" {
			got, cur = append(got, cur), nil
			continue
		}
		cur = append(cur, l)
	}
	return got
}

func (sr shellRunner) pressFish(t *testing.T, shell, script string, typed []string) [][]string {
	var got [][]string
	for _, line := range typed {
		out := sr.output(t, shell, "--no-config", "-c", `source $argv[1]; complete -C $argv[2]`, script, line)
		var values []string
		for _, l := range lines(out) {
			v, _, _ := strings.Cut(l, "\t")
			values = append(values, v)
		}
		got = append(got, values)
	}
	return got
}
