package apply

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/internal/failure"
	"github.com/mana/personactl/plan"
	"github.com/mana/personactl/state"
)

// destroyOf returns a fake holding n personas, all recorded, and the plan
// that destroys them.
func destroyOf(n int) (*fakeLive, []state.RecordedPersona, *plan.Plan) {
	var live []state.LivePersona
	var recorded []state.RecordedPersona
	for i := range n {
		v := p("persona."+string(rune('a'+i))+"@mana.test", "a")
		live = append(live, state.LivePersona{UserID: "id-" + v.Email, Values: v})
		recorded = append(recorded, state.RecordedPersona{Email: v.Email, UserID: "id-" + v.Email, Values: v})
	}
	fake := newFake(live...)
	return fake, recorded, plan.Compute(plan.Input{Recorded: recorded, Live: fake.snapshot()}, plan.Options{Destroy: true})
}

// TestLostLockStopsTheDeletesAtOnce: once the lock is lost no new delete
// starts; the one that finished stays recorded in the journal, which stays
// open, and the message says that apply again converges.
func TestLostLockStopsTheDeletesAtOnce(t *testing.T) {
	fake, recorded, pl := destroyOf(6)
	rec := newRecorder()
	rec.haltAfter = 1
	o := opts()
	o.Parallelism = 1
	res, err := Run(context.Background(), Input{Plan: pl, Recorded: recorded, Live: fake.snapshot()}, fake, rec, o)
	if err == nil || !res.Halted {
		t.Fatalf("err = %v, halted = %v; want the run halted", err, res.Halted)
	}
	if n := len(fake.writes); n != 1 {
		t.Errorf("%d deletes sent after the lock was lost with one in flight, want 1: %v", n, fake.writes)
	}
	for _, want := range []string{"the state lock was lost", "the deletes that had not started were not sent", "journal stays open", "personactl apply again"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if rec.closed {
		t.Error("the journal was closed after the lock was lost")
	}
	if rec.commits != 0 {
		t.Error("the state was written without the lock")
	}
}

// TestLostLockDuringCreatesNeitherRollsBackNorDeletes: a rollback would
// write without the lock, so it is not attempted, and the deletes never run.
func TestLostLockDuringCreatesNeitherRollsBackNorDeletes(t *testing.T) {
	old := state.LivePersona{UserID: "u-old", Values: p("persona.old@mana.test", "a")}
	fake := newFake(old)
	recorded := []state.RecordedPersona{{Email: old.Values.Email, UserID: old.UserID, Values: old.Values}}
	desired := []catalog.Persona{p("persona.a@mana.test", "a"), p("persona.b@mana.test", "a"), p("persona.c@mana.test", "a")}
	pl := plan.Compute(plan.Input{Desired: desired, Recorded: recorded, Live: fake.snapshot()}, plan.Options{})
	rec := newRecorder()
	rec.haltAfter = 1
	o := opts()
	o.Parallelism = 1
	res, err := Run(context.Background(), Input{Plan: pl, Recorded: recorded, Live: fake.snapshot()}, fake, rec, o)
	if err == nil || !res.Halted || res.RolledBack {
		t.Fatalf("err = %v, halted %v, rolled back %v; want halted without a rollback", err, res.Halted, res.RolledBack)
	}
	if got := strings.Join(fake.writes, ","); got != "upsert persona.a@mana.test" {
		t.Errorf("writes = %s; want only the create in flight", got)
	}
}

// TestRefusedTokenHaltsWithoutRollback: a step refused for its token stops
// the run; the rollback would be refused the same way, so it is not tried;
// what was done is still recorded, since the lock is held.
func TestRefusedTokenHaltsWithoutRollback(t *testing.T) {
	fake := newFake()
	fake.failFor["persona.b@mana.test"] = true
	o := opts()
	o.Parallelism = 1
	o.Fatal = func(err error) bool { return strings.Contains(err.Error(), "500") }
	pl := plan.Compute(plan.Input{Desired: []catalog.Persona{p("persona.a@mana.test", "a"), p("persona.b@mana.test", "a"), p("persona.c@mana.test", "a")}}, plan.Options{})
	rec := newRecorder()
	res, err := Run(context.Background(), Input{Plan: pl}, fake, rec, o)
	if err == nil || !res.Halted || res.RolledBack {
		t.Fatalf("err = %v, halted %v, rolled back %v", err, res.Halted, res.RolledBack)
	}
	if !strings.Contains(err.Error(), "fresh admin token") {
		t.Errorf("error does not say to run again with a fresh token:\n%v", err)
	}
	if len(rec.state) != 1 || rec.state[0].Email != "persona.a@mana.test" {
		t.Errorf("state = %+v; want the persona created before the refusal recorded", rec.state)
	}
	if rec.closed {
		t.Error("the journal was closed although the run did not finish")
	}
}

// panicWriter panics inside a step, as a bug would.
type panicWriter struct{ *fakeLive }

func (panicWriter) Upsert(context.Context, catalog.Persona, string) (string, error) {
	panic("forced by the test")
}

// TestPanicInAWorkerIsAnError: a panic in a step's goroutine does not end
// the process (Go would exit 2, read by CI as drift); it comes back as
// *failure.Panic and the run halts.
func TestPanicInAWorkerIsAnError(t *testing.T) {
	pl := plan.Compute(plan.Input{Desired: []catalog.Persona{p("persona.a@mana.test", "a"), p("persona.b@mana.test", "a")}}, plan.Options{})
	o := opts()
	o.Parallelism = 1
	res, err := Run(context.Background(), Input{Plan: pl}, panicWriter{newFake()}, newRecorder(), o)
	var pe *failure.Panic
	if !errors.As(err, &pe) || !res.Halted {
		t.Fatalf("err = %v (halted %v); want a *failure.Panic and a halted run", err, res.Halted)
	}
	if !strings.Contains(string(pe.Stack), "panicWriter") {
		t.Errorf("the crash report's stack does not show where it panicked:\n%s", pe.Stack)
	}
}

// TestOneFailureReadsAsOne: a failed create and a complete rollback are
// one failure and, on its own line, the rollback's ending — not
// a count of "2 failures".
func TestOneFailureReadsAsOne(t *testing.T) {
	fake := newFake()
	fake.failFor["persona.b@mana.test"] = true
	pl := plan.Compute(plan.Input{Desired: []catalog.Persona{p("persona.a@mana.test", "a"), p("persona.b@mana.test", "a")}}, plan.Options{})
	o := opts()
	o.Parallelism = 1
	_, err := Run(context.Background(), Input{Plan: pl}, fake, newRecorder(), o)
	want := "create persona.b@mana.test: 500 Internal server error\nrolled back: every persona this apply created or updated is as it was; nothing was deleted"
	if err == nil || err.Error() != want {
		t.Errorf("error =\n%v\nwant\n%s", err, want)
	}
}

// TestJournalKeepsRealBeforeImagesAndCredentials: the journal's
// before-images carry the persona's history, and a create records the
// credentials fingerprint while an update keeps the recorded one.
func TestJournalKeepsRealBeforeImagesAndCredentials(t *testing.T) {
	created := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	old := state.LivePersona{UserID: "u1", Values: p("persona.old@mana.test", "a"), CreatedAt: created, History: state.History{Actions7d: 4, Actions: 12, Feedback: 3}}
	fake := newFake(old)
	recorded := []state.RecordedPersona{{Email: old.Values.Email, UserID: "u1", Values: old.Values, SecretFingerprint: "fp-old"}}
	desired := []catalog.Persona{p("persona.old@mana.test", "b"), p("persona.new@mana.test", "a")}
	live := []state.LivePersona{old}
	pl := plan.Compute(plan.Input{Desired: desired, Recorded: recorded, Live: live}, plan.Options{})
	rec := newRecorder()
	o := opts()
	o.SecretFingerprint = "fp-new"
	if _, err := Run(context.Background(), Input{Plan: pl, Recorded: recorded, Live: live}, fake, rec, o); err != nil {
		t.Fatal(err)
	}
	if len(rec.entry.Before) != 1 || rec.entry.Before[0].CreatedAt != created || rec.entry.Before[0].Actions != 12 || rec.entry.Before[0].Feedback != 3 {
		t.Errorf("before-images = %+v; want the updated persona's real history", rec.entry.Before)
	}
	got := map[string]string{}
	for _, r := range rec.state {
		got[r.Email] = r.SecretFingerprint
	}
	if got["persona.new@mana.test"] != "fp-new" || got["persona.old@mana.test"] != "fp-old" {
		t.Errorf("credentials recorded = %v; want the create stamped, the update unchanged", got)
	}
	if rec.outcome != state.OutcomeComplete {
		t.Errorf("journal closed as %q", rec.outcome)
	}
}

// TestHalfDoneReplaceIsRecordedAsDeleted: a replace whose delete worked and
// whose create failed leaves the persona gone; the state no longer records
// it, the journal holds the delete, and the error says the persona is gone.
func TestHalfDoneReplaceIsRecordedAsDeleted(t *testing.T) {
	old := p("persona.a@mana.test", "a")
	fake := newFake(state.LivePersona{UserID: "u1", Values: old})
	fake.failFor[old.Email] = true
	renamed := old
	renamed.Name = "New Name"
	recorded := []state.RecordedPersona{{Email: old.Email, UserID: "u1", Values: old}}
	pl := plan.Compute(plan.Input{Desired: []catalog.Persona{renamed}, Recorded: recorded, Live: fake.snapshot()}, plan.Options{Replace: []string{old.Email}})
	rec := newRecorder()
	_, err := Run(context.Background(), Input{Plan: pl, Recorded: recorded, Live: fake.snapshot()}, fake, rec, opts())
	if err == nil || !strings.Contains(err.Error(), "the persona is gone until personactl apply creates it") {
		t.Fatalf("err = %v; want the half-done replace said", err)
	}
	if len(rec.state) != 0 {
		t.Errorf("state = %+v; the deleted persona is still recorded", rec.state)
	}
	deleted := false
	for _, s := range rec.steps {
		deleted = deleted || (s.Action == "delete" && s.Result == state.StepDone && s.Email == old.Email)
	}
	if !deleted {
		t.Errorf("journal steps %+v lack the delete that was done", rec.steps)
	}
}
