package catalog

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// compiledSchema compiles Schema() with a validator of its own, which also
// checks it against the draft 2020-12 meta-schema.
func compiledSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema()))
	if err != nil {
		t.Fatalf("Schema() is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("catalog.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("catalog.schema.json")
	if err != nil {
		t.Fatalf("Schema() does not compile: %v", err)
	}
	return sch
}

func schemaErrors(t *testing.T, sch *jsonschema.Schema, input []byte) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(input))
	if err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	return sch.Validate(inst)
}

// yamlAsJSON re-encodes a YAML file as JSON, for the schema validator.
func yamlAsJSON(t *testing.T, data []byte) []byte {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSchemaAcceptsGoodCatalogs(t *testing.T) {
	sch := compiledSchema(t)
	read := func(t *testing.T, path string) []byte {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	tests := []struct {
		name  string
		input func(t *testing.T) []byte
	}{
		{"the real catalog", func(t *testing.T) []byte { return fixture(t, "catalog.json") }},
		{"examples/catalog.json", func(t *testing.T) []byte { return read(t, "../examples/catalog.json") }},
		{"examples/catalog.yaml", func(t *testing.T) []byte { return yamlAsJSON(t, read(t, "../examples/catalog.yaml")) }},
		{"one persona", func(*testing.T) []byte { return []byte(onePersona) }},
		{"no tickCadence", func(*testing.T) []byte { return []byte(strings.Replace(with(9, ""), `0.5},`, `0.5}`, 1)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := schemaErrors(t, sch, tt.input(t)); err != nil {
				t.Errorf("the schema rejects it: %v", err)
			}
		})
	}
}

// TestSchemaRejectsBadCatalogs runs the bad-catalog table through the schema.
// The rows it skips are problems a JSON Schema cannot express; each says why.
func TestSchemaRejectsBadCatalogs(t *testing.T) {
	sch := compiledSchema(t)
	for _, tt := range badCatalogs() {
		t.Run(tt.name, func(t *testing.T) {
			if tt.schemaCannot != "" {
				t.Skipf("beyond a schema: %s", tt.schemaCannot)
			}
			input := []byte(tt.input)
			if filepath.Ext(tt.file) == ".yaml" {
				input = yamlAsJSON(t, input)
			}
			if err := schemaErrors(t, sch, input); err == nil {
				t.Errorf("the schema accepts a catalog Load rejects with %q", tt.msg)
			}
		})
	}
}

// TestSchemaAcceptsWarnings checks that what is only a warning to Load is
// no error to an editor either.
func TestSchemaAcceptsWarnings(t *testing.T) {
	sch := compiledSchema(t)
	inputs := []string{
		with(8, `"moduleMix": {"journal": 0.5, "mood": 0.3},`),
		with(7, `"systemPrompt": "`+strings.Repeat("ü", 8001)+`",`),
		twoPersonas(personaLine("Walter", "persona.walter@mana.test"), personaLine("Walter", "persona.walt@mana.test")),
	}
	for _, input := range inputs {
		if err := schemaErrors(t, sch, []byte(input)); err != nil {
			t.Errorf("the schema rejects a catalog with only a warning: %v", err)
		}
	}
}
