package kongdoc

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// toolPage is what tool's man page says beyond its model.
var toolPage = ManPage{
	Version: "v1.2.3",
	Date:    "2024-05-06",
	Environment: []ManEntry{
		{"TOOL_HOME", "Where tool keeps its cache; ~/.tool when unset."},
	},
	ExitStatus: []ManEntry{
		{"0", "Success."},
		{"2", "The build failed."},
	},
}

func toolManPage(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteManPage(&b, toolModel(t), toolPage); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestManPageGolden compares tool's page with testdata/tool.1.golden
// (go test -update rewrites it; read the diff before committing it).
func TestManPageGolden(t *testing.T) {
	got := toolManPage(t)
	golden := filepath.Join("testdata", "tool.1.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if got != string(want) {
		t.Errorf("tool's man page differs from %s (go test -update rewrites it):\n%s", golden, got)
	}
}

// TestManPageRenders formats tool's page with groff, which must not warn,
// and reads it as a reader would.
func TestManPageRenders(t *testing.T) {
	src := toolManPage(t)
	for i, r := range src {
		if r > 0x7e || (r < ' ' && r != '\n') {
			t.Fatalf("the roff source has %q at byte %d; troff reads only ASCII", r, i)
		}
	}
	groff, err := exec.LookPath("groff")
	if err != nil {
		if os.Getenv("PERSONACTL_REQUIRE_SHELLS") == "1" {
			t.Fatal("groff is not installed and PERSONACTL_REQUIRE_SHELLS=1: apt-get install groff-base")
		}
		t.Skip("groff is not installed; the man page is not rendered (apt-get install groff-base)")
	}
	cmd := exec.Command(groff, "-ww", "-man", "-Tutf8", "-P-c")
	cmd.Stdin = strings.NewReader(src)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("groff: %v\n%s", err, errb.String())
	}
	if errb.Len() > 0 {
		t.Errorf("groff warned:\n%s", errb.String())
	}
	// Bold and underline may come as overstrikes; hyphens as Unicode ones.
	text := regexp.MustCompile(".\b").ReplaceAllString(out.String(), "")
	text = strings.NewReplacer("\u2010", "-", "\u2011", "-", "\u2212", "-").Replace(text)
	flat := strings.Join(strings.Fields(text), " ")

	for _, want := range []string{
		"tool - Build things — and ship them",
		"tool build (b,make) [flags] [TARGETS...]",
		"tool remote add [flags] NAME KEYFILE",
		"tool remote remove (rm) NAME",
		"-j, --jobs=4 Jobs at once. Default: 4.",
		"--format=\"text\" Output format. One of: text, json. Default: text. Environment: TOOL_FORMAT.",
		"NAME The remote's name. One of: origin, upstream.",
		"TOOL_CONFIG Sets --config: Config file.",
		"TOOL_HOME Where tool keeps its cache; ~/.tool when unset.",
		"EXIT STATUS 0 Success. 2 The build failed.",
		".tool files are read too, from C:\\tool on Windows.",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("the page lacks %q:\n%s", want, text)
		}
	}
	// Examples keep their lines and indentation.
	for _, line := range []string{"tool build --out dist", "tool remote add origin key.pem", "tool build --format=json app … lib"} {
		if !regexp.MustCompile(`(?m)^ {8,}` + regexp.QuoteMeta(line) + `$`).MatchString(text) {
			t.Errorf("the example %q is not on an indented line of its own:\n%s", line, text)
		}
	}
	for _, hidden := range []string{"debug", "Dump the internals", "--token"} {
		if strings.Contains(flat, hidden) {
			t.Errorf("the page shows the hidden %q", hidden)
		}
	}
	// Two commands' --format read TOOL_FORMAT; ENVIRONMENT lists it once.
	_, env, _ := strings.Cut(flat, "ENVIRONMENT")
	if n := strings.Count(env, "TOOL_FORMAT Sets"); n != 1 {
		t.Errorf("ENVIRONMENT lists TOOL_FORMAT %d times, want once:\n%s", n, env)
	}
}

func TestManEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"--format=json", `\-\-format=json`},
		{`C:\dir`, `C:\edir`},
		{".hidden file", `\&.hidden file`},
		{"'quoted'", `\&'quoted'`},
		{"postgres://…", `postgres://\[u2026]`},
		{"a.b", "a.b"},
	}
	for _, tt := range tests {
		if got := escapeLine(tt.in); got != tt.want {
			t.Errorf("escapeLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
