package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzSeeds are inputs worth starting from: good catalogs in both formats
// and every bad catalog of the table that is small.
func fuzzSeeds() [][]byte {
	seeds := [][]byte{[]byte(onePersona), []byte(onePersonaYAML)}
	for _, path := range []string{"../examples/catalog.json", "../examples/catalog.yaml", "../testdata/fixtures/catalog.json"} {
		if data, err := os.ReadFile(path); err == nil {
			seeds = append(seeds, data)
		}
	}
	for _, tt := range badCatalogs() {
		if len(tt.input) < 1<<16 {
			seeds = append(seeds, []byte(tt.input))
		}
	}
	return seeds
}

// FuzzLoad checks that Parse never panics, that every failure is Errors with
// usable diagnostics, and that every catalog it returns keeps the promises
// the rest of personactl relies on.
func FuzzLoad(f *testing.F) {
	for _, seed := range fuzzSeeds() {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, asYAML bool) {
		format := "json"
		if asYAML {
			format = "yaml"
		}
		cat, err := Parse("fuzz", data, Options{Format: format})
		if err != nil {
			var diags Errors
			if !errors.As(err, &diags) {
				t.Fatalf("error is %T, not Errors: %v", err, err)
			}
			if countErrors(diags) == 0 {
				t.Fatalf("failed without an error: %v", diags)
			}
			// A carriage return alone ends a line too, as in editors.
			lines := strings.Count(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n") + strings.Count(strings.ReplaceAll(string(data), "\r\n", "\n"), "\r") + 1
			for _, d := range diags {
				if d.File != "fuzz" || d.Message == "" || d.Line < 0 || d.Line > lines || d.Col < 0 {
					t.Fatalf("bad diagnostic %+v in a file of %d lines", d, lines)
				}
			}
			return
		}
		checkCatalog(t, cat)
	})
}

// checkCatalog fails t unless cat keeps every promise of a loaded catalog.
func checkCatalog(t *testing.T, cat *Catalog) {
	t.Helper()
	if len(cat.Personas) == 0 {
		t.Fatal("a catalog without personas loaded")
	}
	emails := map[string]bool{}
	for _, p := range cat.Personas {
		if p.Email != strings.ToLower(p.Email) || emailProblem(p.Email) != "" || emails[p.Email] {
			t.Fatalf("email %q loaded (seen before: %v)", p.Email, emails[p.Email])
		}
		emails[p.Email] = true
		if !slices.Contains(Cadences(), p.TickCadence) {
			t.Fatalf("cadence %q loaded", p.TickCadence)
		}
		if p.Name == "" || p.Archetype == "" || utf8.RuneCountInString(p.SystemPrompt) < minPromptLength {
			t.Fatalf("persona %+v loaded", p)
		}
		for _, s := range []string{p.Name, p.Email, p.Archetype} {
			if off, r := hiddenRune(s, false); off >= 0 {
				t.Fatalf("%q with %U loaded", s, r)
			}
		}
		if off, r := hiddenRune(p.SystemPrompt, true); off >= 0 {
			t.Fatalf("systemPrompt %q with %U loaded", p.SystemPrompt, r)
		}
		var sum float64
		for module, w := range p.ModuleMix {
			if off, _ := hiddenRune(module, false); off >= 0 || module == "" || w < 0 || w-w != 0 { // w-w is NaN for ±Inf and NaN
				t.Fatalf("moduleMix %v loaded", p.ModuleMix)
			}
			sum += w
		}
		if sum <= 0 {
			t.Fatalf("moduleMix %v loaded", p.ModuleMix)
		}
	}
	for _, w := range cat.Warnings {
		if w.Severity != SeverityWarning {
			t.Fatalf("a loaded catalog carries the error %s", w)
		}
	}
}

// FuzzJSONReader checks jsonReader against encoding/json: it must accept
// exactly the documents encoding/json accepts, read the same values from
// them, and for the others jsonSyntaxError must locate a problem.
func FuzzJSONReader(f *testing.F) {
	for _, seed := range fuzzSeeds() {
		f.Add(seed)
	}
	for _, s := range []string{`"a\u00e9\ud83d\ude00\n"`, `-0.5e+3`, `[1, 2.5, -0, 1E9]`, `{"a": {"b": [true, false, null]}}`, `"\x"`, `01`, `1.`, `"tab	"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !utf8.Valid(data) { // Parse refuses it before the reader runs
			return
		}
		r := jsonReader{data: data, ix: newPositionIndex(data)}
		root, ok := r.document()
		if r.tooDeep != nil {
			return
		}
		if valid := json.Valid(data); ok != valid {
			t.Fatalf("jsonReader says valid=%v, encoding/json says %v", ok, valid)
		}
		if !ok {
			// At the end of the file, "unexpected data" would mean that
			// encoding/json found nothing wrong.
			d := jsonSyntaxError("f", data)
			end := newPositionIndex(data).position(len(data))
			if d.Line < 1 || strings.HasPrefix(d.Message, "unexpected data") && d.Line == end.line && d.Col == end.col {
				t.Fatalf("syntax error not located: %+v", d)
			}
			return
		}
		var want any
		if err := json.Unmarshal(data, &want); err != nil {
			return // a number beyond float64, which the validator reports
		}
		if got := nodeValue(&root); !reflect.DeepEqual(got, want) {
			t.Fatalf("jsonReader read %#v, encoding/json %#v", got, want)
		}
	})
}

// nodeValue returns n as encoding/json would decode it into an any.
func nodeValue(n *node) any {
	switch n.kind {
	case kindObject:
		m := map[string]any{}
		for i := range n.fields {
			m[n.fields[i].key] = nodeValue(&n.fields[i].value)
		}
		return m
	case kindArray:
		a := []any{}
		for i := range n.items {
			a = append(a, nodeValue(&n.items[i]))
		}
		return a
	case kindString:
		return n.text
	case kindNumber:
		return n.number
	case kindBool:
		return n.text == "true"
	}
	return nil
}

// FuzzEncode checks that every persona CheckExportable accepts is written
// by Encode, in both formats, as a catalog that reads back the same.
func FuzzEncode(f *testing.F) {
	f.Add("Nora", "persona.nora@mana.test", "night-nurse", "You are Nora, 41, a night-shift nurse.", "journal", 0.5, "daily")
	f.Add("yes", "persona.o'neil+x@mana.test", "- item", "\n  starts with a line break and blanks\n\n", "# key", 1e-7, "hourly")
	f.Add("Zoë", "persona.zoe@mana.test", "a: b", "line one \nline two\ttab, then more text", "|", 0.0, "weekdays")
	f.Fuzz(func(t *testing.T, name, email, archetype, prompt, module string, weight float64, cadence string) {
		p := Persona{Name: name, Email: email, Archetype: archetype, SystemPrompt: prompt,
			ModuleMix: map[string]float64{module: weight, "other": 1}, TickCadence: cadence}
		if module == "other" || len(CheckExportable(p)) > 0 {
			return
		}
		for _, format := range []string{"json", "yaml"} {
			var buf bytes.Buffer
			if err := Encode(&buf, []Persona{p}, format); err != nil {
				t.Fatalf("Encode(%s) of an exportable persona %#v: %v", format, p, err)
			}
			cat, err := Parse("c", buf.Bytes(), Options{Format: format})
			if err != nil {
				t.Fatalf("as %s: %v\n%s", format, err, buf.Bytes())
			}
			if !reflect.DeepEqual(cat.Personas, []Persona{p}) {
				t.Fatalf("as %s: read back %#v, want %#v\n%s", format, cat.Personas[0], p, buf.Bytes())
			}
		}
	})
}
