package reconcile

import (
	"strings"
	"testing"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/plan"
	"github.com/mana/personactl/state"
)

// TestDerivesPasswords is the rule for when a run needs the seed secret.
func TestDerivesPasswords(t *testing.T) {
	deletes := &plan.Plan{Changes: []plan.Change{{Email: "a@mana.test", Action: plan.Delete}}}
	creates := &plan.Plan{Changes: []plan.Change{{Email: "a@mana.test", Action: plan.Create}}}
	updates := &plan.Plan{Changes: []plan.Change{{Email: "a@mana.test", Action: plan.Update}}}
	replaces := &plan.Plan{Changes: []plan.Change{{Email: "a@mana.test", Action: plan.Replace}}}
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
		{"a saved plan with an update", updates, plan.Options{}, false, true},
		{"a saved plan with a replace", replaces, plan.Options{}, false, true},
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
	unreadable := state.LivePersona{UserID: "u3", Values: catalog.Persona{Email: "persona.huge@mana.test"}, Unreadable: true}
	if _, err := CatalogOf([]state.LivePersona{good, unreadable}); err == nil || !strings.Contains(err.Error(), "persona.huge@mana.test (user u3): mana-auth's answer for it is too large to read") {
		t.Errorf("CatalogOf with an unreadable persona: %v", err)
	}
	if _, err := CatalogOf(nil); err == nil || !strings.Contains(err.Error(), "no live personas") {
		t.Errorf("CatalogOf(nil) = %v", err)
	}
}
