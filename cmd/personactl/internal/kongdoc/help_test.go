package kongdoc

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
)

// toolHelp is what "tool ARGS --help" prints at the width columns.
func toolHelp(t *testing.T, columns string, args ...string) string {
	t.Helper()
	t.Setenv("COLUMNS", columns)
	var cli tool
	var out bytes.Buffer
	parser, err := kong.New(&cli, kong.Name("tool"), kong.Description("Build things — and ship them."),
		kong.Help(Help), kong.Writers(&out, &out), kong.Exit(func(int) {}))
	if err != nil {
		t.Fatal(err)
	}
	// --help prints and exits; with exit a no-op, what follows may fail.
	_, _ = parser.Parse(append(args, "--help"))
	return out.String()
}

// TestHelpGolden compares tool's --help, wide and at 40 columns, with
// testdata/help-*.golden (go test -update rewrites them).
func TestHelpGolden(t *testing.T) {
	for _, columns := range []string{"40", "100"} {
		var got strings.Builder
		for _, args := range [][]string{nil, {"build"}, {"remote", "add"}} {
			got.WriteString("$ tool " + strings.Join(append(args, "--help"), " ") + "\n")
			got.WriteString(toolHelp(t, columns, args...) + "\n")
		}
		golden := filepath.Join("testdata", "help-"+columns+".golden")
		if *update {
			if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (go test -update writes it)", err)
		}
		if got.String() != string(want) {
			t.Errorf("tool's help at %s columns differs from %s (go test -update rewrites it):\n%s", columns, golden, got.String())
		}
	}
}

// TestHelpOwnFlagsFirst: a command's own flags come under "Flags:",
// before its subcommands, and the application's under "Global flags:",
// last; hidden flags nowhere.
func TestHelpOwnFlagsFirst(t *testing.T) {
	help := toolHelp(t, "80", "build")
	own, global := strings.Index(help, "\nFlags:\n"), strings.Index(help, "\nGlobal flags:\n")
	if own < 0 || global < own {
		t.Fatalf("build --help: Flags: at %d, Global flags: at %d\n%s", own, global, help)
	}
	for _, f := range []string{"--out=", "--tag=", `--format="text"`, "--cache/fresh"} {
		if i := strings.Index(help, f); i < own || i > global {
			t.Errorf("build's own flag %s is not under Flags:\n%s", f, help)
		}
	}
	for _, f := range []string{"-h, --help", "--config=PATH", "-v, --verbose", "--[no-]color"} {
		if i := strings.Index(help, f); i < global {
			t.Errorf("the global flag %s is not under Global flags:\n%s", f, help)
		}
	}
	if strings.Contains(help, "--token") {
		t.Errorf("the hidden --token is shown:\n%s", help)
	}
	help = toolHelp(t, "80", "remote")
	if cmds, global := strings.Index(help, "\nCommands:\n"), strings.Index(help, "\nGlobal flags:\n"); cmds < 0 || global < cmds {
		t.Errorf("remote --help: Commands: at %d, Global flags: at %d\n%s", cmds, global, help)
	}
}

// TestHelpWrapsExamples: an example too long for the width is continued
// with a backslash, a quoted word kept whole; a comment goes on as one.
func TestHelpWrapsExamples(t *testing.T) {
	tests := []struct {
		line string
		want []string
	}{
		{"  tool build --format=json app lib", []string{"  tool build --format=json app lib"}},
		{"  tool build --format=json application library", []string{
			"  tool build --format=json \\",
			"    application library"}},
		{"  tool build --tag 'a quoted tag' library", []string{
			"  tool build --tag \\",
			"    'a quoted tag' library"}},
		{"  tool --config=/a/path/longer/than/the/width/itself build", []string{
			"  tool \\",
			"    --config=/a/path/longer/than/the/width/itself \\",
			"    build"}},
		{"  # Build the targets, then ship them", []string{
			"  # Build the targets, then ship",
			"  # them"}},
	}
	for _, tt := range tests {
		h := helpWriter{width: 34}
		h.detail(tt.line)
		if got := strings.Split(strings.TrimSuffix(h.b.String(), "\n"), "\n"); !slices.Equal(got, tt.want) {
			t.Errorf("%q at 34 columns:\ngot  %q\nwant %q", tt.line, got, tt.want)
		}
	}
}
