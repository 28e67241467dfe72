package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/state"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestStateJSONMatchesGoldenFile: state list --format=json, as
// docs/output-formats.md shows it, for a state and for none yet.
func TestStateJSONMatchesGoldenFile(t *testing.T) {
	at := time.Date(2026, 11, 29, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	anna := catalog.Persona{Name: "Anna", Email: "persona.anna@mana.test", Archetype: "adhd-student", SystemPrompt: "Du bist Anna.", ModuleMix: map[string]float64{"todo": 1}, TickCadence: "daily"}
	ben := catalog.Persona{Name: "Ben", Email: "persona.ben@mana.test", Archetype: "night-owl", SystemPrompt: "Du bist Ben.", ModuleMix: map[string]float64{"notes": 0.5, "todo": 0.5}, TickCadence: "hourly"}
	st := &state.State{Version: state.FormatVersion, Lineage: "L1", Serial: 7, Personas: []state.RecordedPersona{
		{Email: anna.Email, UserID: "u-anna", Values: anna, AppliedAt: at, Credentials: "fingerprint-not-to-show"},
		{Email: ben.Email, UserID: "u-ben", Values: ben, AppliedAt: at},
	}}
	var b bytes.Buffer
	for _, st := range []*state.State{st, {}} {
		if err := StateJSON(&b, "personactl.state.json", st); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Contains(b.String(), "fingerprint-not-to-show") {
		t.Errorf("the JSON shows the fingerprint:\n%s", b.String())
	}
	dec := json.NewDecoder(bytes.NewReader(b.Bytes()))
	for dec.More() {
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			t.Fatalf("not JSON documents: %v", err)
		}
		if doc["personas"] == nil {
			t.Errorf("personas is null, not a list: %v", doc)
		}
	}
	golden(t, "state_list.json", b.Bytes())
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v; run go test ./apply/report -update to create it", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test ./apply/report -update if the change is intended)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
