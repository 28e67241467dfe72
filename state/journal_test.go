package state

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeLock is a Lock whose AppendSteps can be held up and made to fail, so
// that a test decides when a write finishes and how.
type fakeLock struct {
	// calls receives each batch as AppendSteps starts; the call then waits
	// for a reply on release (nil: written; an error: failed). With calls
	// nil, AppendSteps writes at once.
	calls   chan []JournalStep
	release chan error
	panicOn int // AppendSteps panics on this call (1-based; 0: never)
	lost    chan struct{}

	mu      sync.Mutex
	n       int
	written []JournalStep
	closed  RunOutcome // outcome CloseJournal was called with
}

func newFakeLock() *fakeLock { return &fakeLock{lost: make(chan struct{})} }

func (f *fakeLock) held() *fakeLock {
	f.calls, f.release = make(chan []JournalStep), make(chan error)
	return f
}

func (f *fakeLock) AppendSteps(ctx context.Context, id string, steps []JournalStep) error {
	f.mu.Lock()
	f.n++
	n := f.n
	f.mu.Unlock()
	if n == f.panicOn {
		panic("disk driver exploded")
	}
	if f.calls != nil {
		f.calls <- append([]JournalStep(nil), steps...)
		if err := <-f.release; err != nil {
			return err
		}
	}
	f.mu.Lock()
	f.written = append(f.written, steps...)
	f.mu.Unlock()
	return nil
}

func (f *fakeLock) CloseJournal(ctx context.Context, id string, outcome RunOutcome) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = outcome
	return nil
}

func (f *fakeLock) writtenSteps() []JournalStep {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]JournalStep(nil), f.written...)
}

func (f *fakeLock) Info() LockInfo                                  { return LockInfo{} }
func (f *fakeLock) Lost() <-chan struct{}                           { return f.lost }
func (f *fakeLock) Write(context.Context, *State) error             { return nil }
func (f *fakeLock) OpenJournal(context.Context, JournalEntry) error { return nil }
func (f *fakeLock) Release() error                                  { return nil }

func step(i int) JournalStep {
	return JournalStep{Email: fmt.Sprintf("p%05d@personas.mana.test", i), Action: "create", Result: StepDone}
}

func emails(steps []JournalStep) string {
	var out []string
	for _, s := range steps {
		out = append(out, strings.TrimSuffix(s.Email, "@personas.mana.test"))
	}
	return strings.Join(out, ",")
}

// TestJournalBatchesWhatAccumulates: while one write runs, the steps that
// finish meanwhile wait and go together in the next write.
func TestJournalBatchesWhatAccumulates(t *testing.T) {
	f := newFakeLock().held()
	j := NewJournal(f, "e1", JournalOptions{})
	j.Record(step(0))
	if got := <-f.calls; emails(got) != "p00000" {
		t.Fatalf("first write carries %s", emails(got))
	}
	for i := 1; i <= 5; i++ {
		j.Record(step(i)) // the first write is still under way
	}
	f.release <- nil
	if got := <-f.calls; emails(got) != "p00001,p00002,p00003,p00004,p00005" {
		t.Errorf("second write carries %s; want the five steps that finished during the first", emails(got))
	}
	f.release <- nil
	closed := make(chan error)
	go func() { closed <- j.Close(context.Background(), OutcomeComplete) }()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if got := emails(f.writtenSteps()); got != "p00000,p00001,p00002,p00003,p00004,p00005" {
		t.Errorf("written: %s", got)
	}
	if f.closed != OutcomeComplete {
		t.Errorf("entry closed with %q", f.closed)
	}
}

// TestJournalFlushWaitsForTheDisk: Flush returns only once every step
// recorded before it is written; Failed stays open while writes succeed.
func TestJournalFlushWaitsForTheDisk(t *testing.T) {
	f := newFakeLock().held()
	j := NewJournal(f, "e1", JournalOptions{})
	j.Record(step(0))
	j.Record(step(1))
	flushed := make(chan error, 1)
	go func() { flushed <- j.Flush(context.Background()) }()
	for done := false; !done; {
		select {
		case b := <-f.calls:
			select {
			case err := <-flushed:
				t.Fatalf("Flush returned %v while a write of %s was still under way", err, emails(b))
			default:
			}
			f.release <- nil
		case err := <-flushed:
			if err != nil {
				t.Fatal(err)
			}
			if got := emails(f.writtenSteps()); got != "p00000,p00001" {
				t.Fatalf("Flush returned when only %q was written", got)
			}
			done = true
		}
	}
	select {
	case <-j.Failed():
		t.Error("Failed closed though every write succeeded")
	default:
	}
	// Flush with nothing pending returns at once.
	if err := j.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A Flush cancelled while a write hangs returns the context's error.
	j.Record(step(2))
	<-f.calls
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := j.Flush(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Flush: %v", err)
	}
	f.release <- nil
	if err := j.Close(context.Background(), OutcomeComplete); err != nil {
		t.Fatal(err)
	}
}

// TestJournalFailureStopsEverything: a failed write closes Failed at once,
// Flush and Close return the failure, the entry stays open, and the steps
// of the failed batch and later ones are never counted as written.
func TestJournalFailureStopsEverything(t *testing.T) {
	f := newFakeLock().held()
	j := NewJournal(f, "e1", JournalOptions{})
	j.Record(step(0))
	<-f.calls
	f.release <- nil
	j.Record(step(1))
	<-f.calls
	j.Record(step(2))
	diskFull := errors.New("append to journal: no space left on device")
	f.release <- diskFull
	<-j.Failed()
	if err := j.Err(); !errors.Is(err, diskFull) {
		t.Errorf("Err = %v", err)
	}
	j.Record(step(3))
	if err := j.Flush(context.Background()); !errors.Is(err, diskFull) {
		t.Errorf("Flush after the failure: %v", err)
	}
	if err := j.Close(context.Background(), OutcomeComplete); !errors.Is(err, diskFull) {
		t.Errorf("Close after the failure: %v", err)
	}
	if f.closed != "" {
		t.Errorf("the entry was closed (%q) though a step could not be recorded", f.closed)
	}
	if got := emails(f.writtenSteps()); got != "p00000" {
		t.Errorf("written: %s; want only the step before the failure", got)
	}
}

// TestJournalPanicBecomesFailure: a panic while writing does not end the
// process; it fails the journal like an error.
func TestJournalPanicBecomesFailure(t *testing.T) {
	f := newFakeLock()
	f.panicOn = 1
	j := NewJournal(f, "e1", JournalOptions{})
	j.Record(step(0))
	<-j.Failed()
	if err := j.Flush(context.Background()); err == nil || !strings.Contains(err.Error(), "disk driver exploded") || !strings.Contains(err.Error(), "personactl apply") {
		t.Errorf("Flush after a panic: %v", err)
	}
}

// TestJournalLostLock: losing the lock fails the journal even with nothing
// to write, so that a run waiting on Failed stops.
func TestJournalLostLock(t *testing.T) {
	f := newFakeLock()
	j := NewJournal(f, "e1", JournalOptions{})
	j.Record(step(0))
	if err := j.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	close(f.lost)
	<-j.Failed()
	if err := j.Err(); !errors.Is(err, ErrLockLost) {
		t.Errorf("Err after the lock was lost: %v", err)
	}
}

// TestJournalNoStepLostOrDuplicated: steps recorded from many goroutines
// are each written exactly once, each goroutine's in its order.
func TestJournalNoStepLostOrDuplicated(t *testing.T) {
	f := newFakeLock()
	var mu sync.Mutex
	var sizes []int
	counting := &countingLock{fakeLock: f, onBatch: func(n int) { mu.Lock(); sizes = append(sizes, n); mu.Unlock() }}
	j := NewJournal(counting, "e1", JournalOptions{})
	const workers, each = 16, 300
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				j.Record(step(w*each + i))
			}
		})
	}
	wg.Wait()
	if err := j.Close(context.Background(), OutcomeComplete); err != nil {
		t.Fatal(err)
	}
	got := f.writtenSteps()
	if len(got) != workers*each {
		t.Fatalf("%d steps written, want %d", len(got), workers*each)
	}
	last := map[int]int{}
	seen := map[string]bool{}
	for _, s := range got {
		if seen[s.Email] {
			t.Fatalf("%s written twice", s.Email)
		}
		seen[s.Email] = true
		var n int
		fmt.Sscanf(s.Email, "p%05d@", &n)
		w := n / each
		if prev, ok := last[w]; ok && n < prev {
			t.Fatalf("worker %d's steps out of order: %d after %d", w, n, prev)
		}
		last[w] = n
	}
	t.Logf("%d steps in %d writes", len(got), len(sizes))
}

// countingLock reports the size of each batch.
type countingLock struct {
	*fakeLock
	onBatch func(int)
}

func (c *countingLock) AppendSteps(ctx context.Context, id string, steps []JournalStep) error {
	c.onBatch(len(steps))
	return c.fakeLock.AppendSteps(ctx, id, steps)
}

// TestJournalStopWritesWhatIsPendingAndLeavesTheEntryOpen: a run that ends
// without closing its entry still leaves every step it recorded written.
func TestJournalStopWritesWhatIsPendingAndLeavesTheEntryOpen(t *testing.T) {
	f := newFakeLock()
	j := NewJournal(f, "e1", JournalOptions{})
	for i := range 5 {
		j.Record(JournalStep{Email: "p" + string(rune('0'+i)) + "@mana.test", Result: StepDone})
	}
	if err := j.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := len(f.writtenSteps()); got != 5 {
		t.Errorf("%d of 5 steps written after Stop", got)
	}
	if f.closed != "" {
		t.Errorf("Stop closed the entry as %q", f.closed)
	}
}

// TestJournalIntervalGathersSteps: with an interval, the steps that finish
// while the writer pauses go together in one write when the pause ends,
// and a Flush ends the pause at once.
func TestJournalIntervalGathersSteps(t *testing.T) {
	f := newFakeLock().held()
	pauses := make(chan chan time.Time)
	j := newJournal(f, "e1", JournalOptions{Interval: time.Hour})
	j.after = func(d time.Duration) <-chan time.Time {
		fire := make(chan time.Time, 1)
		pauses <- fire
		return fire
	}
	go j.flusher()
	j.Record(step(0))
	if got := <-f.calls; emails(got) != "p00000" {
		t.Fatalf("first write carries %s", emails(got))
	}
	f.release <- nil
	fire := <-pauses // the writer pauses after its write
	for i := 1; i <= 5; i++ {
		j.Record(step(i))
	}
	fire <- time.Now()
	if got := <-f.calls; emails(got) != "p00001,p00002,p00003,p00004,p00005" {
		t.Errorf("the write after the pause carries %s; want the five steps recorded during it", emails(got))
	}
	f.release <- nil
	<-pauses // never fired: the Flush below must end the pause itself
	j.Record(step(6))
	flushed := make(chan error)
	go func() { flushed <- j.Flush(context.Background()) }()
	if got := <-f.calls; emails(got) != "p00006" {
		t.Errorf("the write a Flush hurried carries %s", emails(got))
	}
	f.release <- nil
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	go func() {
		for range pauses { // later pauses end by Close
		}
	}()
	if err := j.Close(context.Background(), OutcomeComplete); err != nil {
		t.Fatal(err)
	}
}
