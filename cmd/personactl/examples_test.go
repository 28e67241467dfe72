package main

import (
	"strings"
	"testing"

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
// that an example cannot show a flag or command that does not exist.
func TestExamplesParse(t *testing.T) {
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
	}
}
