package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/alecthomas/kong"
)

// commandPaths are the argument lists that name personactl and each of its
// commands in the kong model (hidden ones included: they have --help too).
func commandPaths(t *testing.T) [][]string {
	t.Helper()
	paths := [][]string{nil}
	var walk func(n *kong.Node, path []string)
	walk = func(n *kong.Node, path []string) {
		for _, c := range n.Children {
			if c.Type == kong.CommandNode {
				p := append(append([]string(nil), path...), c.Name)
				paths = append(paths, p)
				walk(c, p)
			}
		}
	}
	walk(cliModel(t).Node, nil)
	return paths
}

// TestEveryHelpHasExamples runs --help for personactl and every command of
// the kong model: each must end with examples.
func TestEveryHelpHasExamples(t *testing.T) {
	paths := commandPaths(t)
	if len(paths) < 10 {
		t.Fatalf("the model has only %d commands: %q", len(paths), paths)
	}
	for _, path := range paths {
		args := append(append([]string(nil), path...), "--help")
		out, errOut, code := cliOutput(args...)
		if code != 0 {
			t.Errorf("personactl %s exited %d: %s", strings.Join(args, " "), code, errOut)
			continue
		}
		_, examples, ok := strings.Cut(out, "\nExamples:\n")
		if !ok || !strings.Contains(examples, "personactl") {
			t.Errorf("personactl %s shows no examples:\n%s", strings.Join(args, " "), out)
		}
	}
}

// TestExamplesParse parses every example command line of every --help, so
// that an example cannot show a flag or command that does not exist, nor
// an address that is not a persona of the example catalog.
func TestExamplesParse(t *testing.T) {
	example, err := os.ReadFile("../../examples/catalog.json")
	if err != nil {
		t.Fatal(err)
	}
	address := regexp.MustCompile(`[\w.+-]+@[\w-]+\.[\w.-]+`)
	app := cliModel(t)
	var lines []string
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		for l := range strings.Lines(n.Detail) {
			if l = strings.TrimSpace(l); strings.HasPrefix(l, "personactl ") {
				lines = append(lines, l)
			}
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(app.Node)
	if len(lines) < 20 {
		t.Fatalf("only %d example lines found", len(lines))
	}
	for _, line := range lines {
		// What follows a pipe or a redirection is the shell's.
		cmdline := line
		if i := strings.IndexAny(cmdline, "|<>"); i >= 0 {
			cmdline = cmdline[:i]
		}
		args := strings.Fields(cmdline)[1:]
		var cli CLI
		parser, err := newParser(&cli, kong.Exit(func(int) { t.Fatalf("example %q exited", line) }))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parser.Parse(args); err != nil {
			t.Errorf("example %q does not parse: %v", line, err)
		}
		for _, a := range address.FindAllString(line, -1) {
			if !strings.Contains(string(example), `"`+a+`"`) {
				t.Errorf("example %q names %s, which is no persona of examples/catalog.json", line, a)
			}
		}
	}
}

// TestHelpFitsFortyColumns: with COLUMNS=40, no line of any --help is
// wider, but for one word that cannot be broken (an example's long URL,
// with its indentation, its "# " or its continuing backslash); and a
// command's own flags come before the global ones, which have their own
// heading.
func TestHelpFitsFortyColumns(t *testing.T) {
	t.Setenv("COLUMNS", "40")
	app := cliModel(t)
	for _, path := range commandPaths(t) {
		args := append(append([]string(nil), path...), "--help")
		out, errOut, code := cliOutput(args...)
		if code != 0 {
			t.Errorf("personactl %s exited %d: %s", strings.Join(args, " "), code, errOut)
			continue
		}
		for l := range strings.Lines(out) {
			l = strings.TrimRight(l, "\n")
			word := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(l), "# "), " \\")
			if utf8.RuneCountInString(l) > 40 && strings.Contains(word, " ") {
				t.Errorf("personactl %s: a line of %d columns:\n%s", strings.Join(args, " "), utf8.RuneCountInString(l), l)
			}
		}
		own, global := strings.Index(out, "\nFlags:\n"), strings.Index(out, "\nGlobal flags:\n")
		if global < 0 || own > global {
			t.Errorf("personactl %s: Flags: at %d, Global flags: at %d\n%s", strings.Join(args, " "), own, global, out)
		}
		for _, f := range app.Node.Flags {
			if i := strings.Index(out, "\n  --"+f.Name); !f.Hidden && f.Short == 0 && i < global {
				t.Errorf("personactl %s: the global flag --%s is not under Global flags:\n%s", strings.Join(args, " "), f.Name, out)
			}
		}
		for _, f := range nodeAt(app.Node, path).Flags {
			if i := strings.Index(out, "\n  --"+f.Name); len(path) > 0 && !f.Hidden && (i < own || i > global) {
				t.Errorf("personactl %s: its flag --%s is not under Flags:\n%s", strings.Join(args, " "), f.Name, out)
			}
		}
	}
}

// nodeAt is the command that path names under n.
func nodeAt(n *kong.Node, path []string) *kong.Node {
	for _, name := range path {
		for _, c := range n.Children {
			if c.Name == name {
				n = c
				break
			}
		}
	}
	return n
}
