package main

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mana/personactl/state"
)

// addressFixtures writes a catalog (the real one's ten personas) and a
// state file recording one of them and persona.zoe@mana.test, which the
// catalog lacks; it returns their paths and every address, sorted.
func addressFixtures(t *testing.T) (catalogPath, statePath string, all []string) {
	t.Helper()
	dir := t.TempDir()
	personas := loadReal(t)
	catalogPath, statePath = filepath.Join(dir, "catalog.json"), filepath.Join(dir, "personactl.state.json")
	writeJSON(t, catalogPath, map[string]any{"personas": personas})
	zoe := personas[0]
	zoe.Email = "persona.zoe@mana.test"
	st := state.State{Version: state.FormatVersion, Lineage: "L", Serial: 1, Personas: []state.RecordedPersona{
		{Email: personas[0].Email, UserID: "u1", Values: personas[0]},
		{Email: zoe.Email, UserID: "u2", Values: zoe},
	}}
	writeJSON(t, statePath, st)
	for _, p := range append(personas, zoe) {
		all = append(all, p.Email)
	}
	slices.Sort(all)
	return catalogPath, statePath, all
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// completeQuietly is completeWords that also fails when __complete
// prints anything on standard error.
func completeQuietly(t *testing.T, words ...string) []string {
	t.Helper()
	got, files := completeWords(t, words...)
	if _, errOut, _ := cliOutput(append([]string{"__complete", "--"}, words...)...); errOut != "" || files {
		t.Errorf("__complete %q: files=%v, standard error:\n%s", words, files, errOut)
	}
	return got
}

// TestCompleteAddresses: --target, --replace, state show and state rm
// offer the addresses of the catalog and of the state file, as the
// command would find them (flags typed, environment, personactl.yaml).
func TestCompleteAddresses(t *testing.T) {
	catalogPath, statePath, all := addressFixtures(t)
	t.Setenv("PERSONACTL_CATALOG", catalogPath)
	t.Setenv("PERSONACTL_STATE", statePath)
	otherCatalog := filepath.Join(t.TempDir(), "other.json")
	other := loadReal(t)[:1]
	other[0].Email = "other@mana.test"
	writeJSON(t, otherCatalog, map[string]any{"personas": other})
	tests := []struct {
		name  string
		words []string
		want  []string
	}{
		{"state show: catalog and state", []string{"state", "show", ""}, all},
		{"an address only the state records", []string{"state", "show", "persona.z"}, []string{"persona.zoe@mana.test"}},
		{"state rm, the second address", []string{"state", "rm", "persona.anna@mana.test", "persona.m"}, []string{"persona.marcus@mana.test", "persona.maya@mana.test"}},
		{"plan --target", []string{"plan", "--target", "persona.ma"}, []string{"persona.marcus@mana.test", "persona.maya@mana.test"}},
		{"plan --target=", []string{"plan", "--target=persona.ma"}, []string{"--target=persona.marcus@mana.test", "--target=persona.maya@mana.test"}},
		{"plan --replace=", []string{"plan", "--replace=persona.an"}, []string{"--replace=persona.anna@mana.test"}},
		{"apply --target", []string{"apply", "--target", "persona.j"}, []string{"persona.julia@mana.test"}},
		{"destroy --target", []string{"destroy", "--target", "persona.k"}, []string{"persona.kai@mana.test"}},
		{"verify --target", []string{"verify", "--target", "persona.p"}, []string{"persona.paul@mana.test"}},
		{"the --catalog typed", []string{"--catalog", otherCatalog, "state", "show", ""}, []string{"other@mana.test", "persona.anna@mana.test", "persona.zoe@mana.test"}},
		{"the --state= typed", []string{"state", "show", "--state=" + filepath.Join(t.TempDir(), "none.json"), "persona.z"}, nil},
		{"an unreadable catalog: the state's", []string{"--catalog=" + filepath.Join(t.TempDir(), "none.json"), "state", "show", ""}, []string{"persona.anna@mana.test", "persona.zoe@mana.test"}},
		{"an invalid catalog: the state's", []string{"--catalog=" + statePath, "state", "show", ""}, []string{"persona.anna@mana.test", "persona.zoe@mana.test"}},
		{"the catalog from standard input: the state's", []string{"--catalog=-", "state", "show", ""}, []string{"persona.anna@mana.test", "persona.zoe@mana.test"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := completeQuietly(t, tt.words...); !slices.Equal(got, tt.want) {
				t.Errorf("personactl %s<TAB>: got %q, want %q", strings.Join(tt.words, " "), got, tt.want)
			}
		})
	}
}

// TestCompleteAddressesFromTheConfigFile: the catalog personactl.yaml
// names, relative to its directory, is the one completed from.
func TestCompleteAddressesFromTheConfigFile(t *testing.T) {
	catalogPath, _, _ := addressFixtures(t)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(catalogPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "scripts", "catalog.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "personactl.yaml"), []byte("catalog: scripts/catalog.json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"PERSONACTL_CATALOG", "PERSONACTL_STATE", "PERSONACTL_ENV"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	t.Chdir(dir)
	if got := completeQuietly(t, "state", "show", "persona.ma"); !slices.Equal(got, []string{"persona.marcus@mana.test", "persona.maya@mana.test"}) {
		t.Errorf("with the catalog in personactl.yaml: state show persona.ma<TAB> offers %q", got)
	}
}

// TestCompleteAddressesNeverConnect: with a PostgreSQL state, only the
// catalog's addresses are offered, and no connection is made: the
// listener the DSN names counts what reaches it, and closes it at once,
// so that a client would fail rather than wait.
func TestCompleteAddressesNeverConnect(t *testing.T) {
	catalogPath, _, _ := addressFixtures(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var connections atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			connections.Add(1)
			c.Close()
		}
	}()
	t.Setenv("PERSONACTL_CATALOG", catalogPath)
	t.Setenv("PERSONACTL_STATE", "postgres://personactl@"+ln.Addr().String()+"/personactl")
	got := completeQuietly(t, "state", "show", "persona.z")
	got = append(got, completeQuietly(t, "plan", "--target", "persona.an")...)
	if !slices.Equal(got, []string{"persona.anna@mana.test"}) || connections.Load() != 0 {
		t.Errorf("with a PostgreSQL state: offered %q, %d connection(s) to the database", got, connections.Load())
	}
}
