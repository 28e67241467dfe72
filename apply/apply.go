// Package apply executes a plan against mana-auth: creates and updates first,
// at most Parallelism at once; on a failure, a rollback of what this run did;
// deletes last, because they destroy history; a journal entry throughout so
// an interrupted run can be reported and converged.
//
// It depends only on the small interfaces declared here, never on HTTP or SQL,
// so its rollback logic can be tested against a faulty fake and then again
// against mana-auth-dev and the real backends.
package apply

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/internal/failure"
	"github.com/mana/personactl/plan"
	"github.com/mana/personactl/state"
)

// Writer is the admin API as apply uses it. Upserts are idempotent (keyed by
// email), so the implementation may retry them after a lost answer.
type Writer interface {
	// Upsert creates or updates the persona and returns its user id.
	Upsert(ctx context.Context, p catalog.Persona, password string) (userID string, err error)
	// Delete hard-deletes the persona with userID. A persona that is already
	// gone is not an error.
	Delete(ctx context.Context, userID string) error
	// FindPersona returns the user id of the live persona with email, if any.
	FindPersona(ctx context.Context, email string) (userID string, ok bool, err error)
}

// Recorder keeps the journal of this apply and writes the recorded state,
// under the state lock.
type Recorder interface {
	// Open records the start of an apply: its plan and every affected
	// persona's before-image. Nothing is written to mana-auth before it
	// returns.
	Open(ctx context.Context, entry state.JournalEntry) error
	// Record records one finished step. It may return before the step is
	// durable; a step that cannot be made durable closes Halted.
	Record(step state.JournalStep)
	// Halted is closed once the run must stop at once: the state lock was
	// lost, or a step could not be recorded. Err then says why.
	Halted() <-chan struct{}
	Err() error
	// Commit writes the new recorded state.
	Commit(ctx context.Context, recorded []state.RecordedPersona) error
	// Close closes the journal entry with the run's outcome (one of
	// state's Outcome constants): live and state agree with what it reports.
	// An entry left open is reported by the next run.
	Close(ctx context.Context, outcome state.RunOutcome) error
}

// Options shape a run.
type Options struct {
	// Operation names the run in the journal ("apply", "destroy").
	Operation string
	// Who and Host name the user and machine running it, for the journal.
	Who, Host string
	// Parallelism bounds the writes in flight; 0 means 10.
	Parallelism int
	// NoRollback keeps the partial progress of a failed run.
	NoRollback bool
	// Password derives a persona's password from its email.
	Password func(email string) string
	// SecretFingerprint is the fingerprint of the seed secret Password
	// derives from, recorded for the personas this run creates or replaces.
	SecretFingerprint string
	// Check validates a request body against the server's rules before the
	// first write; nil skips it.
	Check func(p catalog.Persona, password string) error
	// Fatal tells a step's error after which nothing more may be sent, not
	// even a rollback, because it would fail the same way (the admin token
	// expired). nil: none is.
	Fatal func(error) bool
	// Events receives progress; nil discards it. Called from one goroutine at a time.
	Events func(Event)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Result says what a run did.
type Result struct {
	Created, Updated, Deleted, Replaced, Forgotten int
	// RolledBack is set when a failure undid this run's creates and updates.
	RolledBack bool
	// Halted is set when the run stopped at once, with no rollback and no
	// deletes: the lock was lost, a step could not be journaled, or the
	// admin token was refused.
	Halted bool
	// Recorded is the state written at the end (nil when nothing was written).
	Recorded []state.RecordedPersona
	// Done are the emails of the changes that were made, by action.
	Done map[plan.Action][]string
}

// ErrInterrupted is what a run that was asked to stop (its context
// cancelled: a signal, a broken standard output) matches with errors.Is.
var ErrInterrupted = errors.New("interrupted")

// Error is a run that did not complete: its failures, each on its own line,
// then on a line of its own its Ending.
type Error struct {
	Failures []error
	// Ending says what became of the run (rolled back, rollback incomplete,
	// halted, interrupted) and what to do next; it is not itself a failure.
	Ending string
	// Interrupted: the run was asked to stop, and kept what it had done.
	Interrupted bool
}

func (e *Error) Error() string {
	var b strings.Builder
	switch len(e.Failures) {
	case 0:
	case 1:
		b.WriteString(e.Failures[0].Error())
	default:
		fmt.Fprintf(&b, "%d steps failed:%s", len(e.Failures), failure.List(e.Failures))
	}
	if e.Ending != "" {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString(e.Ending)
	}
	return b.String()
}

// Unwrap lets errors.Is and errors.As see every failure, and ErrInterrupted
// when the run was interrupted.
func (e *Error) Unwrap() []error {
	if e.Interrupted {
		return append([]error{ErrInterrupted}, e.Failures...)
	}
	return e.Failures
}

// Input is what a run applies.
type Input struct {
	Plan *plan.Plan
	// Recorded is the recorded state the plan was computed against.
	Recorded []state.RecordedPersona
	// Live are the live personas the plan was computed against; the journal
	// keeps the before-image of each one the run writes to.
	Live []state.LivePersona
}

// Run applies in.Plan. A run that does not complete returns *Error.
func Run(ctx context.Context, in Input, w Writer, rec Recorder, opts Options) (*Result, error) {
	p, current := in.Plan, in.Recorded
	r := &runner{p: p, w: w, rec: rec, opts: opts, res: &Result{Done: map[plan.Action][]string{}}, live: make(map[string]state.LivePersona, len(in.Live))}
	for _, l := range in.Live {
		r.live[l.Values.Email] = l
	}
	if r.opts.Parallelism <= 0 {
		r.opts.Parallelism = 10
	}
	if r.opts.Now == nil {
		r.opts.Now = time.Now
	}
	if r.opts.Operation == "" {
		r.opts.Operation = "apply"
	}
	if r.opts.Fatal == nil {
		r.opts.Fatal = func(error) bool { return false }
	}
	if len(p.Errors) > 0 {
		errs := make([]error, len(p.Errors))
		for i, e := range p.Errors {
			errs[i] = errors.New(e.Message())
		}
		return nil, fmt.Errorf("the plan has errors, nothing was applied: %w", failure.Join(errs...))
	}
	if err := r.checkBodies(); err != nil {
		return nil, err
	}
	if !p.NeedsStateWrite() {
		r.emit(Event{Type: EventSummary, Message: "No changes."})
		return r.res, nil
	}
	if ctx.Err() != nil {
		return r.res, r.interrupted(nil)
	}
	if err := rec.Open(ctx, r.entry()); err != nil {
		return nil, fmt.Errorf("opening the apply journal, nothing was applied: %w", err)
	}
	r.start = r.opts.Now()
	r.total = p.Writes()
	r.emit(Event{Type: EventBegin, Total: r.total})
	// Steps that started, the rollback, the state write and the journal's
	// closing must still happen once ctx is cancelled (a signal, a broken
	// standard output), or live and the state would disagree without a
	// trace. Each request they send is bounded by the Writer's own timeouts.
	finish := context.WithoutCancel(ctx)

	results := r.runPhase(ctx, finish, func(c plan.Change) bool { return c.Action == plan.Create || c.Action == plan.Update }, true)
	failed := failures(results)
	if halt := r.haltReason(); halt != "" {
		return r.halt(finish, current, results, failed, halt, "nothing was deleted")
	}
	// An interrupt keeps what was done: the operator asked to stop, not to
	// undo. A failure alone rolls back.
	if failed != nil && !opts.NoRollback && !r.stopped {
		return r.rollBack(finish, current, results, failed)
	}
	if failed == nil && !r.stopped {
		deletes := r.runPhase(ctx, finish, func(c plan.Change) bool { return c.Action == plan.Delete || c.Action == plan.Replace }, false)
		failed = failures(deletes)
		results = append(results, deletes...)
		if halt := r.haltReason(); halt != "" {
			return r.halt(finish, current, results, failed, halt, "the deletes that had not started were not sent")
		}
	}
	if r.stopped {
		return r.interrupt(finish, current, results, failed)
	}
	recorded := nextRecorded(current, p, results, true, r.opts.SecretFingerprint)
	if err := rec.Commit(finish, recorded); err != nil {
		failed = append(failed, fmt.Errorf("writing the recorded state: %w; the personas above were changed; run personactl apply again to record them", err))
		return r.res, &Error{Failures: failed}
	}
	r.res.Recorded = recorded
	r.count(results)
	outcome := state.OutcomeComplete
	if failed != nil {
		outcome = state.OutcomeFailed
	}
	if err := rec.Close(finish, outcome); err != nil {
		failed = append(failed, fmt.Errorf("closing the journal entry: %w", err))
	}
	if failed != nil {
		return r.res, &Error{Failures: failed}
	}
	return r.res, nil
}

// entry is the journal entry this run opens.
func (r *runner) entry() state.JournalEntry {
	e := state.NewJournalEntry(r.opts.Operation, r.opts.Who, r.opts.Host, r.opts.Now(), r.planJSON())
	for _, c := range r.p.Changes {
		if l, ok := r.live[c.Email]; ok && c.Action.Writes() {
			e.Before = append(e.Before, l)
		}
	}
	return e
}

// planJSON is the plan as its JSON rendering, for the journal.
func (r *runner) planJSON() []byte {
	var b bytes.Buffer
	if err := plan.RenderJSONCompact(&b, r.p); err != nil {
		return nil
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// haltReason says why the run must stop at once, or "" when it need not.
func (r *runner) haltReason() string {
	select {
	case <-r.rec.Halted():
		return fmt.Sprint(r.rec.Err())
	default:
	}
	if r.fatal.Load() {
		return "mana-auth refused the admin token"
	}
	return ""
}

// count fills the result's counts from the steps that were made.
func (r *runner) count(results []stepResult) {
	for _, o := range results {
		if !o.done() {
			continue
		}
		r.res.Done[o.change.Action] = append(r.res.Done[o.change.Action], o.change.Email)
		switch o.change.Action {
		case plan.Create:
			r.res.Created++
		case plan.Update:
			r.res.Updated++
		case plan.Delete:
			r.res.Deleted++
		case plan.Replace:
			r.res.Replaced++
		}
	}
	for _, c := range r.p.Changes {
		if c.Action == plan.Forget {
			r.res.Forgotten++
		}
	}
}

type runner struct {
	p     *plan.Plan
	live  map[string]state.LivePersona
	w     Writer
	rec   Recorder
	opts  Options
	res   *Result
	start time.Time
	fatal atomic.Bool
	// stopped: ctx was cancelled while steps were still to start.
	stopped bool

	total int // p.Writes(), counted once: every step reports it

	mu   sync.Mutex
	done int
}

// stepResult is what happened to one change.
type stepResult struct {
	change  plan.Change
	userID  string
	err     error
	started bool
	// deleted: the delete half of a replace was done, whatever became of
	// its create.
	deleted bool
}

// done reports whether the change was made.
func (o stepResult) done() bool { return o.started && o.err == nil }

// failures lists every failed or interrupted step.
func failures(results []stepResult) []error {
	var errs []error
	for _, o := range results {
		if o.err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", o.change.Action, o.change.Email, o.err))
		}
	}
	return errs
}

func (r *runner) emit(e Event) {
	if r.opts.Events == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.opts.Events(e)
}

func (r *runner) checkBodies() error {
	if r.opts.Check == nil {
		return nil
	}
	var errs []error
	for _, c := range r.p.Changes {
		if c.After == nil || !(c.Action == plan.Create || c.Action == plan.Update || c.Action == plan.Replace) {
			continue
		}
		if err := r.opts.Check(*c.After, r.opts.Password(c.Email)); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.Email, err))
		}
	}
	if err := failure.Join(errs...); err != nil {
		return fmt.Errorf("request bodies the server would refuse, nothing was applied; fix these catalog entries: %w", err)
	}
	return nil
}

// runPhase runs the selected changes, at most Parallelism at once. Nothing
// new starts once the run must halt (the lock lost, a step not journaled,
// the token refused) or ctx is cancelled, and with stopOnFailure after the
// first failure; the steps in flight finish. Steps that a cancelled ctx kept
// from starting are not failures: the run is then marked stopped.
//
// A step that started runs to its end on finish, a context that outlives
// ctx's cancellation: abandoning a request the server may still carry out
// would leave its result unknown, and the state wrong.
func (r *runner) runPhase(ctx, finish context.Context, selected func(plan.Change) bool, stopOnFailure bool) []stepResult {
	var out []stepResult
	for _, c := range r.p.Changes {
		if selected(c) {
			out = append(out, stepResult{change: c, userID: c.UserID})
		}
	}
	sem := make(chan struct{}, r.opts.Parallelism)
	var wg sync.WaitGroup
	var failed atomic.Bool
	for i := range out {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		case <-r.rec.Halted():
		}
		if r.haltReason() != "" {
			break
		}
		if ctx.Err() != nil {
			r.stopped = true
			break
		}
		if stopOnFailure && failed.Load() {
			<-sem
			break
		}
		wg.Add(1)
		go func(o *stepResult) {
			defer wg.Done()
			defer func() { <-sem }()
			defer func() {
				// A bug in a step must not end the process with Go's exit
				// 2, which CI reads as drift: the step's result is
				// unknown, so the run halts like after a refused token.
				if v := recover(); v != nil {
					// The step may have been sent: its result is
					// unknown, so it counts as started.
					o.err, o.started = failure.Recovered(v), true
					r.fatal.Store(true)
				}
			}()
			*o = r.step(finish, o.change)
			if o.err != nil {
				failed.Store(true)
				if r.opts.Fatal(o.err) {
					r.fatal.Store(true)
				}
			}
		}(&out[i])
	}
	wg.Wait()
	return out
}

func (r *runner) step(ctx context.Context, c plan.Change) stepResult {
	o := stepResult{change: c, userID: c.UserID, started: true}
	begin := r.opts.Now()
	r.emit(Event{Type: EventStart, Email: c.Email, Action: c.Action})
	switch c.Action {
	case plan.Create, plan.Update:
		o.userID, o.err = r.w.Upsert(ctx, *c.After, r.opts.Password(c.Email))
	case plan.Delete:
		o.err = r.w.Delete(ctx, c.UserID)
	case plan.Replace:
		if o.err = r.w.Delete(ctx, c.UserID); o.err == nil {
			o.deleted = true
			if o.userID, o.err = r.w.Upsert(ctx, *c.After, r.opts.Password(c.Email)); o.err != nil {
				// Half done: the persona is gone. The journal says so,
				// so that the next run attributes it to this one.
				r.rec.Record(state.JournalStep{Email: c.Email, Action: plan.Delete.String(), UserID: c.UserID, Result: state.StepDone, Finished: r.opts.Now().UTC()})
				o.err = fmt.Errorf("deleted, then creating it again failed, so the persona is gone until personactl apply creates it: %w", o.err)
			}
		}
	}
	finished := r.opts.Now()
	elapsed := finished.Sub(begin)
	step := state.JournalStep{Email: c.Email, Action: c.Action.String(), UserID: o.userID, Result: state.StepDone, Finished: finished.UTC()}
	if o.err != nil {
		step.Result, step.Error = state.StepFailed, o.err.Error()
	}
	r.rec.Record(step)
	r.mu.Lock()
	r.done++
	done := r.done
	r.mu.Unlock()
	r.emit(Event{Type: EventFinish, Email: c.Email, Action: c.Action, UserID: o.userID, Err: o.err, Elapsed: elapsed, Done: done, Total: r.total, Since: finished.Sub(r.start)})
	return o
}
