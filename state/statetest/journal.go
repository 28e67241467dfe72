package statetest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mana/personactl/internal/logtest"
	"github.com/mana/personactl/state"
)

// The conformance tests of a backend's journal: entries opened, appended,
// closed, left open by a crash, and the history they leave.

func sampleEntry(id string) state.JournalEntry {
	last := at.Add(-time.Hour)
	return state.JournalEntry{
		ID: id, Operation: "apply", Who: "ci", Host: "runner-7", Started: at,
		Plan: []byte(`{"format_version":"1","changes":[{"email":"zoe@personas.mana.test","action":"update"}]}`),
		Before: []state.LivePersona{{UserID: "u-zoe", Values: samplePersonas()[0].Values, CreatedAt: at.Add(-72 * time.Hour),
			History: state.History{Actions7d: 12, Actions: 20, Feedback: 3, LastActiveAt: &last}}},
	}
}

func sampleStep(email string, result state.StepResult) state.JournalStep {
	st := state.JournalStep{Email: email, Action: "update", UserID: "u-1", Result: result, Finished: at.Add(2 * time.Second)}
	if result == state.StepFailed {
		st.Error = "PUT /api/admin/personas/u-1: 503 Service Unavailable"
	}
	return st
}

// opened opens a handle on s, takes its lock and opens the journal entry
// id (a sampleEntry) with it.
func opened(t *testing.T, s Store, id string) (state.Backend, state.Lock, state.JournalEntry) {
	t.Helper()
	b := s.Open(t)
	l := lock(t, b, "apply")
	e := sampleEntry(id)
	must(t, l.OpenJournal(context.Background(), e))
	return b, l, e
}

func openJournals(t *testing.T, b state.Backend) []state.JournalEntry {
	t.Helper()
	open, err := b.OpenJournals(context.Background())
	if err != nil {
		t.Fatalf("OpenJournals: %v", err)
	}
	return open
}

func testJournal(t *testing.T, s Store) {
	ctx := context.Background()
	b, l, e := opened(t, s, "journal-1")
	same(t, "just opened", openJournals(t, b), []state.JournalEntry{e})
	steps := []state.JournalStep{sampleStep("zoe@personas.mana.test", state.StepDone), sampleStep("anna@personas.mana.test", state.StepFailed)}
	for _, st := range steps {
		must(t, l.AppendSteps(ctx, e.ID, []state.JournalStep{st}))
	}
	e.Steps = steps
	same(t, "after two steps", openJournals(t, b), []state.JournalEntry{e})
	if err := l.OpenJournal(ctx, e); err == nil {
		t.Error("a second entry with the same ID was accepted")
	}
	must(t, l.CloseJournal(ctx, e.ID, state.OutcomeRolledBack))
	if open := openJournals(t, b); len(open) != 0 {
		t.Errorf("closed entry still open: %+v", open)
	}
	if err := l.AppendSteps(ctx, e.ID, []state.JournalStep{steps[0]}); err == nil {
		t.Error("AppendSteps on a closed entry succeeded")
	}
	if err := l.CloseJournal(ctx, "no-such-entry", state.OutcomeComplete); err == nil {
		t.Error("CloseJournal of an unknown entry succeeded")
	}
	if err := l.AppendSteps(ctx, "no-such-entry", []state.JournalStep{steps[0]}); err == nil {
		t.Error("AppendSteps on an unknown entry succeeded")
	}
	// Many applies later, only open entries are reported.
	for i := range 15 {
		id := fmt.Sprintf("journal-many-%d", i)
		must(t, l.OpenJournal(ctx, sampleEntry(id)))
		must(t, l.CloseJournal(ctx, id, state.OutcomeComplete))
	}
	if open := openJournals(t, b); len(open) != 0 {
		t.Errorf("after 15 closed applies, open entries: %+v", open)
	}
}

func testJournalLeftOpen(t *testing.T, s Store) {
	ctx := context.Background()
	b, l, e := opened(t, s, "interrupted-1")
	st := sampleStep("zoe@personas.mana.test", state.StepDone)
	must(t, l.AppendSteps(ctx, e.ID, []state.JournalStep{st}))
	l.Release() // the run ends without closing its entry
	e.Steps = []state.JournalStep{st}

	next := s.Open(t)
	same(t, "the next run sees the interrupted entry", openJournals(t, next), []state.JournalEntry{e})
	ln := lock(t, next, "apply")
	if err := ln.CloseJournal(ctx, e.ID, state.OutcomeInterrupted); err != nil {
		t.Fatalf("the next run closes the interrupted entry: %v", err)
	}
	if open := openJournals(t, b); len(open) != 0 {
		t.Errorf("after closing: %+v", open)
	}
	// Closed by another run, the entry keeps who ran it, when, and its
	// step, and drops its plan and before-images.
	h := history(t, b, 1)
	if len(h) != 1 || h[0].ID != e.ID || h[0].Operation != e.Operation || h[0].Who != e.Who || h[0].Host != e.Host ||
		!h[0].Started.Equal(e.Started) || h[0].Outcome != state.OutcomeInterrupted || len(h[0].Steps) != 1 || h[0].Plan != nil || h[0].Before != nil {
		t.Errorf("history after another run closed the entry: %+v", h)
	}
	// The plan and before-images hold prompts: they are gone from what is
	// stored, not just from what History returns.
	if raw := s.Raw(t); bytes.Contains(raw, []byte("format_version")) || bytes.Contains(raw, []byte("You are Zoe")) {
		t.Error("an interrupted entry closed by the next run still has its plan or before-images stored")
	}
}

// testOpenJournalsByStart: open entries come oldest first by the time they
// started, whatever the order they were opened in or their IDs sort in.
func testOpenJournalsByStart(t *testing.T, s Store) {
	b := s.Open(t)
	ctx := context.Background()
	l := lock(t, b, "apply")
	for i, id := range []string{"a-started-last", "b-started-first", "c-started-second"} {
		e := sampleEntry(id)
		e.Started = at.Add(time.Duration([]int{3, 1, 2}[i]) * time.Hour)
		must(t, l.OpenJournal(ctx, e))
	}
	var ids []string
	for _, e := range openJournals(t, s.Open(t)) {
		ids = append(ids, e.ID)
	}
	if got := strings.Join(ids, ","); got != "b-started-first,c-started-second,a-started-last" {
		t.Errorf("open entries in the order %s; want them by start, oldest first", got)
	}
}

func testJournalParallelSteps(t *testing.T, s Store) {
	ctx := context.Background()
	b, l, e := opened(t, s, "parallel-1")
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			errs <- l.AppendSteps(ctx, e.ID, []state.JournalStep{sampleStep(fmt.Sprintf("p%02d@personas.mana.test", i), state.StepDone)})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("AppendSteps from parallel steps: %v", err)
		}
	}
	open := openJournals(t, b)
	if len(open) != 1 || len(open[0].Steps) != n {
		t.Fatalf("after %d parallel steps the entry holds %d; a step was lost", n, len(open[0].Steps))
	}
	seen := map[string]bool{}
	for _, st := range open[0].Steps {
		seen[st.Email] = true
	}
	if len(seen) != n {
		t.Errorf("steps recorded: %d distinct of %d", len(seen), n)
	}
}

func testJournalAppendOnly(t *testing.T, s Store) {
	ctx := context.Background()
	b, l, e := opened(t, s, "append-1")
	var want []state.JournalStep
	for batch, n := range []int{1, 0, 7, 30} {
		var steps []state.JournalStep
		for i := range n {
			st := sampleStep(fmt.Sprintf("b%d-%02d@personas.mana.test", batch, i), state.StepDone)
			st.Finished = at.Add(time.Duration(len(want)+i) * time.Millisecond)
			steps = append(steps, st)
		}
		if err := l.AppendSteps(ctx, e.ID, steps); err != nil {
			t.Fatalf("AppendSteps of %d steps: %v", n, err)
		}
		want = append(want, steps...)
		e.Steps = want
		same(t, fmt.Sprintf("after a batch of %d", n), openJournals(t, s.Open(t)), []state.JournalEntry{e})
	}
	if err := l.CloseJournal(ctx, e.ID, "exploded"); err == nil || !strings.Contains(err.Error(), "exploded") {
		t.Errorf("CloseJournal with an unknown outcome: %v; want a refusal", err)
	}
	must(t, l.CloseJournal(ctx, e.ID, state.OutcomeComplete))
	if err := l.AppendSteps(ctx, e.ID, want[:1]); err == nil {
		t.Error("AppendSteps to a closed entry succeeded")
	}
	h := history(t, b, 0)
	if len(h) != 1 || len(h[0].Steps) != len(want) || h[0].Plan != nil || len(h[0].Before) != 0 {
		t.Fatalf("history after close: %+v; want the entry with its %d steps, without plan or before-images", h, len(want))
	}
	// The plan and before-images are gone from what is stored, not just
	// from what History returns.
	if raw := s.Raw(t); bytes.Contains(raw, []byte("format_version")) || bytes.Contains(raw, []byte("You are Zoe")) {
		t.Error("a closed entry's plan or before-images are still stored")
	}
}

func testJournalThroughGroupCommit(t *testing.T, s Store) {
	ctx := context.Background()
	b, l, e := opened(t, s, "group-1")
	j := state.NewJournal(l, e.ID, state.JournalOptions{})
	const workers, each = 5, 100
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				j.Record(sampleStep(fmt.Sprintf("w%d-%03d@personas.mana.test", w, i), state.StepDone))
			}
		})
	}
	wg.Wait()
	must(t, j.Flush(ctx))
	if open := openJournals(t, s.Open(t)); len(open) != 1 || len(open[0].Steps) != workers*each {
		t.Fatalf("after Flush another handle sees %d open entries, the first with %d steps; want all %d", len(open), len(open[0].Steps), workers*each)
	}
	must(t, j.Close(ctx, state.OutcomeFailed))
	h := history(t, b, 1)
	if len(h) != 1 || h[0].Outcome != state.OutcomeFailed || len(h[0].Steps) != workers*each || h[0].Closed.IsZero() {
		t.Errorf("history: %+v; want the run closed as failed with its %d steps", h, workers*each)
	}
}

func history(t *testing.T, b state.Backend, limit int) []state.JournalEntry {
	t.Helper()
	h, err := b.History(context.Background(), limit)
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	return h
}

func testHistoryNewestFirst(t *testing.T, s Store) {
	b := s.Open(t)
	ctx := context.Background()
	l := lock(t, b, "apply")
	if h := history(t, b, 0); len(h) != 0 {
		t.Fatalf("history of an empty store: %+v", h)
	}
	runs := []struct {
		id, op, who string
		outcome     state.RunOutcome
		steps       int
	}{
		{"run-a", "apply", "ana", state.OutcomeComplete, 2},
		{"run-b", "destroy", "bo", state.OutcomeRolledBack, 1},
		{"run-c", "apply", "cy", "", 3}, // still open
	}
	for i, r := range runs {
		e := sampleEntry(r.id)
		e.Operation, e.Who, e.Started = r.op, r.who, at.Add(time.Duration(i)*time.Hour)
		must(t, l.OpenJournal(ctx, e))
		for k := range r.steps {
			must(t, l.AppendSteps(ctx, r.id, []state.JournalStep{sampleStep(fmt.Sprintf("%s-%d@personas.mana.test", r.id, k), state.StepDone)}))
		}
		if r.outcome != "" {
			must(t, l.CloseJournal(ctx, r.id, r.outcome))
		}
	}
	h := history(t, s.Open(t), 0)
	if len(h) != 3 {
		t.Fatalf("history holds %d runs, want 3", len(h))
	}
	for i, got := range h {
		want := runs[len(runs)-1-i]
		if got.ID != want.id || got.Operation != want.op || got.Who != want.who || got.Host != "runner-7" || got.Outcome != want.outcome ||
			len(got.Steps) != want.steps || !got.Started.Equal(at.Add(time.Duration(len(runs)-1-i)*time.Hour)) || got.Plan != nil || len(got.Before) != 0 {
			t.Errorf("history[%d] = %s %s by %s@%s, outcome %q, %d steps, plan %d bytes, %d before-images; want %s %s by %s@runner-7, outcome %q, %d steps, no plan or before-images",
				i, got.ID, got.Operation, got.Who, got.Host, got.Outcome, len(got.Steps), len(got.Plan), len(got.Before), want.id, want.op, want.who, want.outcome, want.steps)
		}
		if closed := !got.Closed.IsZero(); closed != (want.outcome != "") {
			t.Errorf("history[%d] (%s) closed at %v; want closed %v", i, got.ID, got.Closed, want.outcome != "")
		}
	}
	if h := history(t, b, 2); len(h) != 2 || h[0].ID != "run-c" || h[1].ID != "run-b" {
		t.Errorf("History(2) = %d runs; want run-c and run-b", len(h))
	}
}

func testHistoryRetention(t *testing.T, s Store) {
	r, ok := s.(Retainer)
	if !ok {
		t.Skip("the store cannot open a backend with another retention")
	}
	b := r.OpenRetaining(t, 3)
	ctx := context.Background()
	l := lock(t, b, "apply")
	must(t, l.OpenJournal(ctx, sampleEntry("still-open")))
	for i := range 5 {
		id := fmt.Sprintf("closed-%d", i)
		e := sampleEntry(id)
		e.Started = at.Add(time.Duration(i+1) * time.Minute)
		must(t, l.OpenJournal(ctx, e))
		must(t, l.CloseJournal(ctx, id, state.OutcomeComplete))
	}
	var ids []string
	for _, e := range history(t, b, 0) {
		ids = append(ids, e.ID)
	}
	if got := strings.Join(ids, ","); got != "closed-4,closed-3,closed-2,still-open" {
		t.Errorf("history keeping 3 closed runs: %s; want the 3 newest closed and the open one", got)
	}
	if open := openJournals(t, b); len(open) != 1 || open[0].Plan == nil {
		t.Errorf("the open entry after pruning: %+v; want it whole, plan included", open)
	}
}

func testKilledWhileAppending(t *testing.T, s Store) {
	for round, after := range []int{1, 5, 20} {
		child := StartChild(t, s, roleAppendLoop)
		id := child.Expect(t, "opened", 20*time.Second)[0]
		last := int(child.killAfter(t, "appended", after, 0))
		b := s.Open(t)
		open, err := b.OpenJournals(context.Background())
		if err != nil {
			t.Fatalf("round %d: journal unreadable after its writer was killed mid-append: %v", round, err)
		}
		var e *state.JournalEntry
		for i := range open {
			if open[i].ID == id {
				e = &open[i]
			}
		}
		if e == nil {
			t.Fatalf("round %d: the killed writer's entry %s is not open; open: %d entries", round, id, len(open))
		}
		n := len(e.Steps)
		if n < last || n%appendBatch != 0 {
			t.Fatalf("round %d: %d steps recorded; the writer reported %d durable, in batches of %d", round, n, last, appendBatch)
		}
		for i, st := range e.Steps {
			if want := fmt.Sprintf("step-%06d@personas.mana.test", i); st.Email != want {
				t.Fatalf("round %d: step %d is %s, want %s", round, i, st.Email, want)
			}
		}
		// The next run records after whatever the crash left.
		l := lock(t, b, "apply")
		if err := l.AppendSteps(context.Background(), e.ID, []state.JournalStep{sampleStep("after@personas.mana.test", state.StepDone)}); err != nil {
			t.Fatalf("round %d: append after the crash: %v", round, err)
		}
		if err := l.CloseJournal(context.Background(), e.ID, state.OutcomeInterrupted); err != nil {
			t.Fatalf("round %d: close after the crash: %v", round, err)
		}
		l.Release()
		h := history(t, s.Open(t), 1)
		if len(h) != 1 || h[0].ID != e.ID || len(h[0].Steps) != n+1 || h[0].Outcome != state.OutcomeInterrupted {
			t.Fatalf("round %d: history after closing: %+v", round, h)
		}
		t.Logf("round %d: killed after %d durable steps; %d recorded, journal whole", round, last, n)
	}
}

// testLogsLockAndJournal: the log hears of a wait for the lock, its taking
// and release, and the journal's opening, steps and closing, alike for
// every backend.
func testLogsLockAndJournal(t *testing.T, s Store) {
	log, records := logtest.New()
	b := s.OpenLogged(t, log)
	ctx := context.Background()
	other, err := s.Open(t).Lock(ctx, "plan", 0)
	if err != nil {
		t.Fatal(err)
	}
	locked := make(chan state.Lock, 1)
	go func() {
		l, err := b.Lock(ctx, "apply", 30*time.Second)
		if err != nil {
			t.Error(err)
		}
		locked <- l
	}()
	var l state.Lock
	select {
	case <-records.Seen("lock waiting"):
		other.Release()
		l = <-locked
	case l = <-locked:
		other.Release()
		t.Error("no lock waiting was logged before the lock was taken")
	}
	if l == nil {
		t.FailNow()
	}
	e := sampleEntry("logged-1")
	must(t, l.OpenJournal(ctx, e))
	steps := []state.JournalStep{sampleStep("zoe@personas.mana.test", state.StepDone), sampleStep("anna@personas.mana.test", state.StepDone)}
	must(t, l.AppendSteps(ctx, e.ID, steps))
	must(t, l.CloseJournal(ctx, e.ID, state.OutcomeComplete))
	must(t, l.Release())
	var got []string
	for _, r := range records.Records("") {
		switch r["msg"] {
		case "sql":
		case "lock taken", "lock released":
			lock, _ := r["lock"].(map[string]any)
			got = append(got, fmt.Sprintf("%s %v %v", r["msg"], lock["id"] == l.Info().ID, lock["operation"]))
			if w, _ := r["waited"].(float64); r["msg"] == "lock taken" && w <= 0 {
				t.Errorf("the lock taken after a wait says it waited %v", r["waited"])
			}
		default:
			got = append(got, fmt.Sprintf("%s %v %v%v%v", r["msg"], r["entry"], r["operation"], r["steps"], r["outcome"]))
		}
	}
	want := []string{
		"lock waiting <nil> <nil><nil><nil>",
		"lock taken true apply",
		"journal opened logged-1 apply<nil><nil>",
		"journal steps written logged-1 <nil>2<nil>",
		"journal closed logged-1 <nil><nil>complete",
		"lock released true apply",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the log has\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
