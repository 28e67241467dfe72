package reconcile

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mana/personactl/apply"
	"github.com/mana/personactl/internal/neutral"
	"github.com/mana/personactl/plan"
	"github.com/mana/personactl/state"
)

// Request is what an apply or destroy asks of the loop.
type Request struct {
	// Operation names the run in the lock and the journal ("apply", "destroy").
	Operation string
	// Saved is a plan saved with plan --out, applied exactly or refused as
	// stale; nil computes a new plan with Options.
	Saved   *plan.Plan
	Options plan.Options
	// LockTimeout is how long to wait for the state lock.
	LockTimeout time.Duration
	// Show is given the plan once it is computed (or checked), to render it.
	Show func(*plan.Plan) error
	// Guards are the guard rails checked before approval and before any
	// write, for a new plan and a saved one alike. Guards.Now is set here
	// when zero.
	Guards plan.Guards
	// Approve asks for approval of a plan that writes; an error stops the
	// run before anything is written. nil approves.
	Approve func(*plan.Plan) error
	// ExpectDigest, when set, is the changes digest of the plan that was
	// reviewed: a plan whose writes differ is refused before any write.
	// Reviewed, when set, is that plan, so that the refusal says how the
	// two differ.
	ExpectDigest string
	Reviewed     *plan.Plan
	// Writer writes through the admin API.
	Writer apply.Writer
	// TokenExpiry is when the admin token the writes carry expires (zero:
	// unknown). A run that could outlive it is refused before any write.
	TokenExpiry time.Time
	// Run shapes the execution (parallelism, rollback, progress, checks).
	// Operation, Who, Host, Password and SecretFingerprint are filled here.
	Run apply.Options
}

// Applied is what an apply did: the plan it applied (or refused) and the
// result of the run.
type Applied struct {
	Plan   *plan.Plan
	Result *apply.Result
}

// DigestError is a plan whose writes are not the ones reviewed.
type DigestError struct {
	Want, Got string
	// Differences say, per address, how the plan differs from the
	// reviewed one (when it was given).
	Differences []string
}

func (e *DigestError) Error() string {
	msg := fmt.Sprintf("this plan's changes digest is %s, not the reviewed %s: live, the state or the catalog changed since the review, so this is not the plan that was approved; nothing was changed; review the new plan and approve its digest", e.Got, e.Want)
	for _, d := range e.Differences {
		msg += "\n  * " + d
	}
	return msg
}

// StaleError is a saved plan that no longer matches the state or live.
type StaleError struct {
	Why []string
}

// Error says why on one line; the reasons quote live user ids and
// addresses, which may hold anything.
func (e *StaleError) Error() string {
	return "saved plan is stale, nothing was applied: " + neutral.Text(strings.Join(e.Why, "; "))
}

// Apply takes the state lock, reads afresh, computes the plan (or checks a
// saved one), has it reviewed, and applies it. The lock is held from before
// the read until the new state is written, so no other run can interleave.
func (s *Session) Apply(ctx context.Context, req Request) (*Applied, error) {
	lock, err := s.Backend.Lock(ctx, req.Operation, req.LockTimeout)
	if err != nil {
		return nil, err
	}
	defer lock.Release()

	p := req.Saved
	if p != nil && p.Workspace != s.Workspace {
		return nil, fmt.Errorf("saved plan is for workspace %q, not %q; pass --workspace=%s or make a new plan", p.Workspace, s.Workspace, p.Workspace)
	}
	snap, err := s.Read(ctx)
	if err != nil {
		return nil, err
	}
	if p != nil {
		stale, err := s.stale(ctx, snap, p)
		if err != nil {
			return nil, err
		}
		if len(stale) > 0 {
			return &Applied{Plan: p}, &StaleError{Why: stale}
		}
	} else if p, err = s.Plan(ctx, snap, req.Options); err != nil {
		return nil, err
	}
	out := &Applied{Plan: p}
	if req.Show != nil {
		if err := req.Show(p); err != nil {
			return out, err
		}
	}
	if len(p.Errors) > 0 {
		return out, fmt.Errorf("the plan has errors (above); nothing was applied")
	}
	if req.ExpectDigest != "" {
		if got := p.ChangesDigest(); got != req.ExpectDigest {
			err := &DigestError{Want: req.ExpectDigest, Got: got}
			if req.Reviewed != nil {
				for _, d := range plan.DigestDifference(req.Reviewed, p) {
					err.Differences = append(err.Differences, neutral.Text(d))
				}
			}
			return out, err
		}
	}
	if !p.NeedsStateWrite() {
		out.Result = &apply.Result{}
		return out, s.closeInterrupted(ctx, lock, snap, p)
	}
	guards := req.Guards
	if guards.Now.IsZero() {
		guards.Now = s.now()
	}
	if err := p.CheckGuards(guards); err != nil {
		return out, fmt.Errorf("refusing to %s, nothing was changed: %w", req.Operation, err)
	}
	if err := s.checkToken(p, snap, req.TokenExpiry, guards.Now, req.Run.Parallelism); err != nil {
		return out, err
	}
	if req.Approve != nil {
		if err := req.Approve(p); err != nil {
			return out, err
		}
		// Reading the plan took a while: the token may be closer to its
		// end now than when it was checked.
		if err := s.checkToken(p, snap, req.TokenExpiry, s.now(), req.Run.Parallelism); err != nil {
			return out, err
		}
	}

	opts := req.Run
	opts.Operation = req.Operation
	holder := state.NewLockInfo(req.Operation)
	opts.Who, opts.Host = holder.Who, holder.Host
	base := snap.Recorded
	if s.Secret != nil {
		if base.Lineage == "" {
			// The fingerprint is salted with the lineage, so the first
			// state gets its lineage now rather than from the backend.
			next := *base
			next.Lineage = state.NewLineage()
			base = &next
		}
		opts.Password = s.Secret.Password
		if base.Lineage == snap.Input.Lineage && snap.Input.SecretFingerprint != "" {
			// Read computed it for this lineage already, and it is
			// deliberately slow (a salted PBKDF2).
			opts.SecretFingerprint = snap.Input.SecretFingerprint
		} else {
			opts.SecretFingerprint = s.Secret.Fingerprint(base.Lineage)
		}
	} else {
		opts.Password = func(string) string { return "" }
	}
	rec := newRecorder(lock, base)
	defer rec.stop()
	res, runErr := apply.Run(ctx, apply.Input{Plan: p, Recorded: snap.Input.Recorded, Live: snap.Input.Live}, req.Writer, rec, opts)
	out.Result = res
	if runErr != nil {
		return out, runErr
	}
	return out, s.closeInterrupted(ctx, lock, snap, p)
}

// TokenMargin is the least time an admin token must still be valid for a
// run that writes to start.
const TokenMargin = 2 * time.Minute

// checkToken refuses a run whose admin token expires within TokenMargin, or
// before the run can end at the pace snap's reads were answered: a run cut
// short by an expired token halts with its journal open.
func (s *Session) checkToken(p *plan.Plan, snap *Snapshot, expiry, now time.Time, parallelism int) error {
	if expiry.IsZero() {
		return nil
	}
	left := expiry.Sub(now)
	if left < TokenMargin {
		source := s.TokenSource
		if source == "" {
			source = "MANA_ADMIN_JWT"
		}
		return fmt.Errorf("the admin token expires at %s (%s), less than %s from now; nothing was changed; mint a fresh admin token, put it in %s and run again", expiry.UTC().Format(time.RFC3339), untilOrAgo(left), TokenMargin, source)
	}
	if snap.Requests == 0 || snap.Took <= 0 {
		return nil
	}
	// The reads ran at the same parallelism as the writes will, so each
	// request took about Took*slots/requests of a slot's time.
	parallelism = max(1, parallelism)
	slots := min(parallelism, snap.Requests)
	perRequest := snap.Took * time.Duration(slots) / time.Duration(snap.Requests)
	need := perRequest * time.Duration(p.Writes()) / time.Duration(parallelism)
	if need+TokenMargin > left {
		return fmt.Errorf("the admin token expires at %s (%s), but at the pace this run's reads were answered (%d requests in %s) its %d writes need about %s; nothing was changed; mint a token that lives longer, or split the run with --target", expiry.UTC().Format(time.RFC3339), untilOrAgo(left), snap.Requests, snap.Took.Round(time.Millisecond), p.Writes(), need.Round(time.Second))
	}
	return nil
}

func untilOrAgo(d time.Duration) string {
	if d < 0 {
		return "expired " + (-d).Round(time.Second).String() + " ago"
	}
	return "in " + d.Round(time.Second).String()
}

// closeInterrupted closes the journal entries of earlier runs once this run
// has converged live and state. A run limited by --target converged only
// its targets, so it leaves them open: the next whole run reports and
// closes them.
func (s *Session) closeInterrupted(ctx context.Context, lock state.Lock, snap *Snapshot, p *plan.Plan) error {
	if len(p.Options.Targets) > 0 {
		return nil
	}
	for _, e := range snap.Interrupted {
		if err := lock.CloseJournal(ctx, e.ID, state.OutcomeInterrupted); err != nil {
			return fmt.Errorf("closing the interrupted run's journal entry %s: %w", e.ID, err)
		}
	}
	return nil
}

// recorder adapts a held state lock and its journal to apply.Recorder.
type recorder struct {
	lock    state.Lock
	base    *state.State
	journal *state.Journal
	halted  chan struct{}
	done    chan struct{}
	err     error
}

// journalInterval is the least time between two journal writes of a run:
// at 10,000 steps it turns about 2,000 writes and syncs into 200, and the
// steps of one batch stay those of a hundredth of a second.
const journalInterval = 10 * time.Millisecond

func newRecorder(lock state.Lock, base *state.State) *recorder {
	return &recorder{lock: lock, base: base, halted: make(chan struct{}), done: make(chan struct{})}
}

func (r *recorder) Open(ctx context.Context, e state.JournalEntry) error {
	if err := r.lock.OpenJournal(ctx, e); err != nil {
		return err
	}
	r.journal = state.NewJournal(r.lock, e.ID, state.JournalOptions{Interval: journalInterval})
	go r.watch()
	return nil
}

// watch halts the run as soon as the lock is lost or a step cannot be
// journaled.
func (r *recorder) watch() {
	select {
	case <-r.lock.Lost():
		r.err = fmt.Errorf("the state lock was lost (%s)", r.lock.Info().ID)
	case <-r.journal.Failed():
		r.err = fmt.Errorf("a step could not be recorded in the journal: %w", r.journal.Err())
	case <-r.done:
		return
	}
	close(r.halted)
}

// stop ends the recorder when the run ends: every step recorded is
// written (within a bound, should the disk or database hang), the journal's
// writer stops, and the watcher with it. An entry the run did not close
// stays open.
func (r *recorder) stop() {
	if r.journal != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		r.journal.Stop(ctx)
		cancel()
	}
	select {
	case <-r.done:
	default:
		close(r.done)
	}
}

func (r *recorder) Record(step state.JournalStep) { r.journal.Record(step) }
func (r *recorder) Halted() <-chan struct{}       { return r.halted }
func (r *recorder) Err() error                    { return r.err }

// Commit makes the journal durable, then writes the new state: a state
// never records a step the journal lacks.
func (r *recorder) Commit(ctx context.Context, recorded []state.RecordedPersona) error {
	if err := r.journal.Flush(ctx); err != nil {
		return err
	}
	return r.lock.Write(ctx, r.base.Next(recorded, time.Now()))
}

func (r *recorder) Close(ctx context.Context, outcome state.RunOutcome) error {
	return r.journal.Close(ctx, outcome)
}
