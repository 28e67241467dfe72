package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mana/personactl/catalog"
)

// TestE2EColour: --color decides; without it FORCE_COLOR (not 0) forces
// colour and NO_COLOR turns it off, FORCE_COLOR winning; auto colours
// only a terminal, which a test's output never is.
func TestE2EColour(t *testing.T) {
	e := newE2E(t)
	saved := filepath.Join(e.dir, "personas.plan")
	r := e.must(0, "plan", "--color=always", "--out="+saved)
	if !strings.Contains(r.out, "\x1b[") {
		t.Fatalf("plan --color=always is not coloured\n%s", r)
	}
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		coloured bool
	}{
		{"auto, not a terminal", nil, nil, false},
		{"always", nil, []string{"--color=always"}, true},
		{"FORCE_COLOR", map[string]string{"FORCE_COLOR": "1"}, nil, true},
		{"FORCE_COLOR=0 forces nothing", map[string]string{"FORCE_COLOR": "0"}, nil, false},
		{"FORCE_COLOR beats NO_COLOR", map[string]string{"FORCE_COLOR": "1", "NO_COLOR": "1"}, nil, true},
		{"never beats FORCE_COLOR", map[string]string{"FORCE_COLOR": "1"}, []string{"--color=never"}, false},
		{"--no-color beats FORCE_COLOR", map[string]string{"FORCE_COLOR": "1"}, []string{"--no-color"}, false},
		{"always beats NO_COLOR", map[string]string{"NO_COLOR": "1"}, []string{"--color=always"}, true},
		{"the last of --color and --no-color wins", nil, []string{"--color=always", "--no-color"}, false},
		{"the last of --no-color and --color wins", map[string]string{"NO_COLOR": "1"}, []string{"--no-color", "--color=always"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("NO_COLOR", "")
			t.Setenv("FORCE_COLOR", "")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			r := e.run(append([]string{"show", saved}, tt.args...)...)
			if r.code != 0 {
				t.Fatalf("show %s: %s", strings.Join(tt.args, " "), r)
			}
			if got := strings.Contains(r.out, "\x1b["); got != tt.coloured {
				t.Errorf("show %s with %v: coloured=%v, want %v\n%s", strings.Join(tt.args, " "), tt.env, got, tt.coloured, r)
			}
		})
	}
	r = e.must(1, "plan", "--color=sometimes")
	if !strings.Contains(r.err, "auto") || !strings.Contains(r.err, "always") {
		t.Errorf("--color=sometimes does not name the choices\n%s", r)
	}
}

// TestE2EStateListJSON: state list --format=json lists the recorded
// personas with their ids and values, and says whether a fingerprint is
// recorded without showing it.
func TestE2EStateListJSON(t *testing.T) {
	e := newE2E(t)
	r := e.must(0, "state", "list", "--format=json")
	var empty struct{ Personas []any }
	if err := json.Unmarshal([]byte(r.out), &empty); err != nil || empty.Personas == nil || len(empty.Personas) != 0 {
		t.Errorf("before the first apply: %v, personas %v\n%s", err, empty.Personas, r)
	}
	e.applyAll()
	r = e.must(0, "state", "list", "--format=json")
	var doc struct {
		FormatVersion string `json:"format_version"`
		State         string `json:"state"`
		Serial        int64  `json:"serial"`
		Personas      []struct {
			Email               string          `json:"email"`
			UserID              string          `json:"user_id"`
			Values              catalog.Persona `json:"values"`
			FingerprintRecorded bool            `json:"fingerprint_recorded"`
		} `json:"personas"`
	}
	if err := json.Unmarshal([]byte(r.out), &doc); err != nil {
		t.Fatalf("state list --format=json is not one JSON document: %v\n%s", err, r)
	}
	rec := e.recorded()
	if doc.FormatVersion != "1" || doc.State != e.state || doc.Serial != rec.Serial || len(doc.Personas) != len(rec.Personas) {
		t.Fatalf("version %q, state %q, serial %d, %d personas; the state has serial %d, %d personas\n%s", doc.FormatVersion, doc.State, doc.Serial, len(doc.Personas), rec.Serial, len(rec.Personas), r)
	}
	for i, p := range doc.Personas {
		want := rec.Personas[i]
		if p.Email != want.Email || p.UserID != want.UserID || p.Values.Archetype != want.Values.Archetype || p.FingerprintRecorded != (want.Credentials != "") {
			t.Errorf("persona %d: %+v, recorded %+v", i, p, want)
		}
		if want.Credentials != "" && strings.Contains(r.out, want.Credentials) {
			t.Errorf("the fingerprint of %s is shown\n%s", want.Email, r)
		}
	}
}
