package apply

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/plan"
	"github.com/mana/personactl/state"
)

// fakeLive is an in-memory admin API that can be told to fail.
type fakeLive struct {
	mu       sync.Mutex
	personas map[string]fakePersona // by email
	nextID   int
	failFor  map[string]bool // upserts of these emails fail
	lostFor  map[string]bool // upserts of these emails happen, but the answer is lost
	failDel  map[string]bool // deletes of these emails fail
	onUpsert func()          // called on every upsert, before it happens
	onDelete func()          // called on every delete, before it happens
	writes   []string
}

type fakePersona struct {
	id     string
	values catalog.Persona
}

func newFake(live ...state.LivePersona) *fakeLive {
	f := &fakeLive{personas: map[string]fakePersona{}, failFor: map[string]bool{}, lostFor: map[string]bool{}, failDel: map[string]bool{}}
	for _, l := range live {
		f.personas[l.Values.Email] = fakePersona{l.UserID, l.Values}
	}
	return f
}

func (f *fakeLive) Upsert(ctx context.Context, p catalog.Persona, password string) (string, error) {
	if f.onUpsert != nil {
		f.onUpsert()
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes = append(f.writes, "upsert "+p.Email)
	if len(password) < 8 {
		return "", errors.New("password too short")
	}
	if f.failFor[p.Email] {
		return "", errors.New("500 Internal server error")
	}
	cur, ok := f.personas[p.Email]
	if !ok {
		f.nextID++
		cur = fakePersona{id: "new" + string(rune('0'+f.nextID)), values: p}
	} else {
		p.Name = cur.values.Name // the API never renames
	}
	cur.values = p
	f.personas[p.Email] = cur
	if f.lostFor[p.Email] {
		return "", errors.New("502 Bad Gateway after 4 tries")
	}
	return cur.id, nil
}

func (f *fakeLive) Delete(ctx context.Context, id string) error {
	if f.onDelete != nil {
		f.onDelete()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes = append(f.writes, "delete "+id)
	for e, p := range f.personas {
		if p.id == id {
			if f.failDel[e] {
				return errors.New("503 Service Unavailable after 4 tries")
			}
			delete(f.personas, e)
		}
	}
	return nil
}

func (f *fakeLive) FindPersona(_ context.Context, email string) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.personas[email]
	return p.id, ok, nil
}

func (f *fakeLive) snapshot() []state.LivePersona {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []state.LivePersona
	for _, p := range f.personas {
		out = append(out, state.LivePersona{UserID: p.id, Values: p.values})
	}
	return out
}

// memRecorder keeps the journal and state in memory.
type memRecorder struct {
	mu       sync.Mutex
	opened   bool
	entry    state.JournalEntry
	steps    []state.JournalStep
	state    []state.RecordedPersona
	commits  int
	closed   bool
	outcome  string
	failOpen bool
	// haltAfter, when > 0, halts the run once that many steps were
	// recorded, as a lost lock or a failed journal write does.
	haltAfter int
	halted    chan struct{}
	haltOnce  sync.Once
}

func newRecorder() *memRecorder { return &memRecorder{halted: make(chan struct{})} }

// The methods refuse a cancelled context, as the real backends do.
func (m *memRecorder) Open(ctx context.Context, e state.JournalEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.failOpen {
		return errors.New("disk full")
	}
	m.opened, m.entry = true, e
	return nil
}
func (m *memRecorder) Record(s state.JournalStep) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.steps = append(m.steps, s)
	if m.haltAfter > 0 && len(m.steps) >= m.haltAfter {
		m.haltOnce.Do(func() { close(m.halted) })
	}
}
func (m *memRecorder) Halted() <-chan struct{} { return m.halted }
func (m *memRecorder) Err() error              { return errors.New("the state lock was lost") }
func (m *memRecorder) Close(ctx context.Context, outcome string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.closed, m.outcome = true, outcome
	return nil
}
func (m *memRecorder) Commit(ctx context.Context, r []state.RecordedPersona) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.state = r
	m.commits++
	return nil
}

func p(email, archetype string) catalog.Persona {
	return catalog.Persona{Name: "N", Email: email, Archetype: archetype, SystemPrompt: "a prompt of twenty characters or more", ModuleMix: map[string]float64{"todo": 1}, TickCadence: "daily"}
}

func opts() Options {
	return Options{Parallelism: 3, Password: func(string) string { return "derived-password-123" }}
}

func TestApplyCreatesUpdatesThenDeletes(t *testing.T) {
	old := state.LivePersona{UserID: "u1", Values: p("persona.old@mana.test", "a")}
	keep := state.LivePersona{UserID: "u2", Values: p("persona.keep@mana.test", "a")}
	fake := newFake(old, keep)
	recorded := []state.RecordedPersona{{Email: old.Values.Email, UserID: "u1", Values: old.Values}, {Email: keep.Values.Email, UserID: "u2", Values: keep.Values}}
	desired := []catalog.Persona{p("persona.keep@mana.test", "b"), p("persona.new@mana.test", "a")}
	pl := plan.Compute(plan.Input{Desired: desired, Recorded: recorded, Live: fake.snapshot()}, plan.Options{})
	rec := newRecorder()
	res, err := Run(context.Background(), Input{Plan: pl, Recorded: recorded, Live: fake.snapshot()}, fake, rec, opts())
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 1 || res.Updated != 1 || res.Deleted != 1 {
		t.Errorf("result %+v, want 1 created, 1 updated, 1 deleted", res)
	}
	if last := fake.writes[len(fake.writes)-1]; last != "delete u1" {
		t.Errorf("the delete did not run last: %v", fake.writes)
	}
	if len(rec.state) != 2 || rec.state[0].Email != "persona.keep@mana.test" || rec.state[0].Values.Archetype != "b" || rec.state[1].UserID == "" {
		t.Errorf("recorded state %+v", rec.state)
	}
	again := plan.Compute(plan.Input{Desired: desired, Recorded: rec.state, Live: fake.snapshot()}, plan.Options{})
	if again.HasChanges() || again.HasDrift() || again.NeedsStateWrite() {
		t.Errorf("a second plan is not empty: %+v", again.Changes)
	}
}

func TestFailureRollsBackAndSkipsDeletes(t *testing.T) {
	old := state.LivePersona{UserID: "u1", Values: p("persona.old@mana.test", "a")}
	upd := state.LivePersona{UserID: "u2", Values: p("persona.upd@mana.test", "a")}
	fake := newFake(old, upd)
	before := fake.snapshot()
	recorded := []state.RecordedPersona{{Email: old.Values.Email, UserID: "u1", Values: old.Values}}
	desired := []catalog.Persona{p("persona.a@mana.test", "a"), p("persona.b@mana.test", "a"), p("persona.lost@mana.test", "a"), p("persona.upd@mana.test", "z"), p("persona.zfail@mana.test", "a")}
	fake.failFor["persona.zfail@mana.test"] = true
	fake.lostFor["persona.lost@mana.test"] = true
	pl := plan.Compute(plan.Input{Desired: desired, Recorded: recorded, Live: before}, plan.Options{})
	rec := newRecorder()
	o := opts()
	o.Parallelism = 10 // every create and update starts before the first failure is seen
	res, err := Run(context.Background(), Input{Plan: pl, Recorded: recorded, Live: fake.snapshot()}, fake, rec, o)
	if err == nil || !res.RolledBack {
		t.Fatalf("err = %v, rolled back = %v; want a failure and a rollback", err, res.RolledBack)
	}
	for _, want := range []string{"persona.lost@mana.test", "rolled back"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	if len(fake.snapshot()) != 2 {
		t.Errorf("live after rollback has %d personas, want the 2 it had: %+v", len(fake.snapshot()), fake.snapshot())
	}
	for _, l := range fake.snapshot() {
		if l.Values.Archetype != "a" {
			t.Errorf("%s not restored: archetype %q", l.Values.Email, l.Values.Archetype)
		}
	}
	for _, w := range fake.writes {
		if w == "delete u1" {
			t.Error("a delete ran although a create failed")
		}
	}
	if rec.commits != 0 {
		t.Errorf("state written %d times after a complete rollback", rec.commits)
	}
	if !rec.closed {
		t.Error("the journal entry of a completely rolled back run was left open")
	}
}

func TestNoRollbackKeepsPartialProgress(t *testing.T) {
	fake := newFake()
	fake.failFor["persona.b@mana.test"] = true
	o := opts()
	o.NoRollback = true
	o.Parallelism = 1
	pl := plan.Compute(plan.Input{Desired: []catalog.Persona{p("persona.a@mana.test", "a"), p("persona.b@mana.test", "a"), p("persona.c@mana.test", "a")}}, plan.Options{})
	rec := newRecorder()
	_, err := Run(context.Background(), Input{Plan: pl, Recorded: nil, Live: fake.snapshot()}, fake, rec, o)
	if err == nil {
		t.Fatal("no error for a failed create")
	}
	if len(rec.state) != 1 || rec.state[0].Email != "persona.a@mana.test" {
		t.Errorf("state after a partial apply = %+v, want persona.a only", rec.state)
	}
	if _, ok, _ := fake.FindPersona(context.Background(), "persona.c@mana.test"); ok {
		t.Error("a step started after the failure")
	}
}

// TestRollbackTouchesNoStepThatNeverStarted: the first create fails, so
// the updates after it never start; the rollback sends nothing for them,
// not even their unchanged before-images.
func TestRollbackTouchesNoStepThatNeverStarted(t *testing.T) {
	b, c := state.LivePersona{UserID: "ub", Values: p("persona.b@mana.test", "a")}, state.LivePersona{UserID: "uc", Values: p("persona.c@mana.test", "a")}
	fake := newFake(b, c)
	fake.failFor["persona.a@mana.test"] = true
	recorded := []state.RecordedPersona{{Email: b.Values.Email, UserID: "ub", Values: b.Values}, {Email: c.Values.Email, UserID: "uc", Values: c.Values}}
	desired := []catalog.Persona{p("persona.a@mana.test", "a"), p("persona.b@mana.test", "z"), p("persona.c@mana.test", "z")}
	pl := plan.Compute(plan.Input{Desired: desired, Recorded: recorded, Live: fake.snapshot()}, plan.Options{})
	o := opts()
	o.Parallelism = 1
	res, err := Run(context.Background(), Input{Plan: pl, Recorded: recorded, Live: fake.snapshot()}, fake, newRecorder(), o)
	if err == nil || !res.RolledBack {
		t.Fatalf("err = %v, rolled back = %v; want the failed create rolled back", err, res.RolledBack)
	}
	if got := strings.Join(fake.writes, ", "); got != "upsert persona.a@mana.test" {
		t.Errorf("requests: %s; want only the failed create, nothing for the updates that never started", got)
	}
}

func TestBodiesAreCheckedBeforeTheFirstWrite(t *testing.T) {
	fake := newFake()
	o := opts()
	o.Check = func(p catalog.Persona, pw string) error {
		if p.Email == "persona.bad@mana.test" {
			return errors.New("archetype required")
		}
		return nil
	}
	pl := plan.Compute(plan.Input{Desired: []catalog.Persona{p("persona.a@mana.test", "a"), p("persona.bad@mana.test", "a")}}, plan.Options{})
	rec := newRecorder()
	if _, err := Run(context.Background(), Input{Plan: pl, Recorded: nil, Live: fake.snapshot()}, fake, rec, o); err == nil || !strings.Contains(err.Error(), "persona.bad@mana.test: archetype required") {
		t.Fatalf("err = %v", err)
	}
	if len(fake.writes) != 0 || rec.opened {
		t.Errorf("writes %v, journal opened %v; want neither", fake.writes, rec.opened)
	}
}

func TestNoChangesWritesNothing(t *testing.T) {
	a := p("persona.a@mana.test", "a")
	fake := newFake(state.LivePersona{UserID: "u1", Values: a})
	recorded := []state.RecordedPersona{{Email: a.Email, UserID: "u1", Values: a}}
	pl := plan.Compute(plan.Input{Desired: []catalog.Persona{a}, Recorded: recorded, Live: fake.snapshot()}, plan.Options{})
	rec := newRecorder()
	if _, err := Run(context.Background(), Input{Plan: pl, Recorded: recorded, Live: fake.snapshot()}, fake, rec, opts()); err != nil {
		t.Fatal(err)
	}
	if len(fake.writes) != 0 || rec.commits != 0 || rec.opened {
		t.Errorf("a no-op apply wrote: requests %v, commits %d, journal %v", fake.writes, rec.commits, rec.opened)
	}
}

func TestIncompleteRollbackLeavesTheJournalOpen(t *testing.T) {
	fake := newFake()
	fake.failFor["persona.zfail@mana.test"] = true
	fake.failDel["persona.a@mana.test"] = true
	o := opts()
	o.Parallelism = 1
	pl := plan.Compute(plan.Input{Desired: []catalog.Persona{p("persona.a@mana.test", "a"), p("persona.zfail@mana.test", "a")}}, plan.Options{})
	rec := newRecorder()
	_, err := Run(context.Background(), Input{Plan: pl, Recorded: nil, Live: fake.snapshot()}, fake, rec, o)
	if err == nil || !strings.Contains(err.Error(), "rollback incomplete") || strings.Contains(err.Error(), "rolled back: every persona") {
		t.Fatalf("err = %v; want an incomplete rollback, not a claim of success", err)
	}
	if rec.closed {
		t.Error("the journal was closed although a persona this apply created is still live")
	}
	if len(rec.state) != 1 || rec.state[0].Email != "persona.a@mana.test" {
		t.Errorf("state = %+v; want the persona that could not be rolled back recorded", rec.state)
	}
}

// TestInterruptedApplyKeepsWhatItDid: an interrupt (the context
// cancelled) while the first create is on its way lets it finish, starts
// no other, rolls nothing back, records it and closes the journal as
// interrupted; no step is reported as failed.
func TestInterruptedApplyKeepsWhatItDid(t *testing.T) {
	fake := newFake()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	fake.onUpsert = func() {
		calls++
		if calls == 1 {
			defer cancel() // Ctrl-C while the first create is on its way
		}
	}
	o := opts()
	o.Parallelism = 1
	pl := plan.Compute(plan.Input{Desired: []catalog.Persona{p("persona.a@mana.test", "a"), p("persona.b@mana.test", "a"), p("persona.c@mana.test", "a")}}, plan.Options{})
	rec := newRecorder()
	res, err := Run(ctx, Input{Plan: pl, Recorded: nil, Live: fake.snapshot()}, fake, rec, o)
	var ae *Error
	if !errors.As(err, &ae) || !errors.Is(err, ErrInterrupted) || len(ae.Failures) != 0 || res.RolledBack {
		t.Fatalf("err = %v, rolled back %v; want an interrupt with no failure and no rollback", err, res.RolledBack)
	}
	if want := "Interrupted: 1 of 3 changes made and recorded"; !strings.HasPrefix(ae.Outcome, want) {
		t.Errorf("outcome = %q, want it to begin %q", ae.Outcome, want)
	}
	if n := len(fake.snapshot()); n != 1 || res.Created != 1 {
		t.Errorf("%d personas live, %d created; want the one in flight kept", n, res.Created)
	}
	if len(rec.state) != 1 || rec.state[0].Email != "persona.a@mana.test" {
		t.Errorf("state = %+v; want the created persona recorded", rec.state)
	}
	if !rec.closed || rec.outcome != state.OutcomeInterrupted {
		t.Errorf("journal closed %v with %q; want it closed as interrupted", rec.closed, rec.outcome)
	}
}

// TestInterruptBeforeTheFirstWriteChangesNothing: a run whose context is
// already cancelled opens no journal and says nothing was changed.
func TestInterruptBeforeTheFirstWriteChangesNothing(t *testing.T) {
	fake := newFake()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	pl := plan.Compute(plan.Input{Desired: []catalog.Persona{p("persona.a@mana.test", "a")}}, plan.Options{})
	rec := newRecorder()
	_, err := Run(ctx, Input{Plan: pl, Live: fake.snapshot()}, fake, rec, opts())
	var ae *Error
	if !errors.As(err, &ae) || !ae.Interrupted || len(ae.Failures) != 0 || !strings.Contains(ae.Outcome, "nothing was changed") {
		t.Fatalf("err = %v; want an interrupt that says nothing was changed", err)
	}
	if len(fake.writes) != 0 || rec.opened {
		t.Errorf("writes %v, journal opened %v; want neither", fake.writes, rec.opened)
	}
}

// TestInterruptDuringRollbackLetsItFinish: a failure starts a rollback; an
// interrupt that comes while it runs does not cut it short.
func TestInterruptDuringRollbackLetsItFinish(t *testing.T) {
	fake := newFake()
	fake.failFor["persona.zfail@mana.test"] = true
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fake.onDelete = cancel // Ctrl-C while the rollback deletes what was created
	o := opts()
	o.Parallelism = 1
	pl := plan.Compute(plan.Input{Desired: []catalog.Persona{p("persona.a@mana.test", "a"), p("persona.b@mana.test", "a"), p("persona.zfail@mana.test", "a")}}, plan.Options{})
	rec := newRecorder()
	res, err := Run(ctx, Input{Plan: pl, Live: fake.snapshot()}, fake, rec, o)
	if err == nil || !res.RolledBack || errors.Is(err, ErrInterrupted) {
		t.Fatalf("err = %v, rolled back %v; want the failure's rollback", err, res.RolledBack)
	}
	if n := len(fake.snapshot()); n != 0 {
		t.Errorf("%d personas live: the interrupt cut the rollback short", n)
	}
	if !rec.closed || rec.outcome != state.OutcomeRolledBack {
		t.Errorf("journal closed %v with %q; want rolled back", rec.closed, rec.outcome)
	}
}

func TestReplaceDeletesThenCreates(t *testing.T) {
	old := p("persona.a@mana.test", "a")
	fake := newFake(state.LivePersona{UserID: "u1", Values: old})
	renamed := old
	renamed.Name = "New Name"
	recorded := []state.RecordedPersona{{Email: old.Email, UserID: "u1", Values: old}}
	pl := plan.Compute(plan.Input{Desired: []catalog.Persona{renamed}, Recorded: recorded, Live: fake.snapshot()}, plan.Options{Replace: []string{old.Email}})
	rec := newRecorder()
	res, err := Run(context.Background(), Input{Plan: pl, Recorded: recorded, Live: fake.snapshot()}, fake, rec, opts())
	if err != nil {
		t.Fatal(err)
	}
	if res.Replaced != 1 || strings.Join(fake.writes, ",") != "delete u1,upsert persona.a@mana.test" {
		t.Errorf("replaced %d with writes %v; want delete then create", res.Replaced, fake.writes)
	}
	if len(rec.state) != 1 || rec.state[0].UserID == "u1" || rec.state[0].Values.Name != "New Name" {
		t.Errorf("state after replace = %+v; want the new id and the new name", rec.state)
	}
}

// TestCancelledDeletesAreRecordedAsTheyHappened: Ctrl-C during the deletes
// lets the delete in flight finish, starts no other, and the state and the
// journal say exactly which persona is gone.
func TestCancelledDeletesAreRecordedAsTheyHappened(t *testing.T) {
	var live []state.LivePersona
	var recorded []state.RecordedPersona
	for _, e := range []string{"persona.a@mana.test", "persona.b@mana.test", "persona.c@mana.test"} {
		v := p(e, "a")
		live = append(live, state.LivePersona{UserID: "id-" + e, Values: v})
		recorded = append(recorded, state.RecordedPersona{Email: e, UserID: "id-" + e, Values: v})
	}
	fake := newFake(live...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fake.onDelete = cancel // Ctrl-C while the first delete is on its way
	o := opts()
	o.Parallelism = 1
	pl := plan.Compute(plan.Input{Recorded: recorded, Live: fake.snapshot()}, plan.Options{Destroy: true})
	rec := newRecorder()
	res, err := Run(ctx, Input{Plan: pl, Recorded: recorded, Live: fake.snapshot()}, fake, rec, o)
	if !errors.Is(err, ErrInterrupted) || strings.Contains(err.Error(), "not started") {
		t.Fatalf("err = %v; want an interrupt, with no step reported as not started", err)
	}
	if res.Deleted != 1 || len(fake.snapshot()) != 2 {
		t.Errorf("deleted %d, %d live; want the one in flight finished and two left", res.Deleted, len(fake.snapshot()))
	}
	if len(rec.state) != 2 || rec.state[0].Email != "persona.b@mana.test" {
		t.Errorf("state = %+v; want persona.b and persona.c still recorded, persona.a gone", rec.state)
	}
	if len(rec.steps) != 1 || rec.steps[0].Email != "persona.a@mana.test" || rec.steps[0].Outcome != state.StepDone {
		t.Errorf("journal steps = %+v; want the finished delete of persona.a", rec.steps)
	}
	if !rec.closed {
		t.Error("the journal was left open although state and live agree")
	}
}
