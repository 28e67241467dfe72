package catalog

import (
	"strings"
	"testing"
)

// TestDiagnosticGitHub checks the workflow commands GitHub Actions reads
// to annotate a pull request: the wrong escaping would cut a message off
// at a line break or put the annotation on another file.
func TestDiagnosticGitHub(t *testing.T) {
	tests := []struct {
		name string
		d    Diagnostic
		want string
	}{
		{"error with line and column",
			Diagnostic{File: "personas/catalog.json", Line: 12, Col: 7, Message: `personas[0].email "A@mana.test" has capitals`},
			`::error file=personas/catalog.json,line=12,col=7::personas[0].email "A@mana.test" has capitals`},
		{"warning",
			Diagnostic{Severity: SeverityWarning, File: "c.yaml", Line: 3, Col: 20, Message: "the weights sum to 0.8, not 1"},
			"::warning file=c.yaml,line=3,col=20::the weights sum to 0.8, not 1"},
		{"line without column",
			Diagnostic{File: "c.yaml", Line: 4, Message: "invalid YAML"},
			"::error file=c.yaml,line=4::invalid YAML"},
		{"the file as a whole",
			Diagnostic{File: "c.json", Message: "the file is empty"},
			"::error file=c.json::the file is empty"},
		{"message with %, line breaks and ::",
			Diagnostic{File: "c.json", Line: 1, Col: 1, Message: "100% wrong\r\nsecond line :: a, b"},
			"::error file=c.json,line=1,col=1::100%25 wrong%0D%0Asecond line :: a, b"},
		{"file name with : , % and a line break",
			Diagnostic{File: "dir,1/c:a%b\n.json", Line: 2, Col: 3, Message: "m"},
			"::error file=dir%2C1/c%3Aa%25b%0A.json,line=2,col=3::m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.d.GitHub(); got != tt.want {
				t.Errorf("GitHub() =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestAnnotatePathsFromTheWorkspace: paths under the workspace become
// relative to it, as GitHub places annotations; others stay as they are.
func TestAnnotatePathsFromTheWorkspace(t *testing.T) {
	var b strings.Builder
	Annotate(&b, []Diagnostic{
		{File: "/home/runner/work/mana/personas/catalog.json", Line: 3, Col: 5, Severity: SeverityError, Message: "bad"},
		{File: "/elsewhere/catalog.json", Line: 1, Col: 1, Severity: SeverityWarning, Message: "odd"},
	}, "/home/runner/work/mana")
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "::error file=personas/catalog.json,line=3") || !strings.HasPrefix(lines[1], "::warning file=/elsewhere/catalog.json,line=1") {
		t.Errorf("annotations:\n%s", b.String())
	}
}
