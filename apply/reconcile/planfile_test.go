package reconcile

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/plan"
	"github.com/mana/personactl/state"
	"github.com/mana/personactl/state/file"
)

// TestSaveAndLoadPlan: a saved plan reads back; a path that is one of the
// plan's inputs (through a symbolic link too) is refused and left as it
// was; what is not a regular file is refused at once, without blocking.
func TestSaveAndLoadPlan(t *testing.T) {
	dir := t.TempDir()
	p := &plan.Plan{Workspace: "default", Changes: []plan.Change{{Email: "persona.anna@mana.test", Action: plan.Delete, UserID: "u1"}}}
	out := filepath.Join(dir, "personas.plan")
	statePath := filepath.Join(dir, "personactl.state.json")
	os.WriteFile(statePath, []byte("{}"), 0o600)
	link := filepath.Join(dir, "link.json")
	os.Symlink(statePath, link)
	inputs := file.Files(link)
	if err := SavePlan(out, p, inputs); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(out); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("plan file: %v, %v; want mode 0600", info, err)
	}
	back, err := LoadPlan(out)
	if err != nil || len(back.Changes) != 1 || back.Changes[0].UserID != "u1" {
		t.Fatalf("LoadPlan = %+v, %v", back, err)
	}
	for _, target := range []string{statePath, statePath + ".journal", link} {
		if err := SavePlan(target, p, inputs); err == nil || !strings.Contains(err.Error(), "the plan would overwrite it") {
			t.Errorf("SavePlan(%s) = %v; want a refusal", target, err)
		}
	}
	if data, _ := os.ReadFile(statePath); string(data) != "{}" {
		t.Errorf("the state was overwritten: %q", data)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	if _, err := LoadPlan(fifo); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("LoadPlan(FIFO) = %v; want a refusal", err)
	}
}

// TestDerivesPasswords is the rule for when a run needs the seed secret.
func TestDerivesPasswords(t *testing.T) {
	deletes := &plan.Plan{Changes: []plan.Change{{Email: "a@mana.test", Action: plan.Delete}}}
	creates := &plan.Plan{Changes: []plan.Change{{Email: "a@mana.test", Action: plan.Create}}}
	for _, tc := range []struct {
		name     string
		saved    *plan.Plan
		opts     plan.Options
		readOnly bool
		want     bool
	}{
		{"a new plan", nil, plan.Options{}, false, true},
		{"destroy", nil, plan.Options{Destroy: true}, false, false},
		{"refresh only", nil, plan.Options{RefreshOnly: true}, false, false},
		{"read only (--live, no token)", nil, plan.Options{}, true, false},
		{"a saved plan of deletes", deletes, plan.Options{}, false, false},
		{"a saved plan with a create", creates, plan.Options{}, false, true},
	} {
		if got := DerivesPasswords(tc.saved, tc.opts, tc.readOnly); got != tc.want {
			t.Errorf("%s: DerivesPasswords = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestCatalogOf: live personas become catalog entries; one that cannot be
// an entry refuses the whole export, naming it; an empty live set too.
func TestCatalogOf(t *testing.T) {
	good := state.LivePersona{UserID: "u1", Values: catalog.Persona{Name: "Anna", Email: "persona.anna@mana.test", Archetype: "adhd-student", SystemPrompt: "Du bist Anna und vergisst Dinge.", ModuleMix: map[string]float64{"todo": 1}, TickCadence: "daily"}}
	got, err := CatalogOf([]state.LivePersona{good})
	if err != nil || len(got) != 1 || got[0].Email != "persona.anna@mana.test" {
		t.Fatalf("CatalogOf = %+v, %v", got, err)
	}
	bad := good
	bad.UserID, bad.Values.Email, bad.Values.TickCadence = "u2", "persona.bo@mana.test", "sometimes"
	if _, err := CatalogOf([]state.LivePersona{good, bad}); err == nil || !strings.Contains(err.Error(), "persona.bo@mana.test (user u2)") || !strings.Contains(err.Error(), "nothing was exported") {
		t.Errorf("CatalogOf with a persona that cannot be an entry: %v", err)
	}
	if _, err := CatalogOf(nil); err == nil || !strings.Contains(err.Error(), "no live personas") {
		t.Errorf("CatalogOf(nil) = %v", err)
	}
}
