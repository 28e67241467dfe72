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
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/mana/personactl/catalog"
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

// Recorder keeps the journal of this apply and writes the recorded state.
type Recorder interface {
	// Open records the start of an apply: its plan and every affected
	// persona's before-image.
	Open(ctx context.Context, entry Entry) error
	// Step records one finished step.
	Step(ctx context.Context, step Step) error
	// Commit writes the new recorded state.
	Commit(ctx context.Context, recorded []state.RecordedPersona) error
	// Close closes the journal entry: the run ended and live and state agree
	// with what it reports. An entry left open is reported by the next run.
	Close(ctx context.Context) error
}

// Entry is what a journal entry holds when it is opened.
type Entry struct {
	Operation string
	Plan      *plan.Plan
	// Before are the live personas the plan acts on, as they were.
	Before []state.RecordedPersona
}

// Step is one finished step.
type Step struct {
	Email   string
	Action  string
	UserID  string
	Err     error
	Elapsed time.Duration
}

// Options shape a run.
type Options struct {
	// Operation names the run in the journal ("apply", "destroy").
	Operation string
	// Parallelism bounds the writes in flight; 0 means 10.
	Parallelism int
	// NoRollback keeps the partial progress of a failed run.
	NoRollback bool
	// Password derives a persona's password from its email.
	Password func(email string) string
	// Check validates a request body against the server's rules before the
	// first write; nil skips it.
	Check func(p catalog.Persona, password string) error
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
	// Recorded is the state written at the end (nil when nothing was written).
	Recorded []state.RecordedPersona
}

// Run applies p. current is the recorded state the plan was computed against.
// It returns every error (go-multierror) with the rollback's outcome.
func Run(ctx context.Context, p *plan.Plan, current []state.RecordedPersona, w Writer, rec Recorder, opts Options) (*Result, error) {
	r := &runner{p: p, w: w, rec: rec, opts: opts, res: &Result{}}
	if r.opts.Parallelism <= 0 {
		r.opts.Parallelism = 10
	}
	if r.opts.Now == nil {
		r.opts.Now = time.Now
	}
	if r.opts.Operation == "" {
		r.opts.Operation = "apply"
	}
	if len(p.Errors) > 0 {
		var err error
		for _, e := range p.Errors {
			err = multierror.Append(err, errors.New(e))
		}
		return nil, fmt.Errorf("the plan has errors, nothing was applied: %w", err)
	}
	if err := r.checkBodies(); err != nil {
		return nil, err
	}
	if !p.NeedsStateWrite() {
		r.emit(Event{Type: EventSummary, Message: "No changes."})
		return r.res, nil
	}
	if err := rec.Open(ctx, Entry{Operation: r.opts.Operation, Plan: p, Before: beforeImages(p)}); err != nil {
		return nil, fmt.Errorf("opening the apply journal, nothing was applied: %w", err)
	}
	r.start = r.opts.Now()
	r.emit(Event{Type: EventPlan, Total: p.Writes()})
	// Steps that started, the rollback, the state write and the journal's
	// closing must still happen once ctx is cancelled (Ctrl-C, SIGTERM), or
	// live and the state would disagree without a trace. Each request they
	// send is bounded by the Writer's own timeouts.
	finish := context.WithoutCancel(ctx)

	outcomes := r.runPhase(ctx, finish, p, func(c plan.Change) bool { return c.Action == plan.Create || c.Action == plan.Update }, true)
	errs := failures(outcomes)
	if errs != nil && !opts.NoRollback {
		unrolled, complete := r.rollback(finish, outcomes, &errs)
		r.res.RolledBack = true
		if len(unrolled) > 0 {
			recorded := applyOutcomes(current, p, unrolled, false)
			if err := rec.Commit(finish, recorded); err != nil {
				errs = multierror.Append(errs, fmt.Errorf("writing the state after a partial rollback: %w", err))
			} else {
				r.res.Recorded = recorded
			}
		}
		if complete {
			if err := rec.Close(finish); err != nil {
				errs = multierror.Append(errs, fmt.Errorf("closing the journal entry after the rollback: %w", err))
			}
		}
		return r.res, errs
	}
	if errs == nil {
		deletes := r.runPhase(ctx, finish, p, func(c plan.Change) bool { return c.Action == plan.Delete || c.Action == plan.Replace }, false)
		errs = failures(deletes)
		outcomes = append(outcomes, deletes...)
	}
	if jerr := journalFailures(outcomes); jerr != nil {
		errs = multierror.Append(errs, jerr)
	}
	recorded := applyOutcomes(current, p, outcomes, true)
	if err := rec.Commit(finish, recorded); err != nil {
		errs = multierror.Append(errs, fmt.Errorf("writing the recorded state: %w; the personas above were changed; run personactl apply again to record them", err))
		return r.res, errs
	}
	if err := rec.Close(finish); err != nil {
		errs = multierror.Append(errs, fmt.Errorf("closing the journal entry: %w", err))
	}
	r.res.Recorded = recorded
	for _, o := range outcomes {
		if !o.done() {
			continue
		}
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
	for _, c := range p.Changes {
		if c.Action == plan.Forget {
			r.res.Forgotten++
		}
	}
	return r.res, errs
}

type runner struct {
	p     *plan.Plan
	w     Writer
	rec   Recorder
	opts  Options
	res   *Result
	start time.Time

	mu   sync.Mutex
	done int
}

// outcome is what happened to one change.
type outcome struct {
	change  plan.Change
	userID  string
	err     error
	started bool
	// journalErr is a failure to record the step; the step itself stands.
	journalErr error
}

// done reports whether the change was made.
func (o outcome) done() bool { return o.started && o.err == nil }

// failures collects every failed or interrupted step.
func failures(outcomes []outcome) error {
	var errs error
	for _, o := range outcomes {
		if o.err != nil {
			errs = multierror.Append(errs, fmt.Errorf("%s %s: %w", o.change.Action, o.change.Email, o.err))
		}
	}
	return errs
}

// journalFailures collects the steps that happened but could not be recorded.
func journalFailures(outcomes []outcome) error {
	var errs error
	for _, o := range outcomes {
		if o.journalErr != nil {
			errs = multierror.Append(errs, fmt.Errorf("%s %s: %w", o.change.Action, o.change.Email, o.journalErr))
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
	var errs error
	for _, c := range r.p.Changes {
		if c.After == nil || !(c.Action == plan.Create || c.Action == plan.Update || c.Action == plan.Replace) {
			continue
		}
		if err := r.opts.Check(*c.After, r.opts.Password(c.Email)); err != nil {
			errs = multierror.Append(errs, fmt.Errorf("%s: %w", c.Email, err))
		}
	}
	if errs != nil {
		return fmt.Errorf("request bodies the server would refuse, nothing was applied: %w", errs)
	}
	return nil
}

func beforeImages(p *plan.Plan) []state.RecordedPersona {
	var out []state.RecordedPersona
	for _, c := range p.Changes {
		if c.Action.Writes() && c.Before != nil {
			out = append(out, state.RecordedPersona{Email: c.Email, UserID: c.UserID, Values: *c.Before})
		}
	}
	return out
}

// runPhase runs the selected changes, at most Parallelism at once. With
// stopOnFailure nothing new starts after the first failure (the steps in
// flight finish); a cancelled context starts nothing new either, and the
// steps it kept from starting are reported as interrupted.
//
// A step that started runs to its end on finish, a context that outlives
// ctx's cancellation: abandoning a request the server may still carry out
// would leave its outcome unknown, and the state wrong.
func (r *runner) runPhase(ctx, finish context.Context, p *plan.Plan, selected func(plan.Change) bool, stopOnFailure bool) []outcome {
	var out []outcome
	for _, c := range p.Changes {
		if selected(c) {
			out = append(out, outcome{change: c, userID: c.UserID})
		}
	}
	sem := make(chan struct{}, r.opts.Parallelism)
	var wg sync.WaitGroup
	var failed atomic.Bool
	for i := range out {
		acquired := false
		select {
		case sem <- struct{}{}:
			acquired = true
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			if acquired {
				<-sem
			}
			out[i].err = fmt.Errorf("not started: %w", context.Cause(ctx))
			continue
		}
		if stopOnFailure && failed.Load() {
			<-sem
			continue
		}
		wg.Add(1)
		go func(o *outcome) {
			defer wg.Done()
			defer func() { <-sem }()
			*o = r.step(finish, o.change)
			if o.err != nil {
				failed.Store(true)
			}
		}(&out[i])
	}
	wg.Wait()
	return out
}

func (r *runner) step(ctx context.Context, c plan.Change) outcome {
	o := outcome{change: c, userID: c.UserID, started: true}
	begin := r.opts.Now()
	r.emit(Event{Type: EventStart, Email: c.Email, Action: c.Action.String()})
	switch c.Action {
	case plan.Create, plan.Update:
		o.userID, o.err = r.w.Upsert(ctx, *c.After, r.opts.Password(c.Email))
	case plan.Delete:
		o.err = r.w.Delete(ctx, c.UserID)
	case plan.Replace:
		if o.err = r.w.Delete(ctx, c.UserID); o.err == nil {
			o.userID, o.err = r.w.Upsert(ctx, *c.After, r.opts.Password(c.Email))
		}
	}
	elapsed := r.opts.Now().Sub(begin)
	if err := r.rec.Step(ctx, Step{Email: c.Email, Action: c.Action.String(), UserID: o.userID, Err: o.err, Elapsed: elapsed}); err != nil {
		// What happened live stands either way; only the record of it failed.
		o.journalErr = fmt.Errorf("recording the step in the journal: %w", err)
	}
	r.mu.Lock()
	r.done++
	done := r.done
	r.mu.Unlock()
	r.emit(Event{Type: EventFinish, Email: c.Email, Action: c.Action.String(), UserID: o.userID, Err: o.err, Elapsed: elapsed, Done: done, Total: r.p.Writes(), Since: r.opts.Now().Sub(r.start)})
	return o
}

// rollback undoes this run's creates and updates: a created persona is
// deleted (found by email when its id was never seen, as after a lost
// answer), an updated one gets its before-image back. It returns the
// changes that were made and could not be undone, and whether every step
// that started was undone.
func (r *runner) rollback(ctx context.Context, outcomes []outcome, errs *error) (unrolled []outcome, complete bool) {
	complete = true
	r.emit(Event{Type: EventRollback, Message: "rolling back this apply's creates and updates"})
	for _, o := range outcomes {
		if !o.started {
			continue
		}
		c := o.change
		var err error
		switch c.Action {
		case plan.Create:
			id := o.userID
			if id == "" {
				var ok bool
				if id, ok, err = r.w.FindPersona(ctx, c.Email); err == nil && !ok {
					continue // never created: nothing to undo
				}
			}
			if err == nil {
				err = r.w.Delete(ctx, id)
			}
		case plan.Update:
			_, err = r.w.Upsert(ctx, *c.Before, r.opts.Password(c.Email))
		}
		r.emit(Event{Type: EventRollback, Email: c.Email, Action: c.Action.String(), Err: err})
		if err != nil {
			complete = false
			*errs = multierror.Append(*errs, fmt.Errorf("rollback of %s %s failed: %w", c.Action, c.Email, err))
			if o.err == nil {
				unrolled = append(unrolled, o)
			}
		}
	}
	if complete {
		*errs = multierror.Append(*errs, errors.New("rolled back: every persona this apply created or updated is as it was; nothing was deleted"))
	} else {
		*errs = multierror.Append(*errs, errors.New("rollback incomplete: the personas named above may not be as they were; nothing was deleted; run personactl plan to see where live stands"))
	}
	return unrolled, complete
}

// applyOutcomes computes the recorded state after a run: the current state
// with every successful step applied. When all is true the plan's forgets and
// state-only records are applied too.
func applyOutcomes(current []state.RecordedPersona, p *plan.Plan, outcomes []outcome, all bool) []state.RecordedPersona {
	byEmail := make(map[string]state.RecordedPersona, len(current))
	for _, r := range current {
		byEmail[r.Email] = r
	}
	for _, o := range outcomes {
		if !o.done() {
			continue
		}
		c := o.change
		switch c.Action {
		case plan.Create, plan.Update, plan.Replace:
			values, _ := c.Recorded()
			id := o.userID
			if id == "" {
				id = c.UserID
			}
			byEmail[c.Email] = state.RecordedPersona{Email: c.Email, UserID: id, Values: values}
		case plan.Delete:
			delete(byEmail, c.Email)
		}
	}
	if all {
		for _, c := range p.Changes {
			switch {
			case c.Action == plan.Forget:
				delete(byEmail, c.Email)
			case c.Action == plan.NoOp && c.Record && c.Before != nil:
				byEmail[c.Email] = state.RecordedPersona{Email: c.Email, UserID: c.UserID, Values: *c.Before}
			}
		}
	}
	out := make([]state.RecordedPersona, 0, len(byEmail))
	for _, r := range byEmail {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Email < out[j].Email })
	return out
}
