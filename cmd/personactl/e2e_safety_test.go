package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mana/personactl/catalog"
)

// TestE2ESavedPlanRefusedWhenAPersonTakesAnAddress: a person who signs up
// with a catalog address between plan and apply must not become a persona.
func TestE2ESavedPlanRefusedWhenAPersonTakesAnAddress(t *testing.T) {
	e := newE2E(t)
	planFile := filepath.Join(e.dir, "tfplan")
	e.must(0, "plan", "--out="+planFile)
	person := e.personas[2].Email
	e.inst.SignUpHuman(t, person, "their-own-password", "A Person")
	e.faults().ResetCounts()
	r := e.must(1, "apply", "--auto-approve", planFile)
	if !strings.Contains(r.err, "saved plan is stale") || !strings.Contains(r.err, person+" is now taken by a Mana user who is not a persona") {
		t.Errorf("apply of the saved plan does not refuse the person's address:\n%s", r)
	}
	if n := e.writes(); n != 0 {
		t.Errorf("%d write requests after the refusal", n)
	}
	if live := e.live(); len(live) != 0 {
		t.Errorf("personas created from a refused plan: %v", keys(live))
	}
}

// TestE2ESavedPlanNeedsNoCatalog: the plan file holds the desired values.
func TestE2ESavedPlanNeedsNoCatalog(t *testing.T) {
	e := newE2E(t)
	planFile := filepath.Join(e.dir, "tfplan")
	e.must(0, "plan", "--out="+planFile)
	if err := os.Remove(e.catalog); err != nil {
		t.Fatal(err)
	}
	r := e.must(0, "apply", "--auto-approve", planFile)
	if got := lastLine(r.out); got != "Apply complete! Personas: 10 created, 0 updated, 0 deleted." {
		t.Errorf("apply PLANFILE without a catalog file:\n%s", r)
	}
	r = e.must(1, "apply", "--auto-approve", "--prune", planFile)
	if !strings.Contains(r.err, "saved plan already fixed them") {
		t.Errorf("apply PLANFILE --prune is not refused as a usage error:\n%s", r)
	}
}

// TestE2EPlanWithErrorsSavesNothing: a blocked plan is not written to --out.
func TestE2EPlanWithErrorsSavesNothing(t *testing.T) {
	e := newE2E(t)
	e.inst.SignUpHuman(t, e.personas[0].Email, "their-own-password", "A Person")
	planFile := filepath.Join(e.dir, "tfplan")
	r := e.must(1, "plan", "--out="+planFile)
	if _, err := os.Stat(planFile); !os.IsNotExist(err) {
		t.Errorf("a plan with errors was saved (stat: %v)", err)
	}
	if !strings.Contains(r.out, "Plan blocked: 1 error(s)") {
		t.Errorf("the last line does not say the plan is blocked:\n%s", r)
	}
}

// TestE2ESeedSecretOnlyWhereItIsUsed: destroy derives no password, so it needs
// no PERSONA_SEED_SECRET even in production; a plan that creates does.
func TestE2ESeedSecretOnlyWhereItIsUsed(t *testing.T) {
	e := newE2E(t)
	e.applyAll()
	t.Setenv("NODE_ENV", "production")
	os.Unsetenv("PERSONA_SEED_SECRET")
	r := e.must(1, "plan")
	if !strings.Contains(r.err, "PERSONA_SEED_SECRET is unset and NODE_ENV=production") {
		t.Errorf("plan in production without a secret:\n%s", r)
	}
	t.Setenv("PERSONA_SEED_SECRET", catalog.DevSecret)
	r = e.must(1, "plan")
	if !strings.Contains(r.err, "public development secret and NODE_ENV=production") {
		t.Errorf("plan in production with the public secret set explicitly:\n%s", r)
	}
	os.Unsetenv("PERSONA_SEED_SECRET")
	r = e.must(0, "destroy", "--auto-approve")
	if got := lastLine(r.out); got != "Destroy complete! Personas: 10 deleted." {
		t.Errorf("destroy in production without a secret:\n%s", r)
	}
}

// TestE2EStateRmIgnoresLetterCase like state show does.
func TestE2EStateRmIgnoresLetterCase(t *testing.T) {
	e := newE2E(t)
	e.applyAll()
	upper := strings.ToUpper(e.personas[1].Email)
	e.must(0, "state", "show", upper)
	e.must(0, "state", "rm", upper)
	if _, ok := e.recorded().Find(e.personas[1].Email); ok {
		t.Errorf("state rm %s left the persona in the state", upper)
	}
}
