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
	{
		// Found by make reliability on PostgreSQL: a run that lost its lock
		// left its journal entry open with persona.m4 to create; a person
		// signed up there at once, never signing in, inside that create's
		// request window, and the next apply took them for the user the
		// interrupted create had left half made and completed them. The
		// name the create signs up with now tells them apart.
		"a person who signs up where an interrupted run was creating, inside its window, stays a person",
		[]modelStep{{"plan", 2, 1}, {"unblock", 2, 6}, {"unblock", 4, 4}, {"apply", 4, 2}, {"plan", 0, 3}, {"add", 0, 3}, {"rename", 2, 9}, {"add", 0, 1}, {"rename", 7, 1}, {"rename", 1, 13}, {"change", 9, 2}, {"rename", 1, 2}, {"destroy", 2, 1}, {"lock-loss", 0, 0}, {"person", 9, 0}, {"change", 1, 4}, {"replace", 0, 1}},
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
