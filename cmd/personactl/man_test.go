package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
)

// renderMan formats a man page the way a reader sees it: with man -l when
// man-db is installed, else with groff. It fails on any troff warning.
func renderMan(t *testing.T, page string) string {
	t.Helper()
	var cmd *exec.Cmd
	if path, err := exec.LookPath("man"); err == nil {
		cmd = exec.Command(path, "-l", page)
		cmd.Env = append(os.Environ(), "MANWIDTH=100", "MANPAGER=cat", "PAGER=cat", "MAN_KEEP_FORMATTING=")
	} else if path, err := exec.LookPath("groff"); err == nil {
		cmd = exec.Command(path, "-ww", "-man", "-Tutf8", "-P-c", page)
	} else {
		if os.Getenv("PERSONACTL_REQUIRE_SHELLS") == "1" {
			t.Fatal("neither man nor groff is installed and PERSONACTL_REQUIRE_SHELLS=1: apt-get install man-db groff-base")
		}
		t.Skip("neither man nor groff is installed; the man page is not rendered (apt-get install man-db groff-base)")
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, errb.String())
	}
	if errb.Len() > 0 {
		t.Errorf("%s warned:\n%s", cmd, errb.String())
	}
	// Bold and underline may come as overstrikes; hyphens as Unicode ones.
	text := regexp.MustCompile(".\b").ReplaceAllString(out.String(), "")
	return strings.NewReplacer("\u2010", "-", "\u2011", "-", "\u2212", "-").Replace(text)
}

// TestManPageCoversTheModel renders personactl man and checks that a reader
// finds every command, flag and environment variable of the kong model in
// it, and the exit codes.
func TestManPageCoversTheModel(t *testing.T) {
	out, errOut, code := cliOutput("man")
	if code != 0 {
		t.Fatalf("personactl man exited %d: %s", code, errOut)
	}
	for i, r := range out {
		if r > 0x7e || (r < ' ' && r != '\n') {
			t.Fatalf("the roff source has %q at byte %d; troff reads only ASCII", r, i)
		}
	}
	page := filepath.Join(t.TempDir(), "personactl.1")
	if err := os.WriteFile(page, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	text := renderMan(t, page)
	// Words run together when the page wraps; compare with spaces squeezed.
	flat := strings.Join(strings.Fields(text), " ")

	app := cliModel(t)
	want := []string{"NAME", "SYNOPSIS", "DESCRIPTION", "GLOBAL FLAGS", "COMMANDS", "ENVIRONMENT", "EXIT STATUS", "EXAMPLES",
		"personactl - " + strings.TrimSuffix(app.Help, "."), "PERSONA_SEED_SECRET", "NO_COLOR"}
	var hidden []string
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		for _, f := range n.Flags {
			if f.Hidden {
				hidden = append(hidden, "--"+f.Name+" ")
				continue
			}
			want = append(want, "--"+f.Name)
			want = append(want, f.Envs...)
		}
		for _, c := range n.Children {
			if c.Type != kong.CommandNode {
				continue
			}
			if c.Hidden {
				hidden = append(hidden, c.FullPath()+" ")
				continue
			}
			want = append(want, c.FullPath(), strings.Join(strings.Fields(c.Help), " "))
			walk(c)
		}
	}
	walk(app.Node)
	for _, w := range want {
		if !strings.Contains(flat, w) {
			t.Errorf("the man page lacks %q", w)
		}
	}
	for _, h := range hidden {
		if strings.Contains(flat, h) {
			t.Errorf("the man page shows the hidden %q", strings.TrimSpace(h))
		}
	}
	for _, line := range []string{"0 Success", "1 An error", "2 Only from plan --detailed-exitcode"} {
		if !strings.Contains(flat, line) {
			t.Errorf("EXIT STATUS lacks %q", line)
		}
	}
	if !strings.Contains(text, "    personactl plan --detailed-exitcode\n") {
		t.Error("plan's examples are not on lines of their own, indented as written")
	}
}
