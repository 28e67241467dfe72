package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mana/personactl/manaauthdev"
)

var digestLine = regexp.MustCompile(`(?m)^Changes digest: ([0-9a-f]{64}) `)

// TestE2EAppliedPlanIsTheReviewedPlan: apply --expect-digest applies the
// plan a review showed, and refuses, before any write, one whose writes
// changed since (a live edit between review and deploy); --expect-plan
// also says how the two plans differ.
func TestE2EAppliedPlanIsTheReviewedPlan(t *testing.T) {
	e := newE2E(t)
	edited := e.clone()
	edited[0].Archetype = "night-owl"
	e.applyAll()
	e.writeCatalog(edited)

	reviewed := filepath.Join(e.dir, "reviewed.plan")
	r := e.must(0, "plan", "--out="+reviewed)
	m := digestLine.FindStringSubmatch(r.out)
	if m == nil {
		t.Fatalf("the plan shows no changes digest\n%s", r)
	}
	digest := m[1]
	if j := e.must(0, "plan", "--format=json"); !strings.Contains(j.out, `"changes_digest": "`+digest+`"`) {
		t.Errorf("the JSON plan does not carry the digest the text shows\n%s", j.out)
	}
	if md := e.must(0, "plan", "--format=markdown"); !strings.Contains(md.out, "sha256="+digest+" -->") {
		t.Errorf("the PR comment's marker does not carry the changes digest\n%s", md.out)
	}

	// A person edits another persona by hand between review and deploy.
	ctx := context.Background()
	prompt := "edited by hand after the review"
	if err := e.inst.Store.EditPersona(ctx, e.live()[e.personas[3].Email].UserID, manaauthdev.PersonaEdit{SystemPrompt: &prompt}); err != nil {
		t.Fatal(err)
	}
	before := e.writes()
	r = e.must(1, "apply", "--auto-approve", "--expect-digest="+digest)
	if !strings.Contains(r.err, "not the reviewed "+digest) || !strings.Contains(r.err, "nothing was changed") {
		t.Errorf("the refusal does not say the plan is not the reviewed one\n%s", r)
	}
	r = e.must(1, "apply", "--auto-approve", "--expect-plan="+reviewed)
	if !strings.Contains(r.err, e.personas[3].Email+": update, not in the reviewed plan") {
		t.Errorf("--expect-plan does not say how the plans differ\n%s", r)
	}
	if n := e.writes() - before; n != 0 {
		t.Fatalf("%d writes by an apply of a plan that was not reviewed", n)
	}

	// Put the hand edit back: the plan is the reviewed one again.
	original := e.personas[3].SystemPrompt
	if err := e.inst.Store.EditPersona(ctx, e.live()[e.personas[3].Email].UserID, manaauthdev.PersonaEdit{SystemPrompt: &original}); err != nil {
		t.Fatal(err)
	}
	r = e.must(0, "apply", "--auto-approve", "--expect-digest="+digest)
	if !strings.Contains(r.out, "1 updated") {
		t.Errorf("the reviewed plan was not applied\n%s", r)
	}
	e.mustConverge(edited, e.state)

	for _, bad := range []string{"abc", strings.ToUpper(digest), "sha256:" + digest} {
		if r := e.must(1, "apply", "--auto-approve", "--expect-digest="+bad); !strings.Contains(r.err, "is not a changes digest") {
			t.Errorf("--expect-digest=%s: want it refused as no digest\n%s", bad, r)
		}
	}
}
