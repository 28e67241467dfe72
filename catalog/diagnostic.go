package catalog

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// Severity says whether a Diagnostic stops a run.
type Severity int

const (
	// SeverityError makes a catalog unusable.
	SeverityError Severity = iota
	// SeverityWarning is printed but does not stop a run unless --strict is given.
	SeverityWarning
)

// String is "error" or "warning".
func (s Severity) String() string {
	if s == SeverityWarning {
		return "warning"
	}
	return "error"
}

// Diagnostic is one finding about a catalog file, located by line and column
// (both 1-based; both 0 when the finding is about the file as a whole, and Col
// alone 0 when only the line is known, as for YAML syntax errors). Columns
// count characters, not bytes.
type Diagnostic struct {
	Severity Severity
	File     string
	Line     int
	Col      int
	Message  string
}

// String formats d as "file:line:col: error: message".
func (d Diagnostic) String() string {
	kind := d.Severity.String()
	switch {
	case d.Line > 0 && d.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s: %s", d.File, d.Line, d.Col, kind, d.Message)
	case d.Line > 0:
		return fmt.Sprintf("%s:%d: %s: %s", d.File, d.Line, kind, d.Message)
	default:
		return fmt.Sprintf("%s: %s: %s", d.File, kind, d.Message)
	}
}

// Errors is every error found in one catalog file, in file order, with any
// warnings found beside them (marked SeverityWarning); Load returns it so that
// a person sees all problems at once, not only the first.
type Errors []Diagnostic

func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, d := range e {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// GitHub formats d as a GitHub Actions workflow command
// ("::error file=c.json,line=3,col=7::message", or ::warning), so that a
// workflow run shows it on the pull request's diff at that line. Line and
// col are left out when unknown. File is written as it is: GitHub matches
// it against paths relative to the repository's root.
func (d Diagnostic) GitHub() string {
	kind := d.Severity.String()
	props := "file=" + escapeGitHubProperty(d.File)
	if d.Line > 0 {
		props += fmt.Sprintf(",line=%d", d.Line)
		if d.Col > 0 {
			props += fmt.Sprintf(",col=%d", d.Col)
		}
	}
	return "::" + kind + " " + props + "::" + escapeGitHubData(d.Message)
}

// escapeGitHubData escapes a workflow command's message as GitHub's own
// toolkit does (@actions/core, escapeData): a line break would end the
// command, and % starts an escape.
func escapeGitHubData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeGitHubProperty escapes a workflow command's property value as
// GitHub's toolkit does (escapeProperty): also : and , which separate
// properties.
func escapeGitHubProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// Annotate writes diags as GitHub Actions workflow commands, a line each,
// which the runner shows at their line on a pull request's diff. GitHub
// places an annotation by its path from the repository's root: paths
// under root (GITHUB_WORKSPACE) are made relative to it.
func Annotate(w io.Writer, diags []Diagnostic, root string) {
	for _, d := range diags {
		if rel, err := filepath.Rel(root, d.File); root != "" && filepath.IsAbs(d.File) && err == nil && !strings.HasPrefix(rel, "..") {
			d.File = rel
		}
		fmt.Fprintln(w, d.GitHub())
	}
}
