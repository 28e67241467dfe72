package main

import (
	"fmt"
	"slices"
	"testing"
)

// modelRegressions are histories the model-based test once failed on,
// shrunk by rapid and kept as they were printed ("[rapid] draw history").
// Each names what failed.
var modelRegressions = []struct {
	why     string
	history []modelStep
}{
	{
		// With the address check skipped (a bug planted on purpose to
		// prove that the model catches it), apply stamped the person a
		// persona.
		"a person signs up at a catalog address before it is created; apply must refuse it, not make them a persona",
		[]modelStep{{"person", 0, 0}, {"apply", 0, 0}},
	},
	{
		// With journal steps dropped (a bug planted on purpose), the
		// closed entry did not record the create.
		"every write apply sends is recorded by its journal entry",
		[]modelStep{{"add", 0, 0}, {"apply", 0, 0}},
	},
}

// TestModelRegressions replays the kept histories on the file backend
// (the one they failed on).
func TestModelRegressions(t *testing.T) {
	setModelEnv(t)
	kills := false
	for _, r := range modelRegressions {
		kills = kills || slices.ContainsFunc(r.history, func(s modelStep) bool { return s.Kind == killKind })
	}
	s := newModelSuite(t, "file", newModelStats(), kills)
	for i, r := range modelRegressions {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Log(r.why)
			runHistory(t, s, r.history)
		})
	}
}
