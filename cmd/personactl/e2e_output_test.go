package main

import (
	"path/filepath"
	"strings"
	"testing"
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
