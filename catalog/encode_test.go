package catalog

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// sortedByEmail returns a copy of personas in the order Encode writes them.
func sortedByEmail(personas []Persona) []Persona {
	out := slices.Clone(personas)
	slices.SortFunc(out, func(a, b Persona) int { return strings.Compare(a.Email, b.Email) })
	return out
}

// roundTrip encodes personas in format, loads the result back as a file
// of that format would be loaded, and fails t unless it holds the same
// personas, sorted by email, with no warning added.
func roundTrip(t *testing.T, personas []Persona, format string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Encode(&buf, personas, format); err != nil {
		t.Fatalf("Encode(%s): %v", format, err)
	}
	path := filepath.Join(t.TempDir(), "catalog."+format)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cat, err := Load(path, Options{})
	if err != nil {
		t.Fatalf("Load of the %s Encode wrote: %v\n%s", format, err, buf.Bytes())
	}
	if want := sortedByEmail(personas); !reflect.DeepEqual(cat.Personas, want) {
		t.Errorf("as %s, read back\n%#v\nwant\n%#v\nfrom\n%s", format, cat.Personas, want, buf.Bytes())
	}
	if cat.Schema != "./catalog.schema.json" {
		t.Errorf("as %s, $schema = %q", format, cat.Schema)
	}
	return buf.Bytes()
}

func TestEncodeRoundTripsTheRealCatalog(t *testing.T) {
	for _, path := range []string{"../testdata/fixtures/catalog.json", "../examples/catalog.json", "../examples/catalog.yaml"} {
		cat, err := Load(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, format := range []string{"json", "yaml"} {
			t.Run(filepath.Base(path)+" as "+format, func(t *testing.T) {
				roundTrip(t, cat.Personas, format)
			})
		}
	}
}

// TestEncodeRoundTripsAwkwardValues gives Encode values that YAML in
// particular reads as something else unless they are quoted: booleans,
// numbers and null spelt as text, indicators, leading and trailing blanks,
// line breaks at either end.
func TestEncodeRoundTripsAwkwardValues(t *testing.T) {
	texts := []string{
		"yes", "no", "true", "null", "~", "0.5", "1e3", "0x1F", "2024-01-02", "- item", "# not a comment",
		"key: value", "a, b", "[x]", "{x}", "&anchor", "*alias", "!tag", "%directive", "@at", "`tick`", "|", ">",
		`"quoted"`, "'single'", `back\slash`, "<b>&amp;</b>", "Zoë Øster-Ångström 😀", "نورا",
	}
	prompts := []string{
		"  leading blanks, then the prompt of Nora",
		"trailing blanks after the prompt of Nora  ",
		"a prompt that ends in a line break, Nora\n",
		"\nstarts with a line break, the prompt of Nora",
		"line one of Nora's prompt\n\n\nline four\n\n",
		"\ttabbed\tprompt\tof\tNora, 41, a nurse",
		"  indented first line\nthen not, the prompt of Nora",
		"line with trailing blank \nnext line of Nora's prompt",
		"--- a document marker in Nora's prompt",
		"... a document end in Nora's prompt",
		strings.Repeat("A long prompt of Nora's that YAML folds at some width. ", 40),
	}
	var personas []Persona
	for i, s := range texts {
		p := nora()
		p.Name, p.Archetype = s, s
		p.Email = "persona.text" + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + "@mana.test"
		p.SystemPrompt = "You are " + s + ", a persona with an awkward name."
		p.ModuleMix = map[string]float64{s: 1}
		personas = append(personas, p)
	}
	for i, s := range prompts {
		p := nora()
		p.Email = "persona.prompt" + string(rune('a'+i)) + "@mana.test"
		p.SystemPrompt = s
		p.TickCadence = Cadences()[i%3]
		personas = append(personas, p)
	}
	weights := nora()
	weights.Email = "persona.weights@mana.test"
	weights.ModuleMix = map[string]float64{"a": 0, "b": 1e-7, "c": 0.1 + 0.2, "d": 1e6, "e": 0.30000000000000004, "f": 5e-324}
	personas = append(personas, weights)
	for _, format := range []string{"json", "yaml"} {
		t.Run(format, func(t *testing.T) { roundTrip(t, personas, format) })
	}
}

// TestEncodeWritesEveryMember checks the file people will read and edit
// against golden files: sorted by email, every member written, tickCadence
// too; -update rewrites them.
func TestEncodeWritesEveryMember(t *testing.T) {
	walter := Persona{Name: "Walter", Email: "persona.walter@mana.test", Archetype: "retired-gardener",
		SystemPrompt: "You are Walter, 71.\nYou write slowly, in full sentences.", ModuleMix: map[string]float64{"notes": 0.4, "calendar": 0.6}, TickCadence: "weekdays"}
	for _, format := range []string{"json", "yaml"} {
		t.Run(format, func(t *testing.T) {
			got := roundTrip(t, []Persona{walter, nora()}, format)
			golden := "testdata/export." + format + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Encode wrote\n%s\nwant (%s)\n%s\nrun: go test ./catalog -run TestEncodeWritesEveryMember -update", got, golden, want)
			}
		})
	}
}

// TestCheckExportable gives the values the admin API accepts and a catalog
// forbids: each must be named, with the catalog rule it breaks.
func TestCheckExportable(t *testing.T) {
	tests := []struct {
		name   string
		change func(p *Persona)
		want   []string
	}{
		{"a valid persona", func(p *Persona) {}, nil},
		{"moduleMix empty", func(p *Persona) { p.ModuleMix = map[string]float64{} },
			[]string{"moduleMix is empty, so the runner would have nothing to do"}},
		{"moduleMix missing", func(p *Persona) { p.ModuleMix = nil },
			[]string{"moduleMix is empty, so the runner would have nothing to do"}},
		{"moduleMix all zero", func(p *Persona) { p.ModuleMix = map[string]float64{"mood": 0, "todo": 0} },
			[]string{"every weight in moduleMix is 0"}},
		{"a negative weight", func(p *Persona) { p.ModuleMix = map[string]float64{"mood": 1, "todo": -0.5} },
			[]string{"moduleMix.todo is -0.5; weights must be 0 or more"}},
		{"tickCadence empty", func(p *Persona) { p.TickCadence = "" },
			[]string{`tickCadence is "", not one of daily, weekdays, hourly`}},
		{"tickCadence unknown", func(p *Persona) { p.TickCadence = "monthly" },
			[]string{`tickCadence is "monthly", not one of daily, weekdays, hourly`}},
		{"email with capitals", func(p *Persona) { p.Email = "Persona.Nora@mana.test" },
			[]string{`email "Persona.Nora@mana.test" has capitals`}},
		{"email on another domain", func(p *Persona) { p.Email = "nora@example.com" },
			[]string{`email "nora@example.com" does not end in @mana.test`}},
		{"prompt too short", func(p *Persona) { p.SystemPrompt = "Nora." },
			[]string{"systemPrompt is 5 characters long, fewer than 20"}},
		{"name empty", func(p *Persona) { p.Name = "" },
			[]string{"name is empty; give the persona a name"}},
		{"bidi control in the name", func(p *Persona) { p.Name = "No\u202era" },
			[]string{"name has U+202E RIGHT-TO-LEFT OVERRIDE at character 3"}},
		{"not UTF-8", func(p *Persona) { p.Name = "No\xffra" },
			[]string{`name "No\xffra" is not valid UTF-8`}},
		{"several at once", func(p *Persona) { p.ModuleMix, p.TickCadence, p.Archetype = nil, "", "" },
			[]string{"archetype is empty", "moduleMix is empty", `tickCadence is ""`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := nora()
			tt.change(&p)
			got := CheckExportable(p)
			if len(got) != len(tt.want) {
				t.Fatalf("CheckExportable = %q, want %d reasons like %q", got, len(tt.want), tt.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("reason %d = %q, want it to start %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// TestEncodeRefusesWhatWouldNotLoad checks that Encode writes nothing when
// one persona breaks a rule or the catalog as a whole would not load.
func TestEncodeRefusesWhatWouldNotLoad(t *testing.T) {
	broken := nora()
	broken.Email, broken.ModuleMix = "persona.broken@mana.test", nil
	twin := nora()
	tests := []struct {
		name     string
		personas []Persona
		want     []string
	}{
		{"a persona breaking a rule", []Persona{nora(), broken},
			[]string{"1 of 2 personas cannot be catalog entries", "persona.broken@mana.test: moduleMix is empty"}},
		{"one address twice", []Persona{nora(), twin},
			[]string{"the exported catalog would not load", `personas[1].email "persona.nora@mana.test" is also the address of personas[0]`}},
		{"no personas", nil, []string{"no personas to export"}},
	}
	for _, tt := range tests {
		for _, format := range []string{"json", "yaml"} {
			t.Run(tt.name+" as "+format, func(t *testing.T) {
				var buf bytes.Buffer
				err := Encode(&buf, tt.personas, format)
				if err == nil {
					t.Fatalf("Encode wrote\n%s", buf.Bytes())
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error does not say %q:\n%v", w, err)
					}
				}
				if buf.Len() != 0 {
					t.Errorf("Encode wrote %d bytes along with the error", buf.Len())
				}
			})
		}
	}
	var buf bytes.Buffer
	if err := Encode(&buf, []Persona{nora()}, "toml"); err == nil || !strings.Contains(err.Error(), `unknown catalog format "toml"`) {
		t.Errorf("Encode as toml: %v", err)
	}
	var diags Errors
	if err := Encode(&buf, []Persona{nora(), twin}, "json"); !errors.As(err, &diags) {
		t.Errorf("the error of a catalog that would not load does not carry its diagnostics: %T", err)
	}
}

// TestEncodeLeavesItsInputAlone checks that sorting happens on a copy: the
// caller's slice is the live personas in the order it read them.
func TestEncodeLeavesItsInputAlone(t *testing.T) {
	walter := nora()
	walter.Email = "persona.walter@mana.test"
	in := []Persona{walter, nora()}
	if err := Encode(&bytes.Buffer{}, in, "json"); err != nil {
		t.Fatal(err)
	}
	if in[0].Email != "persona.walter@mana.test" {
		t.Errorf("Encode reordered its input: %v", in)
	}
}

// TestCheckExportableNamesOnlyRealControls checks that bytes which are
// not UTF-8 are reported as that, not taken for the control characters
// their first byte would start.
func TestCheckExportableNamesOnlyRealControls(t *testing.T) {
	p := nora()
	p.Name = "No\xc2Ara"
	got := CheckExportable(p)
	if len(got) != 1 || !strings.Contains(got[0], "is not valid UTF-8") {
		t.Errorf("CheckExportable = %q, want only that the name is not UTF-8", got)
	}
}
