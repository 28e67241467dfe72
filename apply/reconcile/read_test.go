package reconcile

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/plan"
	"github.com/mana/personactl/state"
)

// failingLive fails every read.
type failingLive struct{ *memLive }

func (failingLive) Personas(context.Context) ([]state.LivePersona, error) {
	return nil, errors.New("live is down")
}

// openEntry leaves a journal entry open in s's state, as a run killed
// mid-way does: started an hour ago, with steps.
func openEntry(t *testing.T, s *Session, id string, steps ...state.JournalStep) {
	t.Helper()
	ctx := context.Background()
	lock, err := s.Backend.Lock(ctx, "apply", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	if err := lock.OpenJournal(ctx, state.JournalEntry{ID: id, Operation: "apply", Started: time.Now().Add(-time.Hour).UTC()}); err != nil {
		t.Fatal(err)
	}
	if len(steps) > 0 {
		if err := lock.AppendSteps(ctx, id, steps); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRead: what one Read takes from each side, and which failure wins.
func TestRead(t *testing.T) {
	a := persona("persona.a@mana.test")
	ctx := context.Background()

	t.Run("the three sides, the fingerprint and the pace", func(t *testing.T) {
		live := &memLive{personas: map[string]state.LivePersona{a.Email: {UserID: "ua", Values: a}}}
		s := session(t, live, a)
		s.CountsRequests = true
		snap, err := s.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		in := snap.Input
		if len(in.Desired) != 1 || len(in.Live) != 1 || in.Workspace != "default" || snap.Recorded == nil || in.MissingCatalog != "" {
			t.Errorf("input = %+v", in)
		}
		if in.SecretFingerprint == "" || in.SecretFingerprint != s.Secret.Fingerprint(snap.Recorded.Lineage) {
			t.Errorf("fingerprint = %q, want the seed secret's for the state's lineage", in.SecretFingerprint)
		}
		if snap.Requests != 2 {
			t.Errorf("%d requests counted, want the list and one detail", snap.Requests)
		}
	})

	t.Run("without a seed secret or a request count", func(t *testing.T) {
		s := session(t, &memLive{personas: map[string]state.LivePersona{}}, a)
		s.Secret = nil
		snap, err := s.Read(ctx)
		if err != nil || snap.Input.SecretFingerprint != "" || snap.Requests != 0 || snap.Took != 0 {
			t.Errorf("snapshot = %+v, %v; want no fingerprint and no pace", snap, err)
		}
	})

	t.Run("no catalog function: an empty catalog", func(t *testing.T) {
		s := session(t, &memLive{personas: map[string]state.LivePersona{}})
		s.Catalog = nil
		snap, err := s.Read(ctx)
		if err != nil || len(snap.Input.Desired) != 0 {
			t.Errorf("snapshot = %+v, %v; want an empty catalog", snap, err)
		}
	})

	t.Run("a missing catalog is said in the input", func(t *testing.T) {
		s := session(t, &memLive{personas: map[string]state.LivePersona{}})
		s.Catalog = func() (*catalog.Catalog, error) { return &catalog.Catalog{Path: "gone.yaml", Missing: true}, nil }
		snap, err := s.Read(ctx)
		if err != nil || snap.Input.MissingCatalog != "gone.yaml" {
			t.Errorf("snapshot = %+v, %v; want MissingCatalog gone.yaml", snap, err)
		}
	})

	t.Run("a catalog error wins over live's", func(t *testing.T) {
		s := session(t, &memLive{})
		s.Live = failingLive{&memLive{}}
		s.Catalog = func() (*catalog.Catalog, error) { return nil, errors.New("catalog line 3 is wrong") }
		if _, err := s.Read(ctx); err == nil || !strings.Contains(err.Error(), "catalog line 3") {
			t.Errorf("err = %v, want the catalog's", err)
		}
		s.Catalog = nil
		if _, err := s.Read(ctx); err == nil || !strings.Contains(err.Error(), "live is down") {
			t.Errorf("err = %v, want live's", err)
		}
	})

	t.Run("a panic while reading is an error", func(t *testing.T) {
		s := session(t, &memLive{})
		s.Catalog = func() (*catalog.Catalog, error) { panic("a bug") }
		if _, err := s.Read(ctx); err == nil || !strings.Contains(err.Error(), "a bug") {
			t.Errorf("err = %v, want the panic as an error", err)
		}
	})

	t.Run("interrupted runs: noticed, and what they deleted", func(t *testing.T) {
		s := session(t, &memLive{personas: map[string]state.LivePersona{}})
		var notes []string
		s.Notify = func(msg string) { notes = append(notes, msg) }
		now := time.Now().UTC()
		openEntry(t, s, "j1",
			state.JournalStep{Email: "deleted@mana.test", Action: plan.Delete.String(), Result: state.StepDone, Finished: now},
			state.JournalStep{Email: "replaced@mana.test", Action: plan.Replace.String(), Result: state.StepDone, Finished: now},
			state.JournalStep{Email: "failed@mana.test", Action: plan.Delete.String(), Result: state.StepFailed, Finished: now},
			state.JournalStep{Email: "created@mana.test", Action: plan.Create.String(), Result: state.StepDone, Finished: now},
		)
		snap, err := s.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(snap.Interrupted) != 1 || snap.Interrupted[0].ID != "j1" {
			t.Errorf("interrupted = %+v, want j1", snap.Interrupted)
		}
		got := snap.Input.Interrupted
		if len(got) != 2 || !strings.Contains(got["deleted@mana.test"], "journal j1") || got["replaced@mana.test"] == "" {
			t.Errorf("deleted by interrupted runs = %v, want the done delete and replace only", got)
		}
		if len(notes) != 1 || !strings.Contains(notes[0], "journal j1") || !strings.Contains(notes[0], "after 3 finished step(s)") {
			t.Errorf("notices = %q, want one for j1 after its 3 done steps", notes)
		}
	})
}
