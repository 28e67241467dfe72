package ci

import (
	"strings"
	"testing"
)

// TestDriftFailsTheJobAndSaysWhatDrifted: with nothing changed by hand the
// check passes; after a hand-made change it exits 2 and the job summary and
// the annotation name the persona and the field, recorded -> live.
func TestDriftFailsTheJobAndSaysWhatDrifted(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "")
	w.must(0, "personactl", nil, "apply", "--auto-approve")

	w.reset()
	w.must(0, "drift.sh", nil)
	if s := w.file("summary.md"); !strings.Contains(s, "none in workspace `default`") {
		t.Errorf("summary without drift:\n%s", s)
	}

	ps := w.examplePersonas()
	nora := ps[0]
	w.editByHand(nora, "archetype", "hand-edited")
	// A catalog change not applied yet is not drift, but its warning (the
	// weights no longer sum to 1) is an annotation on standard output
	// beside the JSON, which must not break the report.
	for k, v := range ps[3]["moduleMix"].(map[string]any) {
		ps[3]["moduleMix"].(map[string]any)[k] = v.(float64) / 2
	}
	w.writeCatalog(ps)
	w.reset()
	r := w.must(2, "drift.sh", []string{"DRIFT_FILE=drift.json"})
	s := w.file("summary.md")
	for _, want := range []string{
		"1 persona(s) changed outside personactl",
		"| `" + exampleNora + "` | changed outside | `archetype`: night-shift-nurse → hand-edited |",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the job summary lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, exampleSam) {
		t.Errorf("the summary names a persona that did not drift:\n%s", s)
	}
	if !strings.Contains(r.out, "::error title=Persona drift in workspace default::1 persona(s) changed outside personactl: "+exampleNora) {
		t.Errorf("no drift annotation naming the persona:\n%s", r)
	}
	if !strings.HasPrefix(w.file("drift.json"), "{") || !strings.Contains(w.file("drift.json"), `"format_version": "2"`) {
		t.Errorf("the drift report artifact is not personactl's JSON:\n%s", w.file("drift.json"))
	}
	// Beside JSON, personactl writes annotations to standard error, which
	// the runner reads for workflow commands as well.
	if !strings.Contains(r.out+r.errout, "::warning file="+w.catalog) {
		t.Errorf("the catalog warning is not passed on as an annotation:\n%s", r)
	}
}

// TestDriftCheckThatCannotRunIsNotDrift: a check refused by the server is exit 1
// with a summary that says the check failed, never 2.
func TestDriftCheckThatCannotRunIsNotDrift(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "")
	w.must(0, "personactl", nil, "apply", "--auto-approve")
	w.reset()
	r := w.must(1, "drift.sh", []string{"MANA_ADMIN_JWT=wrong-token"})
	if !strings.Contains(r.out, "::error title=personactl drift failed::") {
		t.Errorf("no annotation for the failed check:\n%s", r)
	}
	if s := w.file("summary.md"); !strings.Contains(s, "the check failed") || strings.Contains(s, "changed outside") {
		t.Errorf("summary of a check that could not run:\n%s", s)
	}
}
