package catalog

import (
	"bytes"
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
