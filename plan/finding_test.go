package plan

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/state"
)

// declaredCodes reads every Code constant declared in finding.go, so that a
// new code cannot go untested or undocumented.
func declaredCodes(t *testing.T) map[Code]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "finding.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	codes := map[Code]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			v := spec.(*ast.ValueSpec)
			if id, ok := v.Type.(*ast.Ident); !ok || id.Name != "Code" {
				continue
			}
			lit := v.Values[0].(*ast.BasicLit)
			s, _ := strconv.Unquote(lit.Value)
			codes[Code(s)] = v.Names[0].Name
		}
	}
	return codes
}

// TestEveryCodeIsProducedAndDocumented: each code of finding.go is produced
// by some plan, worded (not the bare code), and listed in the codes table
// of docs/output-formats.md.
func TestEveryCodeIsProducedAndDocumented(t *testing.T) {
	anna := catalog.Persona{Email: "persona.anna@mana.test", Name: "Anna", Archetype: "a", SystemPrompt: "p", ModuleMix: map[string]float64{"todo": 1}, TickCadence: "daily"}
	extra := scenarios()
	more := []scenario{
		{"replace-not-targeted", Input{Desired: []catalog.Persona{anna}}, Options{Targets: []string{"persona.ben@mana.test"}, Replace: []string{anna.Email}}},
		{"replace-not-in-catalog", Input{}, Options{Replace: []string{anna.Email}}},
		{"replace-creates", Input{Desired: []catalog.Persona{anna}}, Options{Replace: []string{anna.Email}}},
		{"prune", Input{Live: []state.LivePersona{live("u9", anna)}}, Options{Prune: true}},
		{"removed-and-gone", Input{Recorded: []state.RecordedPersona{rec("u9", anna)}}, Options{}},
		{"refresh-gone", Input{Recorded: []state.RecordedPersona{rec("u9", anna)}}, Options{RefreshOnly: true}},
		{"unknown-credentials", Input{Desired: []catalog.Persona{anna}, Live: []state.LivePersona{live("u9", anna)}, Secret: currentSecret}, Options{}},
		{"destroy-without-catalog", Input{Recorded: []state.RecordedPersona{rec("u9", anna)}, MissingCatalog: "catalog.json"}, Options{Destroy: true}},
	}
	produced := map[Code]bool{}
	for _, sc := range append(extra, more...) {
		p := Compute(sc.in, sc.opts)
		all := append(append(append([]Finding{}, p.Warnings...), p.Errors...), p.Notes...)
		for _, c := range p.Changes {
			all = append(all, c.Reasons...)
		}
		for _, f := range all {
			produced[f.Code] = true
			if m := f.Message(); m == "" || m == string(f.Code) {
				t.Errorf("%s: %s is not worded", sc.name, f.Code)
			}
		}
	}
	doc, err := os.ReadFile("../docs/output-formats.md")
	if err != nil {
		t.Fatal(err)
	}
	for code, name := range declaredCodes(t) {
		if !produced[code] {
			t.Errorf("%s (%q) is produced by no plan of this test", name, code)
		}
		if !strings.Contains(string(doc), "| `"+string(code)+"` |") {
			t.Errorf("%s (%q) is missing from the codes table of docs/output-formats.md", name, code)
		}
	}
}
