package catalog

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// yamlCatalog writes n personas as YAML with the items at column col; item
// returns extra lines for persona i (indented under its item) or "".
func yamlCatalog(n, col int, item func(i int) string) string {
	var b strings.Builder
	b.WriteString("# Mana's personas\n$schema: ./catalog.schema.json\npersonas:\n")
	pad := strings.Repeat(" ", col)
	for i := range n {
		fmt.Fprintf(&b, "%s- name: Persona %d\n", pad, i)
		fmt.Fprintf(&b, "%s  email: persona.%d@mana.test\n", pad, i)
		fmt.Fprintf(&b, "%s  archetype: adhd-student\n", pad)
		fmt.Fprintf(&b, "%s  systemPrompt: Du bist Persona %d, 28, und schreibst kurz und hektisch.\n", pad, i)
		fmt.Fprintf(&b, "%s  moduleMix:\n%s    todo: 0.5\n%s    journal: 0.5\n", pad, pad, pad)
		if item != nil {
			b.WriteString(item(i))
		}
	}
	return b.String()
}

// sameAsWhole decodes data in parts and, when that succeeds, fails t
// unless the tree and the findings equal decoding it whole.
func sameAsWhole(t *testing.T, data string, parts int) (split bool) {
	t.Helper()
	root, diags, ok := decodeYAMLParts("c.yaml", []byte(data), parts, 1)
	if !ok {
		return false
	}
	wantRoot, wantDiags := decodeYAMLWhole("c.yaml", []byte(data))
	byPlace := func(a, b Diagnostic) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Col - b.Col
	}
	slices.SortStableFunc(diags, byPlace)
	slices.SortStableFunc(wantDiags, byPlace)
	if !reflect.DeepEqual(root, wantRoot) {
		t.Fatalf("decoded in %d parts, the tree differs from decoding whole", parts)
	}
	if !reflect.DeepEqual(diags, wantDiags) {
		t.Fatalf("decoded in %d parts, the findings are\n%v\nwant\n%v", parts, diags, wantDiags)
	}
	return true
}

func TestYAMLInPartsEqualsWhole(t *testing.T) {
	for _, tt := range []struct {
		name  string
		data  string
		split bool
	}{
		{"items at column 2", yamlCatalog(200, 2, nil), true},
		{"items at column 0", yamlCatalog(200, 0, nil), true},
		{"line breaks CRLF", strings.ReplaceAll(yamlCatalog(200, 2, nil), "\n", "\r\n"), true},
		{"a document start marker first", "---\n" + yamlCatalog(200, 2, nil), true},
		{"comments and blank lines between items", yamlCatalog(200, 2, func(i int) string { return "\n# persona " + fmt.Sprint(i) + "\n\n" }), true},
		{"block scalars holding list-like lines", yamlCatalog(200, 2, func(int) string {
			return "    tickCadence: daily\n    notes: |\n      - not an item\n        - nor this\n"
		}), true},
		{"findings in every part", yamlCatalog(200, 2, func(i int) string {
			return fmt.Sprintf("    unknownKey%d: x\n    42: not a string key\n    when: !!binary aGk=\n", i)
		}), true},
		{"anchors and aliases", yamlCatalog(200, 2, func(i int) string {
			if i == 0 {
				return "    extra: &mix {todo: 1}\n"
			}
			return "    extra: *mix\n"
		}), false},
		{"a key after the list", yamlCatalog(200, 2, nil) + "other: 1\n", false},
		{"a second document", yamlCatalog(200, 2, nil) + "---\npersonas: []\n", false},
		{"personas in flow style", "personas: [" + strings.Repeat("{name: a},", 200) + "]\n", false},
		{"a syntax error in a later part", yamlCatalog(200, 2, func(i int) string {
			if i == 150 {
				return "    bad: [unclosed\n"
			}
			return ""
		}), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, parts := range []int{2, 3, 7} {
				if split := sameAsWhole(t, tt.data, parts); split != tt.split {
					t.Fatalf("decoded in %d parts: %v, want %v", parts, split, tt.split)
				}
			}
		})
	}
}

// TestYAMLCutInsideAQuotedString: a line of a quoted string that looks
// like an item at the items' column may be where a part starts; that part
// and the one before do not parse alone, and the file is decoded whole.
func TestYAMLCutInsideAQuotedString(t *testing.T) {
	data := yamlCatalog(3, 2, func(i int) string {
		if i == 1 {
			return "    quote: \"starts here\n  - and goes on\"\n"
		}
		return ""
	})
	// The item lines are personas 0 and 1, the quote's line, persona 2: in
	// two parts of two, the second starts at the quote's line.
	head, rest, ok := splitYAML([]byte(data), 2, 1)
	if !ok || len(rest) != 1 || !strings.HasPrefix(string(rest[0].text), "  - and goes on") {
		t.Fatalf("splitYAML = %+v, %+v, %v; want the second part to start at the quote's line", head, rest, ok)
	}
	if _, _, ok := decodeYAMLParts("c.yaml", []byte(data), 2, 1); ok {
		t.Fatal("a catalog cut inside a quoted string was decoded in parts")
	}
	root, diags := decodeYAML("c.yaml", []byte(data))
	if root.kind != kindObject || len(diags) != 0 {
		t.Fatalf("decoded whole: %v, %v", root.kind, diags)
	}
	if got := root.fields[1].value.items[1].fields[5].value.text; got != "starts here - and goes on" {
		t.Errorf("the quoted string reads %q", got)
	}
}

// TestYAMLPersonasLineInsideAQuotedString: a "personas:" line and items
// can stand inside a quoted string that the head closes; the head parses,
// but its personas key is another one, so the file is decoded whole.
func TestYAMLPersonasLineInsideAQuotedString(t *testing.T) {
	for _, data := range []string{
		"personas: [p]\na:\n  - \"\npersonas:\n  - x\"\n  - y\n",                    // parses whole, to another tree
		"personas: [p]\ndescription: \"\npersonas:\n  - x\"\n  - y\n",               // does not parse whole
		"personas: # the list\n  - p\ndescription: \"\npersonas:\n  - x\"\n  - y\n", // a block list before
	} {
		if _, _, ok := decodeYAMLParts("c.yaml", []byte(data), 2, 1); ok {
			t.Errorf("%q was decoded in parts", data)
		}
	}
}

// TestYAMLInPartsLocatesFindings: in a catalog large enough for Parse to
// decode it in parts, a finding in the last part names its line in the
// file, not in the part.
func TestYAMLInPartsLocatesFindings(t *testing.T) {
	data := yamlCatalog(2000, 2, func(i int) string {
		if i == 1999 {
			return "    tickCadence: sometimes\n"
		}
		return ""
	})
	if len(data) < splitMinSize {
		t.Fatalf("the catalog is %d bytes, under the %d decoded in parts", len(data), splitMinSize)
	}
	_, diags, ok := decodeYAMLParts("c.yaml", []byte(data), 2, splitMinItems)
	if !ok {
		t.Fatal("the catalog was not decoded in parts")
	}
	_, err := Parse("c.yaml", []byte(data), Options{Format: "yaml"})
	line := strings.Count(data[:strings.Index(data, "sometimes")], "\n") + 1
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("c.yaml:%d:", line)) {
		t.Errorf("the bad cadence on line %d is reported as %v (decoder findings %v)", line, err, diags)
	}
}

// FuzzYAMLParts checks that a catalog decoded in parts, whenever it can
// be, is exactly the catalog decoded whole: same tree, same findings.
func FuzzYAMLParts(f *testing.F) {
	f.Add(yamlCatalog(4, 2, nil), 2)
	f.Add(yamlCatalog(5, 0, func(int) string { return "    notes: |\n      - x\n" }), 3)
	f.Add(yamlCatalog(4, 2, func(int) string { return "    q: \"a\n  - b\"\n" }), 2)
	f.Add(yamlCatalog(4, 2, func(int) string { return "    k: &a 1\n    l: *a\n" }), 2)
	f.Add("personas: [p]\na:\n  - \"\npersonas:\n  - x\"\n  - y\n", 2)
	f.Add("personas: [p]\ndescription: \"\npersonas:\n  - x\"\n  - y\n", 2)
	f.Fuzz(func(t *testing.T, data string, parts int) {
		if parts < 2 || parts > 8 || len(data) > 1<<16 {
			return
		}
		sameAsWhole(t, data, parts)
	})
}

// TestYAMLNotCutAtOtherLineBreaks: yaml.v3 breaks lines at a lone CR and at
// NEL, LS and PS too, which the cut does not count; such files are decoded
// whole.
func TestYAMLNotCutAtOtherLineBreaks(t *testing.T) {
	for _, lineBreak := range []string{"\r", "\u0085", "\u2028", "\u2029"} {
		data := yamlCatalog(4, 2, func(i int) string {
			if i == 3 {
				return "    notes: a" + lineBreak + "b\n"
			}
			return ""
		})
		if _, _, ok := splitYAML([]byte(data), 2, 1); ok {
			t.Errorf("a catalog with the line break %q was cut", lineBreak)
		}
	}
}
