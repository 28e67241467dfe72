package ci

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// deploy runs both jobs of apply-deploy.yml as the workflow does: the plan
// job, then the apply job only when the plan job says there are changes.
// It returns whether the apply job ran.
func (w *world) deploy(extra ...string) (applied bool) {
	w.t.Helper()
	w.reset()
	w.must(0, "deploy-plan.sh", extra)
	out := w.file("output")
	switch {
	case strings.Contains(out, "changes=true"):
		w.must(0, "deploy-apply.sh", extra, "personas.plan")
		return true
	case strings.Contains(out, "changes=false"):
		return false
	}
	w.t.Fatalf("the plan job set no changes output: %q", out)
	return false
}

// events reads the apply job's JSON events (a stream of JSON values).
func (w *world) events() []map[string]any {
	w.t.Helper()
	dec := json.NewDecoder(strings.NewReader(w.file("personactl-events.jsonl")))
	var out []map[string]any
	for dec.More() {
		var e map[string]any
		if err := dec.Decode(&e); err != nil {
			w.t.Fatalf("the events artifact is not JSON: %v", err)
		}
		out = append(out, e)
	}
	return out
}

func summaryEvent(t *testing.T, es []map[string]any) map[string]any {
	t.Helper()
	for _, e := range es {
		if e["type"] == "summary" {
			return e
		}
	}
	t.Fatalf("no summary event among %d events", len(es))
	return nil
}

// TestDeployAppliesTheReviewedPlanOnce: the plan job saves a plan and shows
// it in the job summary, the apply job applies exactly that file and keeps
// the events; a second deploy of the same catalog has nothing to apply and
// changes nothing.
func TestDeployAppliesTheReviewedPlanOnce(t *testing.T) {
	t.Parallel()
	testDeploy(t, newWorld(t, ""))
}

func testDeploy(t *testing.T, w *world) {
	t.Helper()
	w.reset()
	w.must(0, "deploy-plan.sh", nil)
	if !strings.Contains(w.file("output"), "changes=true") {
		t.Fatalf("plan job output %q, want changes=true", w.file("output"))
	}
	if s := w.file("summary.md"); !strings.Contains(s, "Plan: 4 to create") || !strings.Contains(s, exampleNora) {
		t.Errorf("the plan job's summary does not show the plan for review:\n%s", s)
	}
	if len(w.live()) != 0 {
		t.Fatal("the plan job changed mana-auth")
	}
	r := w.must(0, "deploy-apply.sh", nil, "personas.plan")
	if !strings.Contains(r.out, "Created 4, updated 0, replaced 0, deleted 0.") {
		t.Errorf("the apply job does not say what it did:\n%s", r)
	}
	if e := summaryEvent(t, w.events()); e["created"] != float64(4) {
		t.Errorf("events summary %v, want 4 created", e)
	}
	if s := w.file("summary.md"); !strings.Contains(s, "personactl apply: complete") {
		t.Errorf("job summary:\n%s", s)
	}
	before := w.live()
	if len(before) != 4 {
		t.Fatalf("%d personas live after the deploy, want 4", len(before))
	}

	if w.deploy() {
		t.Error("a second deploy of the same catalog ran the apply job")
	}
	if s := w.file("summary.md"); !strings.Contains(s, "No changes.") {
		t.Errorf("the second plan job's summary:\n%s", s)
	}
	after := w.live()
	for email, v := range before {
		if after[email] != v {
			t.Errorf("%s changed in a deploy with nothing to do: %s -> %s", email, v, after[email])
		}
	}
}

// TestDeployRefusesAStalePlan: a plan that went stale between review and
// apply (another apply moved the state on) is refused, nothing is applied,
// and the job says to plan again.
func TestDeployRefusesAStalePlan(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "")
	w.must(0, "deploy-plan.sh", nil)
	w.writeCatalog(w.examplePersonas()[:1])
	w.must(0, "personactl", nil, "apply", "--auto-approve")
	w.reset()

	r := w.must(1, "deploy-apply.sh", nil, "personas.plan")
	if !strings.Contains(r.out, "::error title=Saved plan is stale::") {
		t.Errorf("no stale-plan annotation:\n%s", r)
	}
	if s := w.file("summary.md"); !strings.Contains(s, "personactl apply: failed") || !strings.Contains(s, "stale") {
		t.Errorf("job summary does not say the plan was stale:\n%s", s)
	}
	if n := len(w.live()); n != 1 {
		t.Errorf("%d personas live, want the 1 the other apply made: the stale plan was applied", n)
	}
}

// TestDeployMaxDeletes: PERSONACTL_MAX_DELETES refuses a deploy that would
// delete more personas than that, before any write.
func TestDeployMaxDeletes(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "")
	w.deploy()
	if !hasFlag(t, "apply", "--max-deletes") {
		t.Skip("personactl apply has no --max-deletes yet; skipping the guard-rail check")
	}
	w.writeCatalog(w.examplePersonas()[:1])
	w.reset()
	w.must(0, "deploy-plan.sh", nil)
	r := w.must(1, "deploy-apply.sh", []string{"PERSONACTL_MAX_DELETES=2"}, "personas.plan")
	if !strings.Contains(r.errout, exampleSam) {
		t.Errorf("the refusal does not name the personas it would delete:\n%s", r)
	}
	if n := len(w.live()); n != 4 {
		t.Errorf("%d personas live after a refused deploy, want 4", n)
	}
	w.must(0, "deploy-apply.sh", []string{"PERSONACTL_MAX_DELETES=3"}, "personas.plan")
	if n := len(w.live()); n != 1 {
		t.Errorf("%d personas live after a deploy within the limit, want 1", n)
	}
}

// TestDeployPlanFailureSavesNothing: a plan that fails ends the plan job
// with exit 1 and no plan file, so no apply job can run.
func TestDeployPlanFailureSavesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "")
	r := w.must(1, "deploy-plan.sh", []string{"MANA_ADMIN_JWT=wrong-token"})
	if !strings.Contains(r.out, "::error title=personactl plan failed::") {
		t.Errorf("no annotation for the failed plan:\n%s", r)
	}
	if _, err := os.Stat(filepath.Join(w.dir, "personas.plan")); !os.IsNotExist(err) {
		t.Errorf("a plan file exists after a failed plan (%v)", err)
	}
	if strings.Contains(w.file("output"), "changes=") {
		t.Errorf("a failed plan job set its changes output: %q", w.file("output"))
	}
}
