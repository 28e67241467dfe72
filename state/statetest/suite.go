// Package statetest is the conformance suite every recorded-state backend
// runs: the promises of state.Backend and state.Lock (serials, lineage,
// locks, the journal, no secrets at rest), checked the same way for each,
// including with real child processes that hold a lock or die mid-write.
//
// It owns only tests and their helpers; production code must never import it.
package statetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/internal/logtest"
	"github.com/mana/personactl/state"
)

// Store is one empty place to keep a recorded state: a fresh directory for
// the file backend, a fresh workspace for the database.
type Store interface {
	// Open returns a new handle on the store, independent of earlier ones,
	// as a second process would have. The caller closes it (Open may also
	// register a cleanup).
	Open(t *testing.T) state.Backend
	// Raw returns every byte the backend keeps for the store (state, backup,
	// lock, journal), for the check that nothing secret is stored.
	Raw(t *testing.T) []byte
	// Env is what a child process needs in its environment for the reopen
	// function given to HelperProcess to open the same store.
	Env() []string
	// OpenLogged is Open with the backend's Options.Log set to log.
	OpenLogged(t *testing.T, log *slog.Logger) state.Backend
}

// Retainer is a Store that can also open a handle keeping only retain
// closed runs in its journal.
type Retainer interface {
	OpenRetaining(t *testing.T, retain int) state.Backend
}

// HolderWaiter is a Store whose lock can outlive a killed holder process
// for a moment (a database session the server has not yet seen end).
// WaitHolderGone blocks until it no longer does.
type HolderWaiter interface {
	WaitHolderGone(t *testing.T)
}

// Run runs the suite against the backend whose empty stores newStore makes.
// Stores that are Retainers also run the retention test.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Store)
	}{
		{"ReadEmpty", testReadEmpty},
		{"RoundTrip", testRoundTrip},
		{"SerialGrowsLineageKept", testSerialGrowsLineageKept},
		{"StaleSerialRefused", testStaleSerialRefused},
		{"DuplicatePersonaRefused", testDuplicatePersonaRefused},
		{"LockContention", testLockContention},
		{"LockWaitsForRelease", testLockWaitsForRelease},
		{"LockTimeoutRunsOut", testLockTimeoutRunsOut},
		{"LockWaitCancelled", testLockWaitCancelled},
		{"ReleasedLockRefusesWrites", testReleasedLockRefusesWrites},
		{"Journal", testJournal},
		{"JournalLeftOpen", testJournalLeftOpen},
		{"OpenJournalsByStart", testOpenJournalsByStart},
		{"JournalParallelSteps", testJournalParallelSteps},
		{"NoSecretsStored", testNoSecretsStored},
		{"LockHeldByAnotherProcess", testLockHeldByAnotherProcess},
		{"ForceUnlockAfterHolderDied", testForceUnlockAfterHolderDied},
		{"KilledWhileWriting", testKilledWhileWriting},
		{"CredentialsRoundTrip", testCredentialsRoundTrip},
		{"DuplicateByLetterCaseRefused", testDuplicateByLetterCaseRefused},
		{"NegativeLockTimeoutRefused", testNegativeLockTimeoutRefused},
		{"JournalAppendOnly", testJournalAppendOnly},
		{"JournalThroughGroupCommit", testJournalThroughGroupCommit},
		{"HistoryNewestFirst", testHistoryNewestFirst},
		{"HistoryRetention", testHistoryRetention},
		{"KilledWhileAppending", testKilledWhileAppending},
		{"LogsLockAndJournal", testLogsLockAndJournal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// at is a fixed instant, in UTC and to the microsecond, which every backend
// keeps exactly.
var at = time.Date(2025, 3, 14, 9, 26, 53, 589793000, time.UTC)

// samplePersonas returns recorded personas in deliberately unsorted order.
func samplePersonas() []state.RecordedPersona {
	return []state.RecordedPersona{
		{Email: "zoe@personas.mana.test", UserID: "u-zoe", AppliedAt: at, Values: catalog.Persona{
			Name: "Zoe", Email: "zoe@personas.mana.test", Archetype: "night-owl",
			SystemPrompt: "You are Zoe. You write \"quotes\", ünïcode and\nnew lines.",
			ModuleMix:    map[string]float64{"journal": 0.5, "habits": 0.25, "calendar": 0.25}, TickCadence: "hourly"}},
		{Email: "anna@personas.mana.test", UserID: "u-anna", AppliedAt: at.Add(time.Second), Credentials: "pbkdf2-sha256$600000$c2FsdA$ZmluZ2VycHJpbnQ", Values: catalog.Persona{
			Name: "Anna", Email: "anna@personas.mana.test", Archetype: "planner",
			SystemPrompt: "You are Anna.", ModuleMix: map[string]float64{"calendar": 1}, TickCadence: "daily"}},
	}
}

// crashPersonas are the personas the write-loop child stores for serial n:
// every one of them names n, so a state mixing two writes would show.
func crashPersonas(n int64) []state.RecordedPersona {
	var out []state.RecordedPersona
	for i := range 5 {
		email := fmt.Sprintf("crash-%d@personas.mana.test", i)
		out = append(out, state.RecordedPersona{Email: email, UserID: fmt.Sprintf("u-%d", i), AppliedAt: at,
			Values: catalog.Persona{Name: fmt.Sprintf("Crash %d", i), Email: email, Archetype: fmt.Sprintf("serial-%d", n),
				SystemPrompt: strings.Repeat(fmt.Sprintf("serial %d. ", n), 400), ModuleMix: map[string]float64{"journal": 1}, TickCadence: "daily"}})
	}
	return out
}

func lock(t *testing.T, b state.Backend, op string) state.Lock {
	t.Helper()
	l, err := b.Lock(context.Background(), op, 0)
	if err != nil {
		t.Fatalf("Lock(%q): %v", op, err)
	}
	t.Cleanup(func() { l.Release() })
	return l
}

func read(t *testing.T, b state.Backend) *state.State {
	t.Helper()
	s, err := b.Read(context.Background())
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return s
}

func write(t *testing.T, l state.Lock, s *state.State) {
	t.Helper()
	if err := l.Write(context.Background(), s); err != nil {
		t.Fatalf("Write at serial %d: %v", s.Serial, err)
	}
}

// canonical renders v as JSON, treating empty and nil slices alike, so that
// two values compare equal exactly when a reader could not tell them apart.
func canonical(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(data), ":null", ":[]")
}

func sameState(t *testing.T, what string, got, want *state.State) {
	t.Helper()
	if g, w := canonical(t, got), canonical(t, want); g != w {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

func testReadEmpty(t *testing.T, s Store) {
	b := s.Open(t)
	if b.Describe() == "" {
		t.Error("Describe is empty; messages could not name the state")
	}
	got := read(t, b)
	if canonical(t, got) != canonical(t, &state.State{}) {
		t.Errorf("empty store read as %+v, want the zero State", got)
	}
	open, err := b.OpenJournals(context.Background())
	if err != nil || len(open) != 0 {
		t.Errorf("OpenJournals on an empty store = %v, %v; want none", open, err)
	}
}

func testRoundTrip(t *testing.T, s Store) {
	b := s.Open(t)
	l := lock(t, b, "apply")
	in := &state.State{Personas: samplePersonas()}
	write(t, l, in)
	if in.Serial != 1 || in.Version != state.FormatVersion || !uuidV4.MatchString(in.Lineage) {
		t.Errorf("after the first write: serial %d, version %d, lineage %q; want 1, %d and a random UUID", in.Serial, in.Version, in.Lineage, state.FormatVersion)
	}
	l.Release()
	want := &state.State{Version: state.FormatVersion, Lineage: in.Lineage, Serial: 1, Personas: samplePersonas()}
	want.Sort()
	sameState(t, "read back by the writer", read(t, b), want)
	sameState(t, "read back by another handle", read(t, s.Open(t)), want)
	got := read(t, b)
	if p, ok := got.Find("zoe@personas.mana.test"); !ok || p.Values.ModuleMix["habits"] != 0.25 || !p.AppliedAt.Equal(at) {
		t.Errorf("Find(zoe) = %+v, %v", p, ok)
	}
}

func testSerialGrowsLineageKept(t *testing.T, s Store) {
	b := s.Open(t)
	l := lock(t, b, "apply")
	write(t, l, &state.State{Personas: samplePersonas()})
	lineage := read(t, b).Lineage
	for want := int64(2); want <= 4; want++ {
		cur := read(t, b)
		cur.Personas = samplePersonas()[:1+want%2]
		write(t, l, cur)
		got := read(t, b)
		if got.Serial != want || got.Lineage != lineage || len(got.Personas) != int(1+want%2) {
			t.Fatalf("write %d: serial %d, lineage %q, %d personas; want serial %d, lineage %q kept", want, got.Serial, got.Lineage, len(got.Personas), want, lineage)
		}
	}
	// A state built from scratch at the right serial takes the stored lineage.
	fresh := &state.State{Serial: 4, Personas: samplePersonas()}
	write(t, l, fresh)
	if fresh.Lineage != lineage || fresh.Serial != 5 {
		t.Errorf("write without a lineage: got lineage %q serial %d, want %q and 5", fresh.Lineage, fresh.Serial, lineage)
	}
	// A state from another history is refused and changes nothing.
	other := &state.State{Serial: 5, Lineage: "0b6a3c4e-1111-4222-8333-444455556666"}
	err := l.Write(context.Background(), other)
	var stale *state.StaleSerialError
	if err == nil || errors.As(err, &stale) || !strings.Contains(err.Error(), lineage) {
		t.Errorf("write with another lineage: %v; want an error naming the stored lineage %s", err, lineage)
	}
	if got := read(t, b); got.Serial != 5 || got.Lineage != lineage {
		t.Errorf("after the refused write: serial %d lineage %q", got.Serial, got.Lineage)
	}
}

func testStaleSerialRefused(t *testing.T, s Store) {
	a, b := s.Open(t), s.Open(t)
	ctx := context.Background()
	expectStale := func(err error, readSerial, found int64) {
		t.Helper()
		var stale *state.StaleSerialError
		if !errors.As(err, &stale) || stale.Read != readSerial || stale.Found != found {
			t.Fatalf("second writer: %v; want *state.StaleSerialError{Read: %d, Found: %d}", err, readSerial, found)
		}
	}
	for _, n := range []int64{0, 1} {
		// Both runs read serial n (a plan is read without the lock), then
		// apply one after the other.
		ra, rb := read(t, a), read(t, b)
		if ra.Serial != n || rb.Serial != n {
			t.Fatalf("both read serials %d and %d, want %d", ra.Serial, rb.Serial, n)
		}
		ra.Personas = samplePersonas()[:1]
		rb.Personas = samplePersonas()
		la := lock(t, a, "apply")
		write(t, la, ra)
		la.Release()
		lb := lock(t, b, "apply")
		expectStale(lb.Write(ctx, rb), n, n+1)
		lb.Release()
		got := read(t, b)
		if got.Serial != n+1 || len(got.Personas) != 1 {
			t.Fatalf("after the refused write: serial %d with %d personas; want the first writer's state (serial %d, 1 persona)", got.Serial, len(got.Personas), n+1)
		}
	}
}

func testDuplicatePersonaRefused(t *testing.T, s Store) {
	b := s.Open(t)
	l := lock(t, b, "apply")
	write(t, l, &state.State{Personas: samplePersonas()})
	twice := &state.State{Serial: 1, Personas: append(samplePersonas(), samplePersonas()[1])}
	if err := l.Write(context.Background(), twice); err == nil || !strings.Contains(err.Error(), "anna@personas.mana.test") {
		t.Errorf("write with a persona listed twice: %v; want a refusal naming it", err)
	}
	noEmail := &state.State{Serial: 1, Personas: []state.RecordedPersona{{UserID: "u-x"}}}
	if err := l.Write(context.Background(), noEmail); err == nil {
		t.Error("write with a persona without email succeeded")
	}
	if got := read(t, b); got.Serial != 1 || len(got.Personas) != 2 {
		t.Errorf("after refused writes: serial %d with %d personas; want the state unchanged", got.Serial, len(got.Personas))
	}
}

// expectLocked checks that err is a *state.LockedError naming holder.
func expectLocked(t *testing.T, err error, holder state.LockInfo) *state.LockedError {
	t.Helper()
	var le *state.LockedError
	if !errors.As(err, &le) {
		t.Fatalf("Lock while held: %v; want *state.LockedError", err)
	}
	h := le.Holder
	if h.ID != holder.ID || h.Operation != holder.Operation || h.PID != holder.PID || h.Who == "" || h.Host == "" {
		t.Errorf("LockedError names %+v; want the holder %+v", h, holder)
	}
	if !holder.Created.IsZero() && !h.Created.Equal(holder.Created) {
		t.Errorf("LockedError says locked since %s, the holder took it at %s", h.Created, holder.Created)
	}
	if le.Where == "" || !strings.Contains(le.Error(), h.ID) || !strings.Contains(le.Error(), "force-unlock") {
		t.Errorf("LockedError message %q does not name the state and the lock ID", le.Error())
	}
	return le
}

func testLockContention(t *testing.T, s Store) {
	a, b := s.Open(t), s.Open(t)
	before := time.Now()
	la := lock(t, a, "apply")
	info := la.Info()
	if !uuidV4.MatchString(info.ID) || info.Operation != "apply" || info.Created.Before(before.Add(-time.Second)) || info.Created.After(time.Now().Add(time.Second)) {
		t.Errorf("lock info %+v", info)
	}
	for _, h := range []state.Backend{b, a} {
		start := time.Now()
		_, err := h.Lock(context.Background(), "plan", 0)
		if d := time.Since(start); d > 15*time.Second { // a bound loose enough for a loaded machine: it catches a wait, not a slow connect
			t.Errorf("Lock with no timeout took %s; it should fail at once", d)
		}
		expectLocked(t, err, info)
	}
}

func testLockWaitsForRelease(t *testing.T, s Store) {
	a, b := s.Open(t), s.Open(t)
	la := lock(t, a, "apply")
	const hold = 300 * time.Millisecond
	time.AfterFunc(hold, func() { la.Release() })
	start := time.Now()
	lb, err := b.Lock(context.Background(), "destroy", 10*time.Second)
	d := time.Since(start)
	if err != nil {
		t.Fatalf("Lock with a 10s timeout while the holder releases after %s: %v", hold, err)
	}
	defer lb.Release()
	if d < hold-50*time.Millisecond || d > 30*time.Second {
		t.Errorf("Lock took %s; want about %s", d, hold)
	}
	if lb.Info().Operation != "destroy" {
		t.Errorf("new lock info %+v", lb.Info())
	}
	t.Logf("waited %s for a lock released after %s", d.Round(time.Millisecond), hold)
}

func testLockTimeoutRunsOut(t *testing.T, s Store) {
	a, b := s.Open(t), s.Open(t)
	la := lock(t, a, "apply")
	const timeout = 400 * time.Millisecond
	start := time.Now()
	_, err := b.Lock(context.Background(), "apply", timeout)
	d := time.Since(start)
	expectLocked(t, err, la.Info())
	if d < timeout || d > timeout+30*time.Second {
		t.Errorf("Lock with a %s timeout failed after %s", timeout, d)
	}
}

func testLockWaitCancelled(t *testing.T, s Store) {
	a, b := s.Open(t), s.Open(t)
	lock(t, a, "apply")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(150*time.Millisecond, cancel)
	start := time.Now()
	_, err := b.Lock(ctx, "apply", time.Minute)
	if !errors.Is(err, context.Canceled) || time.Since(start) > 30*time.Second {
		t.Errorf("Lock cancelled while waiting: %v after %s; want context.Canceled at once", err, time.Since(start))
	}
}

func testReleasedLockRefusesWrites(t *testing.T, s Store) {
	b := s.Open(t)
	ctx := context.Background()
	l := lock(t, b, "apply")
	write(t, l, &state.State{Personas: samplePersonas()})
	if err := l.Release(); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Errorf("second Release: %v; want it harmless", err)
	}
	cur := read(t, b)
	if err := l.Write(ctx, cur); err == nil {
		t.Error("Write through a released lock succeeded")
	}
	if err := l.OpenJournal(ctx, state.JournalEntry{ID: "after-release", Operation: "apply", Started: at}); err == nil {
		t.Error("OpenJournal through a released lock succeeded")
	}
	l2 := lock(t, b, "apply")
	write(t, l2, cur)
	if cur.Serial != 2 {
		t.Errorf("serial after relocking: %d", cur.Serial)
	}
}

func sampleEntry(id string) state.JournalEntry {
	last := at.Add(-time.Hour)
	return state.JournalEntry{
		ID: id, Operation: "apply", Who: "ci", Host: "runner-7", Started: at,
		Plan: []byte(`{"format_version":"1","changes":[{"email":"zoe@personas.mana.test","action":"update"}]}`),
		Before: []state.BeforeImage{{Email: "zoe@personas.mana.test", UserID: "u-zoe", Values: samplePersonas()[0].Values,
			CreatedAt: at.Add(-72 * time.Hour), LastActiveAt: &last, Actions7d: 12, Actions: 20, Feedback: 3}},
	}
}

func sampleStep(email, outcome string) state.JournalStep {
	st := state.JournalStep{Email: email, Action: "update", UserID: "u-1", Outcome: outcome, Finished: at.Add(2 * time.Second)}
	if outcome == state.StepFailed {
		st.Error = "PUT /api/admin/personas/u-1: 503 Service Unavailable"
	}
	return st
}

func openJournals(t *testing.T, b state.Backend) []state.JournalEntry {
	t.Helper()
	open, err := b.OpenJournals(context.Background())
	if err != nil {
		t.Fatalf("OpenJournals: %v", err)
	}
	return open
}

func sameEntries(t *testing.T, what string, got, want []state.JournalEntry) {
	t.Helper()
	if g, w := canonical(t, got), canonical(t, want); g != w {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

func testJournal(t *testing.T, s Store) {
	b := s.Open(t)
	ctx := context.Background()
	l := lock(t, b, "apply")
	e := sampleEntry("journal-1")
	if err := l.OpenJournal(ctx, e); err != nil {
		t.Fatalf("OpenJournal: %v", err)
	}
	sameEntries(t, "just opened", openJournals(t, b), []state.JournalEntry{e})
	steps := []state.JournalStep{sampleStep("zoe@personas.mana.test", state.StepDone), sampleStep("anna@personas.mana.test", state.StepFailed)}
	for _, st := range steps {
		if err := l.AppendSteps(ctx, e.ID, []state.JournalStep{st}); err != nil {
			t.Fatalf("AppendSteps: %v", err)
		}
	}
	e.Steps = steps
	sameEntries(t, "after two steps", openJournals(t, b), []state.JournalEntry{e})
	if err := l.OpenJournal(ctx, e); err == nil {
		t.Error("a second entry with the same ID was accepted")
	}
	if err := l.CloseJournal(ctx, e.ID, state.OutcomeRolledBack); err != nil {
		t.Fatalf("CloseJournal: %v", err)
	}
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
		if err := l.OpenJournal(ctx, sampleEntry(id)); err != nil {
			t.Fatal(err)
		}
		if err := l.CloseJournal(ctx, id, state.OutcomeComplete); err != nil {
			t.Fatal(err)
		}
	}
	if open := openJournals(t, b); len(open) != 0 {
		t.Errorf("after 15 closed applies, open entries: %+v", open)
	}
}

func testJournalLeftOpen(t *testing.T, s Store) {
	b := s.Open(t)
	ctx := context.Background()
	l := lock(t, b, "apply")
	e := sampleEntry("interrupted-1")
	if err := l.OpenJournal(ctx, e); err != nil {
		t.Fatal(err)
	}
	st := sampleStep("zoe@personas.mana.test", state.StepDone)
	if err := l.AppendSteps(ctx, e.ID, []state.JournalStep{st}); err != nil {
		t.Fatal(err)
	}
	l.Release() // the run ends without closing its entry
	e.Steps = []state.JournalStep{st}

	next := s.Open(t)
	sameEntries(t, "the next run sees the interrupted entry", openJournals(t, next), []state.JournalEntry{e})
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
		if err := l.OpenJournal(ctx, e); err != nil {
			t.Fatal(err)
		}
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
	b := s.Open(t)
	ctx := context.Background()
	l := lock(t, b, "apply")
	e := sampleEntry("parallel-1")
	if err := l.OpenJournal(ctx, e); err != nil {
		t.Fatal(err)
	}
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

func testNoSecretsStored(t *testing.T, s Store) {
	// Plant the secrets a run has at hand, then store everything a run
	// stores. None of it is passed to the backend, so none may appear.
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYWRtaW4ifQ.planted-admin-signature"
	seed := "planted-seed-secret-4f1c"
	t.Setenv("MANA_ADMIN_JWT", jwt)
	t.Setenv("PERSONA_SEED_SECRET", seed)
	secret, err := catalog.NewSecret(seed)
	if err != nil {
		t.Fatal(err)
	}
	personas := samplePersonas()
	forbidden := []string{jwt, seed, "eyJ"}
	for _, p := range personas {
		forbidden = append(forbidden, secret.Password(p.Email))
	}

	ctx := context.Background()
	b := s.Open(t)
	l := lock(t, b, "apply")
	e := sampleEntry("scan-1")
	if err := l.OpenJournal(ctx, e); err != nil {
		t.Fatal(err)
	}
	for _, outcome := range []string{state.StepDone, state.StepFailed} {
		if err := l.AppendSteps(ctx, e.ID, []state.JournalStep{sampleStep(personas[0].Email, outcome)}); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 { // two writes, so that a backup exists too
		cur := read(t, b)
		cur.Personas = personas
		write(t, l, cur)
	}
	if err := l.OpenJournal(ctx, sampleEntry("scan-2")); err != nil {
		t.Fatal(err)
	}
	if err := l.CloseJournal(ctx, "scan-2", state.OutcomeComplete); err != nil {
		t.Fatal(err)
	}

	raw := s.Raw(t) // with the lock still held and an entry still open
	// The scan must be looking at the stored bytes: what was given is there.
	for _, given := range []string{"You are Zoe", "format_version", "503 Service Unavailable", "u-anna", "night-owl", l.Info().ID} {
		if !bytes.Contains(raw, []byte(given)) {
			t.Fatalf("stored bytes lack %q, which was stored; Raw does not return what the backend keeps", given)
		}
	}
	for _, f := range forbidden {
		if bytes.Contains(raw, []byte(f)) {
			t.Errorf("stored bytes contain a secret that was never given to the backend: %.12s…", f)
		}
	}
	lower := bytes.ToLower(raw)
	for _, word := range []string{"password", "jwt", "token", "secret", "bearer", "authorization"} {
		if i := bytes.Index(lower, []byte(word)); i >= 0 {
			t.Errorf("stored bytes contain %q, though nothing given to the backend did: …%s…", word, raw[max(0, i-60):min(len(raw), i+30)])
		}
	}
}

func testLockHeldByAnotherProcess(t *testing.T, s Store) {
	child := StartChild(t, s, RoleHold)
	b := s.Open(t)
	_, err := b.Lock(context.Background(), "apply", 0)
	le := expectLocked(t, err, state.LockInfo{ID: child.LockID, Operation: HoldOperation, PID: child.PID})
	t.Logf("while a child holds the lock: %v", le)
	_, err = b.Lock(context.Background(), "apply", 300*time.Millisecond)
	expectLocked(t, err, le.Holder)

	child.Kill(t)
	start := time.Now()
	l, err := b.Lock(context.Background(), "apply", 15*time.Second)
	if err != nil {
		t.Fatalf("Lock after the holder was killed: %v", err)
	}
	defer l.Release()
	t.Logf("lock free %s after SIGKILL of its holder", time.Since(start).Round(time.Millisecond))
	write(t, l, read(t, b))
}

func testForceUnlockAfterHolderDied(t *testing.T, s Store) {
	ctx := context.Background()
	b := s.Open(t)
	if err := b.ForceUnlock(ctx, "no-lock"); err == nil {
		t.Error("ForceUnlock of an unlocked state succeeded")
	}
	child := StartChild(t, s, RoleHold)
	child.Kill(t)
	if w, ok := s.(HolderWaiter); ok {
		w.WaitHolderGone(t)
	}
	err := b.ForceUnlock(ctx, "0b6a3c4e-1111-4222-8333-444455556666")
	if err == nil || !strings.Contains(err.Error(), "0b6a3c4e-1111-4222-8333-444455556666") {
		t.Errorf("ForceUnlock with the wrong ID: %v; want a refusal naming the ID given", err)
	}
	if err := b.ForceUnlock(ctx, child.LockID); err != nil {
		t.Fatalf("ForceUnlock(%s) after its holder died: %v", child.LockID, err)
	}
	if err := b.ForceUnlock(ctx, child.LockID); err == nil {
		t.Error("a second ForceUnlock of the same lock succeeded; want 'not locked'")
	}
	l := lock(t, b, "apply")
	l.Release()
}

func testKilledWhileWriting(t *testing.T, s Store) {
	b := s.Open(t)
	l := lock(t, b, "apply")
	first := &state.State{Personas: crashPersonas(1)}
	write(t, l, first)
	l.Release()
	for round, after := range []int{1, 4, 9} {
		child := StartChild(t, s, roleWriteLoop)
		var last int64
		for range after {
			f := child.Expect(t, "wrote", 20*time.Second)
			fmt.Sscan(f[0], &last)
		}
		// Let it run into the middle of another write, then kill it.
		time.Sleep(time.Duration(round) * 3 * time.Millisecond)
		child.Kill(t)
		for line := range child.Lines() {
			if f := strings.Fields(line); len(f) == 2 && f[0] == "wrote" {
				fmt.Sscan(f[1], &last)
			}
		}
		// The lock first: a PostgreSQL server may still commit the killed
		// writer's last transaction until it sees the session end, which
		// is when the lock comes free.
		l, err := b.Lock(context.Background(), "apply", 15*time.Second)
		if err != nil {
			t.Fatalf("round %d: Lock after the writer was killed: %v", round, err)
		}
		got, err := s.Open(t).Read(context.Background())
		if err != nil {
			t.Fatalf("round %d: state unreadable after its writer was killed: %v", round, err)
		}
		if got.Serial < last || got.Serial > last+1 || got.Lineage != first.Lineage {
			t.Fatalf("round %d: state at serial %d lineage %s; the writer last reported serial %d of lineage %s", round, got.Serial, got.Lineage, last, first.Lineage)
		}
		want := fmt.Sprintf("serial-%d", got.Serial)
		for _, p := range got.Personas {
			if p.Values.Archetype != want {
				t.Fatalf("round %d: state at serial %d holds a persona written for %s: half-written", round, got.Serial, p.Values.Archetype)
			}
		}
		if len(got.Personas) != 5 {
			t.Fatalf("round %d: %d personas, want 5", round, len(got.Personas))
		}
		write(t, l, got)
		l.Release()
		t.Logf("round %d: killed after serial %d; state at %d, readable and whole", round, last, got.Serial)
	}
}

func testCredentialsRoundTrip(t *testing.T, s Store) {
	b := s.Open(t)
	l := lock(t, b, "apply")
	in := &state.State{Personas: samplePersonas()}
	write(t, l, in)
	got := read(t, s.Open(t))
	anna, _ := got.Find("anna@personas.mana.test")
	zoe, _ := got.Find("zoe@personas.mana.test")
	if anna.Credentials != samplePersonas()[1].Credentials || zoe.Credentials != "" {
		t.Errorf("credentials read back: anna %q, zoe %q; want %q and none", anna.Credentials, zoe.Credentials, samplePersonas()[1].Credentials)
	}
	// A verify records a fingerprint where there was none.
	got.Personas[1].Credentials = "pbkdf2-sha256$600000$c2FsdA$b3RoZXI"
	write(t, l, got)
	if zoe, _ := read(t, b).Find("zoe@personas.mana.test"); zoe.Credentials != "pbkdf2-sha256$600000$c2FsdA$b3RoZXI" {
		t.Errorf("zoe's fingerprint after a second write: %q", zoe.Credentials)
	}
}

func testDuplicateByLetterCaseRefused(t *testing.T, s Store) {
	b := s.Open(t)
	l := lock(t, b, "apply")
	write(t, l, &state.State{Personas: samplePersonas()})
	shouting := samplePersonas()[1]
	shouting.Email = "Anna@Personas.Mana.Test"
	twice := &state.State{Serial: 1, Personas: append(samplePersonas(), shouting)}
	err := l.Write(context.Background(), twice)
	if err == nil || !strings.Contains(err.Error(), "anna@personas.mana.test") || !strings.Contains(err.Error(), "Anna@Personas.Mana.Test") {
		t.Errorf("write listing one address in two letter cases: %v; want a refusal naming both spellings", err)
	}
	if got := read(t, b); got.Serial != 1 || len(got.Personas) != 2 {
		t.Errorf("after the refused write: serial %d with %d personas; want the state unchanged", got.Serial, len(got.Personas))
	}
}

func testNegativeLockTimeoutRefused(t *testing.T, s Store) {
	b := s.Open(t)
	_, err := b.Lock(context.Background(), "apply", -5*time.Second)
	if !errors.Is(err, state.ErrNegativeTimeout) || !strings.Contains(err.Error(), "--lock-timeout") {
		t.Errorf("Lock with timeout -5s: %v; want ErrNegativeTimeout saying what to pass", err)
	}
	lock(t, s.Open(t), "apply") // and it left nothing locked
}

func testJournalAppendOnly(t *testing.T, s Store) {
	b := s.Open(t)
	ctx := context.Background()
	l := lock(t, b, "apply")
	e := sampleEntry("append-1")
	if err := l.OpenJournal(ctx, e); err != nil {
		t.Fatal(err)
	}
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
		sameEntries(t, fmt.Sprintf("after a batch of %d", n), openJournals(t, s.Open(t)), []state.JournalEntry{e})
	}
	if err := l.CloseJournal(ctx, e.ID, "exploded"); err == nil || !strings.Contains(err.Error(), "exploded") {
		t.Errorf("CloseJournal with an unknown outcome: %v; want a refusal", err)
	}
	if err := l.CloseJournal(ctx, e.ID, state.OutcomeComplete); err != nil {
		t.Fatal(err)
	}
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
	b := s.Open(t)
	ctx := context.Background()
	l := lock(t, b, "apply")
	e := sampleEntry("group-1")
	if err := l.OpenJournal(ctx, e); err != nil {
		t.Fatal(err)
	}
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
	if err := j.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if open := openJournals(t, s.Open(t)); len(open) != 1 || len(open[0].Steps) != workers*each {
		t.Fatalf("after Flush another handle sees %d open entries, the first with %d steps; want all %d", len(open), len(open[0].Steps), workers*each)
	}
	if err := j.Close(ctx, state.OutcomeFailed); err != nil {
		t.Fatal(err)
	}
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
		id, op, who, outcome string
		steps                int
	}{
		{"run-a", "apply", "ana", state.OutcomeComplete, 2},
		{"run-b", "destroy", "bo", state.OutcomeRolledBack, 1},
		{"run-c", "apply", "cy", "", 3}, // still open
	}
	for i, r := range runs {
		e := sampleEntry(r.id)
		e.Operation, e.Who, e.Started = r.op, r.who, at.Add(time.Duration(i)*time.Hour)
		if err := l.OpenJournal(ctx, e); err != nil {
			t.Fatal(err)
		}
		for k := range r.steps {
			if err := l.AppendSteps(ctx, r.id, []state.JournalStep{sampleStep(fmt.Sprintf("%s-%d@personas.mana.test", r.id, k), state.StepDone)}); err != nil {
				t.Fatal(err)
			}
		}
		if r.outcome != "" {
			if err := l.CloseJournal(ctx, r.id, r.outcome); err != nil {
				t.Fatal(err)
			}
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
	if err := l.OpenJournal(ctx, sampleEntry("still-open")); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		id := fmt.Sprintf("closed-%d", i)
		e := sampleEntry(id)
		e.Started = at.Add(time.Duration(i+1) * time.Minute)
		if err := l.OpenJournal(ctx, e); err != nil {
			t.Fatal(err)
		}
		if err := l.CloseJournal(ctx, id, state.OutcomeComplete); err != nil {
			t.Fatal(err)
		}
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
		var last int
		for range after {
			f := child.Expect(t, "appended", 20*time.Second)
			fmt.Sscan(f[0], &last)
		}
		child.Kill(t)
		for line := range child.Lines() {
			if f := strings.Fields(line); len(f) == 2 && f[0] == "appended" {
				fmt.Sscan(f[1], &last)
			}
		}
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
	if err := l.OpenJournal(ctx, e); err != nil {
		t.Fatal(err)
	}
	steps := []state.JournalStep{sampleStep("zoe@personas.mana.test", state.StepDone), sampleStep("anna@personas.mana.test", state.StepDone)}
	if err := l.AppendSteps(ctx, e.ID, steps); err != nil {
		t.Fatal(err)
	}
	if err := l.CloseJournal(ctx, e.ID, state.OutcomeComplete); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
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
