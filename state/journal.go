package state

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// JournalOptions tune a Journal; the zero value is the default.
type JournalOptions struct {
	// Interval is the least time from the start of one write to the start
	// of the next (0: the next starts as soon as the previous returned and
	// a step is pending). Steps finish faster than a disk syncs them; a
	// short interval turns thousands of small writes into a few hundred
	// larger ones. A failed write is then found up to Interval later.
	Interval time.Duration
}

// Journal records the steps of one open journal entry with group commit:
// Record hands a step over without waiting for the disk, and one goroutine
// writes what accumulated while its previous write ran (and, with an
// Interval, the pause after it), with one AppendSteps call per batch. A
// slow disk makes batches grow; a fast one writes each step soon after it
// finished. A step is reported durable (by Flush, Close) only once the
// AppendSteps that carried it returned.
//
// The first failed write, or the loss of the lock, closes Failed: the run
// must then start nothing new, since what it does next could not be
// recorded. Its methods may be called from several goroutines.
type Journal struct {
	lock Lock
	id   string
	opts JournalOptions

	mu       sync.Mutex
	pending  []JournalStep
	recorded int           // steps handed to Record
	durable  int           // steps AppendSteps returned for
	err      error         // the first failure; nil while all is well
	changed  chan struct{} // closed, and replaced, when durable or err moves

	wake   chan struct{}                        // a step is pending
	hurry  chan struct{}                        // someone waits in Flush: end the pause
	after  func(time.Duration) <-chan time.Time // the pause's timer; nil: a real one
	stop   chan struct{}                        // closed by Close: flush what is pending, then end
	done   chan struct{}                        // closed when the flusher has ended
	failed chan struct{}
	once   sync.Once // closes stop
}

// NewJournal starts recording steps of the open entry id through lock. The
// entry must already be open (Lock.OpenJournal). Close it with Close.
func NewJournal(lock Lock, id string, opts JournalOptions) *Journal {
	j := newJournal(lock, id, opts)
	go j.flusher()
	return j
}

// newJournal is NewJournal without starting the writer.
func newJournal(lock Lock, id string, opts JournalOptions) *Journal {
	return &Journal{
		lock: lock, id: id, opts: opts,
		changed: make(chan struct{}),
		wake:    make(chan struct{}, 1),
		hurry:   make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		failed:  make(chan struct{}),
	}
}

// Record hands over one finished step to be written; it does not wait. A
// step recorded after the journal failed is never written.
func (j *Journal) Record(step JournalStep) {
	j.mu.Lock()
	if j.err == nil {
		j.pending = append(j.pending, step)
		j.recorded++
	}
	j.mu.Unlock()
	select {
	case j.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// Failed is closed when a write failed or the lock was lost; Err says why.
func (j *Journal) Failed() <-chan struct{} { return j.failed }

// Err returns the failure that closed Failed, or nil.
func (j *Journal) Err() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err
}

// Flush waits until every step recorded so far is durable, and returns nil
// then; or returns the journal's failure, or ctx's error.
func (j *Journal) Flush(ctx context.Context) error {
	j.mu.Lock()
	target := j.recorded
	j.mu.Unlock()
	select {
	case j.hurry <- struct{}{}:
	default:
	}
	for {
		j.mu.Lock()
		durable, err, changed := j.durable, j.err, j.changed
		j.mu.Unlock()
		switch {
		case err != nil:
			return err
		case durable >= target:
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("wait for journal entry %s to be written: %w", j.id, ctx.Err())
		}
	}
}

// Close flushes every recorded step, stops the writer, and closes the
// entry with outcome. When a step could not be written the entry is left
// open (the next run finds it) and the failure is returned.
func (j *Journal) Close(ctx context.Context, outcome RunOutcome) error {
	if err := j.Flush(ctx); err != nil {
		j.once.Do(func() { close(j.stop) })
		return err
	}
	j.once.Do(func() { close(j.stop) })
	<-j.done
	if err := j.Err(); err != nil {
		return err
	}
	return j.lock.CloseJournal(ctx, j.id, outcome)
}

// Stop writes what is pending and stops the writer, leaving the entry
// open: a run that ends without closing its entry (it halted, or its
// rollback was incomplete) still leaves every step it recorded in the
// journal for the next run to read. It returns the journal's failure, or
// ctx's error when the writer did not finish in time.
func (j *Journal) Stop(ctx context.Context) error {
	err := j.Flush(ctx)
	j.once.Do(func() { close(j.stop) })
	select {
	case <-j.done:
	case <-ctx.Done():
		if err == nil {
			err = ctx.Err()
		}
	}
	return err
}

// flusher writes batches until Close or the first failure. A panic in it
// (in a backend, say) becomes the journal's failure rather than the end of
// the process.
func (j *Journal) flusher() {
	defer close(j.done)
	defer func() {
		if p := recover(); p != nil {
			j.fail(fmt.Errorf("recording steps of journal entry %s failed: %v; nothing more will be written by this run; run `personactl apply` again, which converges", j.id, p))
		}
	}()
	lost := j.lock.Lost()
	for {
		select {
		case <-j.wake:
		case <-lost:
			// Write what is pending: the backend then reports the loss in
			// its own words. With nothing pending, say it here.
			if !j.flushPending(true) {
				return
			}
			j.fail(fmt.Errorf("journal entry %s: %w; nothing more will be written by this run; run `personactl apply` again, which converges", j.id, ErrLockLost))
			return
		case <-j.stop:
			j.flushPending(true)
			return
		}
		began := time.Now()
		if !j.flushPending(false) {
			return
		}
		j.pause(began, lost)
	}
}

// pause waits until Interval has passed since began, or until someone
// waits in Flush, the journal is stopped or the lock lost (the loop then
// acts on those at once).
func (j *Journal) pause(began time.Time, lost <-chan struct{}) {
	wait := j.opts.Interval - time.Since(began)
	if wait <= 0 {
		return
	}
	var fire <-chan time.Time
	if j.after != nil {
		fire = j.after(wait)
	} else {
		t := time.NewTimer(wait)
		defer t.Stop()
		fire = t.C
	}
	select {
	case <-fire:
	case <-j.hurry:
	case <-j.stop:
	case <-lost:
	}
}

// flushPending writes the steps pending when it is called, in one batch;
// with untilEmpty it goes on with the steps recorded
// meanwhile until none is left. It returns false once the journal has
// failed.
func (j *Journal) flushPending(untilEmpty bool) bool {
	left := -1 // of the steps pending at the start, those not yet written
	for {
		j.mu.Lock()
		if j.err != nil {
			j.mu.Unlock()
			return false
		}
		if left < 0 {
			left = len(j.pending)
		}
		n := len(j.pending)
		if !untilEmpty {
			n = min(n, left)
		}
		batch := j.pending[:n:n]
		if j.pending = j.pending[n:]; len(j.pending) == 0 {
			j.pending = nil
		}
		left -= n
		j.mu.Unlock()
		if n == 0 {
			return true
		}
		if err := j.lock.AppendSteps(context.Background(), j.id, batch); err != nil {
			j.fail(err)
			return false
		}
		j.mu.Lock()
		j.durable += len(batch)
		j.signal()
		j.mu.Unlock()
	}
}

// fail records the first failure and closes Failed.
func (j *Journal) fail(err error) {
	if err == nil {
		err = errors.New("journal write failed")
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return
	}
	j.err = err
	j.pending = nil
	close(j.failed)
	j.signal()
}

// signal wakes everyone waiting in Flush; j.mu is held.
func (j *Journal) signal() {
	close(j.changed)
	j.changed = make(chan struct{})
}
