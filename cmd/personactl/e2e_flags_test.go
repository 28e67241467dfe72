package main

import (
	"os"
	"strings"
	"testing"

	"github.com/mana/personactl/manaauthdev"
)

// requests counts every request mana-auth-dev saw since the last reset.
func (e *e2e) requests() int {
	n := 0
	for _, v := range e.faults().Counts() {
		n += v
	}
	return n
}

// TestE2EBlankAddressesAreRefused: a narrowing flag never widens a run. An
// empty or blank --target or --replace (an unset shell variable) is
// refused before anything is read, by every command that takes them,
// where it once destroyed, planned or verified every persona.
func TestE2EBlankAddressesAreRefused(t *testing.T) {
	e := newE2E(t)
	e.applyAll()
	anna := e.personas[0].Email
	before, err := os.ReadFile(e.state)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"destroy", "--auto-approve", "--target="},
		{"destroy", "--auto-approve", "--target", ""},
		{"destroy", "--auto-approve", "--target=,"},
		{"destroy", "--auto-approve", "--target=" + anna + ","},
		{"destroy", "--auto-approve", "--target=" + anna, "--target= "},
		{"plan", "--destroy", "--target="},
		{"apply", "--auto-approve", "--destroy", "--target=\t"},
		{"apply", "--auto-approve", "--replace="},
		{"plan", "--replace=" + anna + ",,"},
		{"verify", "--target="},
	} {
		e.faults().ResetCounts()
		r := e.run(args...)
		flag := "--target="
		if strings.Contains(strings.Join(args, " "), "--replace") {
			flag = "--replace="
		}
		if r.code != 1 || !strings.Contains(r.err, flag) || !strings.Contains(r.err, "give each persona's address") {
			t.Errorf("personactl %q: want exit 1 and an error naming %s and what to do, got\n%s", args, flag, r)
		}
		if n := e.requests(); n != 0 {
			t.Errorf("personactl %q: %d requests reached mana-auth-dev before the refusal", args, n)
		}
	}
	if live := e.live(); len(live) != len(e.personas) {
		t.Errorf("%d of %d personas still live after the refusals", len(live), len(e.personas))
	}
	if after, _ := os.ReadFile(e.state); string(after) != string(before) {
		t.Error("the state changed")
	}
}

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

// TestE2ENegativeNumbersAreRefused: only -1 means no --max-deletes limit;
// another negative once turned the guard off. A negative history --limit
// is refused too (0 shows every run).
func TestE2ENegativeNumbersAreRefused(t *testing.T) {
	e := newE2E(t)
	e.applyAll()
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"destroy", "--auto-approve", "--max-deletes=-5"}, "--max-deletes=-5"},
		{[]string{"apply", "--auto-approve", "--destroy", "--max-deletes=-2"}, "--max-deletes=-2"},
		{[]string{"history", "--limit=-1"}, "--limit=-1"},
	} {
		e.faults().ResetCounts()
		if r := e.run(tc.args...); r.code != 1 || !strings.Contains(r.err, tc.says) {
			t.Errorf("personactl %q: want exit 1 and an error naming %s, got\n%s", tc.args, tc.says, r)
		}
		if n := e.requests(); n != 0 {
			t.Errorf("personactl %q: %d requests reached mana-auth-dev before the refusal", tc.args, n)
		}
	}
	if live := e.live(); len(live) != len(e.personas) {
		t.Fatalf("%d of %d personas still live after the refusals", len(live), len(e.personas))
	}
	if r := e.must(0, "history", "--limit=0"); !strings.Contains(r.out, "10 created") {
		t.Errorf("history --limit=0 does not list the run\n%s", r)
	}
	if r := e.must(0, "destroy", "--auto-approve", "--max-deletes=-1"); lastLine(r.out) != "Destroy complete! Personas: 10 deleted." {
		t.Errorf("destroy --max-deletes=-1 (no limit)\n%s", r)
	}
}
