package main

import (
	"strings"
	"testing"

	"github.com/mana/personactl/manaauthdev"
)

// TestE2EAddressesIgnoreLetterCase: --target and --replace name a persona
// in any letter case, as verify and state show do, and an address named
// twice is planned, deleted or logged into once.
func TestE2EAddressesIgnoreLetterCase(t *testing.T) {
	e := newE2E(t)
	e.applyAll()
	ps := e.clone()
	ps[0].TickCadence = "hourly"
	e.writeCatalog(ps)
	upper := strings.ToUpper(ps[0].Email)

	r := e.must(0, "plan", "--target="+upper)
	if got := lastLine(r.out); got != "Plan: 0 to create, 1 to update, 0 to delete." || strings.Contains(r.out, "no persona with that address") {
		t.Errorf("plan --target=%s does not plan the update of %s\n%s", upper, ps[0].Email, r)
	}
	r = e.must(0, "plan", "--target="+upper, "--replace="+upper)
	if got := lastLine(r.out); got != "Plan: 0 to create, 0 to update, 1 to replace, 0 to delete." {
		t.Errorf("plan --replace=%s does not plan a replace\n%s", upper, r)
	}

	e.faults().ResetCounts()
	r = e.must(0, "verify", "--target="+upper, "--target="+ps[0].Email)
	if n := e.faults().Requests("POST", manaauthdev.PathLogin); n != 1 || strings.Count(r.out, ps[0].Email) != 1 {
		t.Errorf("verify of one persona named twice: %d logins, want 1\n%s", n, r)
	}

	r = e.must(0, "destroy", "--auto-approve", "--target="+upper+","+strings.ToUpper(ps[1].Email), "--target="+ps[1].Email)
	if got := lastLine(r.out); got != "Destroy complete! Personas: 2 deleted." {
		t.Errorf("destroy of two personas, one named twice: last line %q\n%s", got, r)
	}
	live := e.live()
	_, zero := live[ps[0].Email]
	_, one := live[ps[1].Email]
	if zero || one || len(live) != len(ps)-2 {
		t.Errorf("after the targeted destroy %d personas are live: %v", len(live), keys(live))
	}
}
