package apply

import (
	"context"
	"fmt"
	"sort"

	"github.com/mana/personactl/plan"
	"github.com/mana/personactl/state"
)

// How a run that does not complete ends (halted, interrupted, rolled
// back), and the recorded state a run leaves.

// halt ends a run that may send nothing more: no rollback (it would fail the
// same way, or write without the lock), no deletes. The state is written
// only while the lock is still held; the journal stays open, so the next
// run reports this one and converges from a fresh read.
func (r *runner) halt(ctx context.Context, current []state.RecordedPersona, outcomes []outcome, failed []error, why, deletes string) (*Result, error) {
	r.res.Halted = true
	r.count(outcomes)
	select {
	case <-r.rec.Halted():
	default:
		recorded := applyOutcomes(current, r.p, outcomes, false, r.opts.Credentials)
		if err := r.rec.Commit(ctx, recorded); err != nil {
			failed = append(failed, fmt.Errorf("writing the recorded state: %w", err))
		} else {
			r.res.Recorded = recorded
		}
	}
	r.emit(Event{Type: EventHalt, Message: why})
	again := "run personactl apply again"
	if r.fatal.Load() {
		again += " with a fresh admin token"
	}
	return r.res, &Error{Failures: failed, Outcome: fmt.Sprintf("stopped at once: %s; no new step started, nothing was rolled back and %s; the journal stays open; %s: it reads live afresh and converges", why, deletes, again)}
}

// interrupt ends a run that was asked to stop: what was done is kept and
// recorded, and the journal entry is closed as interrupted, so that state,
// journal and live agree and the next apply finishes the plan.
func (r *runner) interrupt(ctx context.Context, current []state.RecordedPersona, outcomes []outcome, failed []error) (*Result, error) {
	r.count(outcomes)
	recorded := applyOutcomes(current, r.p, outcomes, false, r.opts.Credentials)
	if err := r.rec.Commit(ctx, recorded); err != nil {
		failed = append(failed, fmt.Errorf("writing the recorded state: %w; the journal stays open; run personactl apply again: it reads live afresh and converges", err))
	} else {
		r.res.Recorded = recorded
		if err := r.rec.Close(ctx, state.OutcomeInterrupted); err != nil {
			failed = append(failed, fmt.Errorf("closing the journal entry: %w", err))
		}
	}
	err := r.interrupted(failed)
	r.emit(Event{Type: EventInterrupt, Message: err.Outcome, Done: r.made(), Total: r.total})
	return r.res, err
}

// interrupted is the error of an interrupted run with its failures.
func (r *runner) interrupted(failed []error) *Error {
	made := r.made()
	outcome := "Interrupted: nothing was changed; run personactl apply again, or personactl plan to review"
	if made > 0 {
		outcome = fmt.Sprintf("Interrupted: %s of %s changes made and recorded; run personactl apply again to finish, or personactl plan to review", Thousands(made), Thousands(r.total))
	}
	return &Error{Failures: failed, Outcome: outcome, Interrupted: true}
}

// made counts the changes this run made.
func (r *runner) made() int {
	return r.res.Created + r.res.Updated + r.res.Deleted + r.res.Replaced
}

// Thousands writes n with commas between groups of three digits.
func Thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// rollBack undoes this run's creates and updates after a failure.
func (r *runner) rollBack(ctx context.Context, current []state.RecordedPersona, outcomes []outcome, failed []error) (*Result, error) {
	unrolled, rollbackErrs, complete := r.rollback(ctx, outcomes)
	failed = append(failed, rollbackErrs...)
	r.res.RolledBack = true
	if len(unrolled) > 0 {
		recorded := applyOutcomes(current, r.p, unrolled, false, r.opts.Credentials)
		if err := r.rec.Commit(ctx, recorded); err != nil {
			failed = append(failed, fmt.Errorf("writing the state after a partial rollback: %w", err))
		} else {
			r.res.Recorded = recorded
		}
	}
	outcome := "rolled back: every persona this apply created or updated is as it was; nothing was deleted"
	if complete {
		if err := r.rec.Close(ctx, state.OutcomeRolledBack); err != nil {
			failed = append(failed, fmt.Errorf("closing the journal entry after the rollback: %w", err))
		}
	} else {
		outcome = "rollback incomplete: the personas named above may not be as they were; nothing was deleted; run personactl plan to see where live stands"
	}
	return r.res, &Error{Failures: failed, Outcome: outcome}
}

// rollback undoes this run's creates and updates: a created persona is
// deleted (found by email when its id was never seen, as after a lost
// answer), an updated one gets its before-image back. It returns the
// changes that were made and could not be undone, the rollback's failures,
// and whether every step that started was undone.
func (r *runner) rollback(ctx context.Context, outcomes []outcome) (unrolled []outcome, errs []error, complete bool) {
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
			errs = append(errs, fmt.Errorf("rollback of %s %s failed: %w", c.Action, c.Email, err))
			if o.err == nil {
				unrolled = append(unrolled, o)
			}
		}
	}
	return unrolled, errs, complete
}

// applyOutcomes computes the recorded state after a run: the current state
// with every successful step applied. When all is true the plan's forgets and
// state-only records are applied too. Creates and replaces record
// credentials, the fingerprint of the secret their password came from; an
// update keeps what was recorded.
func applyOutcomes(current []state.RecordedPersona, p *plan.Plan, outcomes []outcome, all bool, credentials string) []state.RecordedPersona {
	byEmail := make(map[string]state.RecordedPersona, len(current))
	for _, r := range current {
		byEmail[r.Email] = r
	}
	for _, o := range outcomes {
		if !o.done() {
			if o.deleted { // a replace whose create failed: the persona is gone
				delete(byEmail, o.change.Email)
			}
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
			rec := state.RecordedPersona{Email: c.Email, UserID: id, Values: values, Credentials: byEmail[c.Email].Credentials}
			if c.Action != plan.Update {
				rec.Credentials = credentials
			}
			byEmail[c.Email] = rec
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
				byEmail[c.Email] = state.RecordedPersona{Email: c.Email, UserID: c.UserID, Values: *c.Before, Credentials: byEmail[c.Email].Credentials}
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
