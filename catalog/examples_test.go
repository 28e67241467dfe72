package catalog

import (
	"bytes"
	"flag"
	"os"
	"reflect"
	"testing"
)

var update = flag.Bool("update", false, "rewrite ../examples/catalog.schema.json from Schema() and the golden files in testdata")

// TestExamplesAgree loads the example catalog in both formats: each must be
// valid, warnings included, and both must say the same.
func TestExamplesAgree(t *testing.T) {
	fromJSON, err := Load("../examples/catalog.json", Options{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	fromYAML, err := Load("../examples/catalog.yaml", Options{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(fromJSON.Personas) < 3 {
		t.Errorf("%d example personas, want at least 3", len(fromJSON.Personas))
	}
	fromJSON.Path, fromYAML.Path = "", ""
	if !reflect.DeepEqual(fromJSON, fromYAML) {
		t.Errorf("examples/catalog.json and examples/catalog.yaml differ:\njson: %+v\nyaml: %+v", fromJSON, fromYAML)
	}
}

// TestExampleSchemaIsCurrent keeps the schema the examples point at equal to
// Schema(), byte for byte; -update rewrites it.
func TestExampleSchemaIsCurrent(t *testing.T) {
	const path = "../examples/catalog.schema.json"
	if *update {
		if err := os.WriteFile(path, Schema(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, Schema()) {
		t.Errorf("%s is not Schema(); run: go test ./catalog -run TestExampleSchemaIsCurrent -update", path)
	}
}
