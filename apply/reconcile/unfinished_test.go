package reconcile

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/plan"
	"github.com/mana/personactl/state"
)

// interruptedEntry is an open journal entry of an apply that planned to
// create creates and update update, started at start, with steps.
func interruptedEntry(t *testing.T, start time.Time, creates, update []string, steps ...state.JournalStep) state.JournalEntry {
	t.Helper()
	in := plan.Input{}
	for _, e := range creates {
		in.Desired = append(in.Desired, persona(e))
	}
	for _, e := range update {
		in.Desired = append(in.Desired, persona(e))
		old := persona(e)
		old.TickCadence = "hourly"
		in.Live = append(in.Live, state.LivePersona{UserID: "live-" + e, Values: old})
	}
	var doc bytes.Buffer
	if err := plan.RenderJSONCompact(&doc, plan.Compute(in, plan.Options{})); err != nil {
		t.Fatal(err)
	}
	return state.JournalEntry{ID: "j1", Operation: "apply", Started: start, Plan: doc.Bytes(), Steps: steps}
}

// TestUnfinishedByWindow: a user who holds an address an interrupted run
// was creating is that run's half-made user only when created inside the
// create's request window, never signed in and, when the live side shows
// a name, named as the create signs the user up; anyone else is a person.
func TestUnfinishedByWindow(t *testing.T) {
	const timeout = 30 * time.Second
	start := time.Date(2026, 4, 22, 10, 0, 0, 123456789, time.UTC)
	done := state.JournalStep{Email: "persona.a@mana.test", Action: "create", UserID: "ua", Result: state.StepDone, Finished: start.Add(40 * time.Second)}
	half := func(created time.Time) state.Owner {
		return state.Owner{Kind: state.AddressTaken, UserID: "ux", CreatedAt: created, NeverSignedIn: true}
	}
	x := "persona.x@mana.test"
	named := func(name string) state.Owner {
		h := half(start.Add(time.Second))
		h.Name = name
		return h
	}
	withDone := interruptedEntry(t, start, []string{"persona.a@mana.test", x}, nil, done)
	for _, tt := range []struct {
		name  string
		open  []state.JournalEntry
		owner state.Owner
		want  bool
	}{
		{"created while the run's steps ran", []state.JournalEntry{withDone}, half(start.Add(20 * time.Second)), true},
		{"created within the timeout after the last recorded step (in flight at a kill)", []state.JournalEntry{withDone}, half(done.Finished.Add(timeout)), true},
		{"no step recorded: within the timeout after the start", []state.JournalEntry{interruptedEntry(t, start, []string{x}, nil)}, half(start.Add(timeout)), true},
		{"created in the millisecond the run started (the service stamps milliseconds)", []state.JournalEntry{withDone}, half(start.Truncate(time.Millisecond)), true},
		{"created before the run started", []state.JournalEntry{withDone}, half(start.Add(-time.Second)), false},
		{"created after the window", []state.JournalEntry{withDone}, half(done.Finished.Add(timeout + time.Millisecond)), false},
		{"no step recorded: created after the timeout", []state.JournalEntry{interruptedEntry(t, start, []string{x}, nil)}, half(start.Add(timeout + time.Second)), false},
		{"has signed in", []state.JournalEntry{withDone}, state.Owner{Kind: state.AddressTaken, UserID: "ux", CreatedAt: start.Add(time.Second)}, false},
		{"creation time unknown", []state.JournalEntry{withDone}, half(time.Time{}), false},
		{"the run did not create the address", []state.JournalEntry{interruptedEntry(t, start, []string{"persona.a@mana.test"}, []string{x})}, half(start.Add(time.Second)), false},
		{"the run's step at the address names another user", []state.JournalEntry{interruptedEntry(t, start, []string{x}, nil, state.JournalStep{Email: x, Action: "create", UserID: "uy", Result: state.StepDone, Finished: start.Add(time.Second)})}, half(start.Add(2 * time.Second)), false},
		{"no interrupted run", nil, half(start.Add(time.Second)), false},
		{"named as the create signs the user up", []state.JournalEntry{withDone}, named(persona(x).Name), true},
		{"a person with a name of their own, inside the window", []state.JournalEntry{withDone}, named("A person"), false},
		{"a journal whose plan does not read", []state.JournalEntry{{ID: "j2", Operation: "apply", Started: start, Plan: []byte("{")}}, half(start.Add(time.Second)), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, got := unfinishedBy(tt.open, x, tt.owner, timeout)
			if got != tt.want {
				t.Errorf("unfinishedBy = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestPlanCompletesWhatAnInterruptedCreateLeft: the plan creates over the
// half-made user with a note naming the run, and still refuses a person
// who signed up at another address the run was creating, after it.
func TestPlanCompletesWhatAnInterruptedCreateLeft(t *testing.T) {
	start := time.Now().Add(-time.Minute).UTC()
	x, y := "persona.x@mana.test", "persona.y@mana.test"
	live := &ownersLive{owners: map[string]state.Owner{
		x: {Kind: state.AddressTaken, UserID: "ux", CreatedAt: start.Add(time.Second), NeverSignedIn: true},
		y: {Kind: state.AddressTaken, UserID: "uy", CreatedAt: start.Add(time.Hour), NeverSignedIn: true},
	}}
	s := &Session{Live: live, Parallelism: 2, RequestTimeout: 30 * time.Second}
	snap := &Snapshot{
		Interrupted: []state.JournalEntry{interruptedEntry(t, start, []string{x, y}, nil)},
		Input:       plan.Input{Desired: []catalog.Persona{persona(x), persona(y)}},
	}
	p, err := s.Plan(context.Background(), snap, plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Errors) != 1 || p.Errors[0].Code != plan.CodeAddressTaken || p.Errors[0].Emails[0] != y {
		t.Errorf("errors = %+v; want %s taken", p.Errors, y)
	}
	if len(p.Notes) != 1 || p.Notes[0].Code != plan.CodeUnfinishedCreate || p.Notes[0].UserID != "ux" || !strings.Contains(p.Notes[0].Message(), "journal j1") {
		t.Errorf("notes = %+v; want the unfinished create of %s by journal j1", p.Notes, x)
	}
}
