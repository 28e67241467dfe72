package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestE2EDestroyLeavesAnotherSetupsPersonas: two setups, each with its own
// catalog and state, share one mana-auth. A destroy from one deletes only
// what it manages and names the other's personas it leaves; --all deletes
// every live persona, under the same guard rails; without a catalog file a
// destroy manages the recorded personas only, and says so.
func TestE2EDestroyLeavesAnotherSetupsPersonas(t *testing.T) {
	e := newE2E(t)
	ps := e.clone()
	ours, theirs := ps[:5], ps[5:]
	e.writeCatalog(ours)
	otherCatalog, otherState := filepath.Join(e.dir, "other.json"), filepath.Join(e.dir, "other.state.json")
	writeCatalogFile(t, otherCatalog, theirs)
	other := []string{"--catalog=" + otherCatalog, "--state=" + otherState}
	e.must(0, "apply", "--auto-approve")
	e.must(0, append([]string{"apply", "--auto-approve"}, other...)...)
	if live := e.live(); len(live) != 10 {
		t.Fatalf("%d personas live after both applies, want 10", len(live))
	}
	e.faults().ResetCounts()
	left := "5 personas not managed here (in neither this catalog nor this recorded state) were left: " + strings.Join(emailsOf(theirs), ", ") + "; `--all` deletes them too"

	r := e.must(2, "plan", "--destroy", "--detailed-exitcode")
	if got := lastLine(r.out); got != "Plan: 0 to create, 0 to update, 5 to delete." {
		t.Errorf("plan --destroy's last line = %q\n%s", got, r)
	}
	if !strings.Contains(r.out, left) {
		t.Errorf("plan --destroy does not name the personas it leaves\n%s", r)
	}

	// Without its catalog this setup manages what its state records:
	// the same five, said in the plan; an invalid catalog is an error.
	r = e.must(2, "plan", "--destroy", "--detailed-exitcode", "--catalog="+filepath.Join(e.dir, "none.json"))
	if got := lastLine(r.out); got != "Plan: 0 to create, 0 to update, 5 to delete." || !strings.Contains(r.out, "there is no catalog at "+filepath.Join(e.dir, "none.json")) {
		t.Errorf("plan --destroy without a catalog file: last line %q\n%s", got, r)
	}
	bad := filepath.Join(e.dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"personas": [`), 0o644); err != nil {
		t.Fatal(err)
	}
	e.must(1, "destroy", "--auto-approve", "--catalog="+bad)
	r = e.must(1, "plan", "--destroy", "--prune")
	if !strings.Contains(r.err, "use --all") {
		t.Errorf("--destroy --prune is not refused with a pointer to --all\n%s", r)
	}
	if n := e.writes(); n != 0 {
		t.Fatalf("%d writes before the destroy", n)
	}

	r = e.must(0, "destroy", "--auto-approve")
	if got := lastLine(r.out); got != "Destroy complete! Personas: 5 deleted." {
		t.Errorf("destroy's last line = %q\n%s", got, r)
	}
	if !strings.Contains(r.out, left) {
		t.Errorf("destroy does not name the personas it leaves\n%s", r)
	}
	if got := keys(e.live()); strings.Join(got, " ") != strings.Join(emailsOf(theirs), " ") {
		t.Errorf("live after the destroy: %v, want the other setup's %v", got, emailsOf(theirs))
	}
	if st := e.recorded(); len(st.Personas) != 0 {
		t.Errorf("%d personas recorded after the destroy", len(st.Personas))
	}
	e.must(0, append([]string{"plan", "--detailed-exitcode"}, other...)...)

	// --all: every live persona, the guard rails still holding.
	e.faults().ResetCounts()
	r = e.must(1, "destroy", "--all", "--auto-approve", "--max-deletes=4")
	if !strings.Contains(r.err, "more than --max-deletes=4") || e.writes() != 0 || len(e.live()) != 5 {
		t.Errorf("destroy --all --max-deletes=4: %d writes, %d live\n%s", e.writes(), len(e.live()), r)
	}
	r = e.must(0, "plan", "--destroy", "--all", "--format=json", "--out="+filepath.Join(e.dir, "all.plan"))
	if !strings.Contains(r.out, `"all": true`) {
		t.Errorf("the JSON plan's options lack all\n%s", r)
	}
	if r = e.must(0, "show", filepath.Join(e.dir, "all.plan"), "--format=json"); !strings.Contains(r.out, `"all": true`) {
		t.Errorf("the saved plan does not record --all\n%s", r)
	}
	r = e.must(0, "destroy", "--all", "--auto-approve")
	if got := lastLine(r.out); got != "Destroy complete! Personas: 5 deleted." {
		t.Errorf("destroy --all's last line = %q\n%s", got, r)
	}
	if live := e.live(); len(live) != 0 {
		t.Errorf("%d personas live after destroy --all: %v", len(live), keys(live))
	}
	r = e.must(2, append([]string{"plan", "--detailed-exitcode"}, other...)...)
	if lastLine(r.out) != "Plan: 5 to create, 0 to update, 0 to delete." || !strings.Contains(r.out, "deleted outside personactl") {
		t.Errorf("the other setup does not see its personas deleted outside personactl\n%s", r)
	}
}
