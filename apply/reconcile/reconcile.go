// Package reconcile is personactl's loop: it reads the desired catalog, the
// recorded state and the live personas, computes the plan (checking with
// mana-auth the addresses it would create), and applies it under the state
// lock with a journal. The commands call it; tests drive it without the
// command line.
//
// It owns no types of the domain: personas and journal entries are state's,
// plans are plan's, runs are apply's. It reaches mana-auth and the recorded
// state only through state.Live, state.Backend and apply.Writer, so any
// adapter (the admin API, mana-auth's database, a file, PostgreSQL) can be
// plugged in. It never prints: what a person should be told comes back as
// values and through Notify.
package reconcile

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/internal/failure"
	"github.com/mana/personactl/plan"
	"github.com/mana/personactl/state"
)

// Session is one run of the loop.
type Session struct {
	// Catalog loads the desired personas; it runs while the recorded and
	// live sides are read. nil means an empty catalog (a saved plan, which
	// holds its desired values). A catalog that is Missing (a destroy
	// without one) is said in the plan (Input.MissingCatalog).
	Catalog func() (*catalog.Catalog, error)
	Backend state.Backend
	Live    state.Live
	// Secret derives the personas' passwords; nil when no seed secret is in
	// effect for this run (credentials are then not checked).
	Secret *catalog.Secret
	// Workspace names the recorded state, as plans record it.
	Workspace string
	// Parallelism bounds the logins verify sends at once; the adapters
	// bound their own reads.
	Parallelism int
	// RequestTimeout bounds one try of one request to mana-auth: a user an
	// interrupted run's create left half made was created at most that
	// long after the run's last recorded step (see unfinishedBy).
	RequestTimeout time.Duration
	// Notify receives warnings a person should see (an interrupted run);
	// nil discards them.
	Notify func(string)
	// Now is the clock of the guard rails and the token's lifetime; nil
	// means time.Now.
	Now func() time.Time
	// TokenSource names where the admin token came from ("MANA_ADMIN_JWT",
	// "the file tok.txt"), for the message that says where a fresh one
	// goes; "" means MANA_ADMIN_JWT.
	TokenSource string

	// CountsRequests: Live answers with one request per persona plus one
	// (the admin API), so the time its reads took measures the server's
	// pace (Snapshot.Requests and Took).
	CountsRequests bool
}

// Snapshot is what one Read saw of the three sides: a plan is computed from
// it, and an apply carries that plan out against it.
type Snapshot struct {
	// Input is the plan's input: the desired, recorded and live personas,
	// the addresses interrupted runs deleted, the seed secret's fingerprint.
	Input    plan.Input
	Recorded *state.State
	// Interrupted are the journal entries earlier runs left open.
	Interrupted []state.JournalEntry
	// Requests and Took, when the Session CountsRequests, are how many
	// requests reading live took and how long: the server's pace.
	Requests int
	Took     time.Duration
}

// Read takes fresh snapshots of the three sides at once: the catalog is
// loaded and validated while the recorded state and live personas are read.
// A catalog error wins over the others, as it is what the user must fix.
func (s *Session) Read(ctx context.Context) (*Snapshot, error) { return s.read(ctx, nil) }

// read is Read; with only, a live side that can (state.PartialLive) reads
// the live personas with those addresses alone, sparing a request for each
// of the others.
func (s *Session) read(ctx context.Context, only []string) (*Snapshot, error) {
	var (
		wg                sync.WaitGroup
		snap              = &Snapshot{}
		cat               = &catalog.Catalog{}
		live              []state.LivePersona
		fingerprint       string
		same              map[string]bool
		catErr, recErr    error
		liveErr, journErr error
	)
	wg.Add(3)
	go func() {
		defer wg.Done()
		defer failure.Recover(&catErr)
		if s.Catalog != nil {
			cat, catErr = s.Catalog()
		}
	}()
	go func() {
		defer wg.Done()
		defer failure.Recover(&recErr)
		if snap.Recorded, recErr = s.Backend.Read(ctx); recErr == nil {
			snap.Interrupted, journErr = s.Backend.OpenJournals(ctx)
			if s.Secret != nil {
				// Deliberately slow (a salted PBKDF2): computed while
				// live is read, salted with the state's lineage as the
				// recorded fingerprints are.
				fingerprint = s.Secret.Fingerprint(snap.Recorded.Lineage)
				same = compareFingerprints(snap.Recorded, fingerprint, *s.Secret)
			}
		}
	}()
	go func() {
		defer wg.Done()
		defer failure.Recover(&liveErr)
		start := time.Now()
		if partial, ok := s.Live.(state.PartialLive); ok && len(only) > 0 {
			live, liveErr = partial.PersonasOf(ctx, only)
		} else {
			live, liveErr = s.Live.Personas(ctx)
		}
		if s.CountsRequests {
			snap.Requests, snap.Took = 1+len(live), time.Since(start)
		}
	}()
	wg.Wait()
	for _, err := range []error{catErr, recErr, journErr, liveErr} {
		if err != nil {
			return nil, err
		}
	}
	for _, e := range snap.Interrupted {
		s.notify(interruptedNotice(e))
	}
	snap.Input = plan.Input{
		Desired:           cat.Personas,
		Recorded:          snap.Recorded.Personas,
		Live:              live,
		Interrupted:       deletedBy(snap.Interrupted),
		SecretFingerprint: fingerprint,
		SameSecret:        same,
		Workspace:         s.Workspace,
		Lineage:           snap.Recorded.Lineage,
		Serial:            snap.Recorded.Serial,
	}
	if cat.Missing {
		snap.Input.MissingCatalog = cat.Path
	}
	return snap, nil
}

// compareFingerprints tells, for each fingerprint the state records other
// than current, whether it was made from secret: a fingerprint of the same
// secret with other rounds is no drift. One that cannot be read is left
// out, so that the plan calls those credentials unknown rather than
// drifted.
func compareFingerprints(recorded *state.State, current string, secret catalog.Secret) map[string]bool {
	same := map[string]bool{}
	for _, r := range recorded.Personas {
		if _, done := same[r.SecretFingerprint]; done || r.SecretFingerprint == "" || r.SecretFingerprint == current {
			continue
		}
		if ok, err := catalog.SameSecret(r.SecretFingerprint, secret, recorded.Lineage); err == nil {
			same[r.SecretFingerprint] = ok
		}
	}
	return same
}

// deletedBy maps each address an interrupted run deleted to that run.
func deletedBy(open []state.JournalEntry) map[string]string {
	out := map[string]string{}
	for _, e := range open {
		run := runName(e)
		for _, st := range e.Steps {
			if a, _ := plan.ParseAction(st.Action); st.Result == state.StepDone && (a == plan.Delete || a == plan.Replace) {
				out[st.Email] = run
			}
		}
	}
	return out
}

func (s *Session) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Session) notify(msg string) {
	if s.Notify != nil {
		s.Notify(msg)
	}
}

// interruptedNotice tells about a run that died before it finished.
func interruptedNotice(e state.JournalEntry) string {
	done := 0
	for _, st := range e.Steps {
		if st.Result == state.StepDone {
			done++
		}
	}
	return fmt.Sprintf("Warning: an earlier %s (journal %s) started %s was interrupted after %d finished step(s) of its plan; live personas are read afresh and apply converges them.",
		e.Operation, e.ID, e.Started.UTC().Format(time.RFC3339), done)
}

// CatalogOf turns live personas into catalog entries, for export. A live
// persona that cannot be a catalog entry (catalog.CheckExportable says
// why) refuses the whole export, naming each such persona; so does an
// empty live set, since a catalog needs a persona.
func CatalogOf(live []state.LivePersona) ([]catalog.Persona, error) {
	personas := make([]catalog.Persona, 0, len(live))
	var refused []string
	for _, l := range live {
		if l.Unreadable {
			refused = append(refused, fmt.Sprintf("%s (user %s): mana-auth's answer for it is too large to read, so its values are unknown; `personactl destroy --all --target=%s` deletes it", l.Values.Email, l.UserID, l.Values.Email))
			continue
		}
		if why := catalog.CheckExportable(l.Values); len(why) > 0 {
			refused = append(refused, fmt.Sprintf("%s (user %s): %s", l.Values.Email, l.UserID, strings.Join(why, "; ")))
			continue
		}
		personas = append(personas, l.Values)
	}
	if len(refused) > 0 {
		return nil, fmt.Errorf("%d live persona(s) cannot be written as a catalog entry, so nothing was exported:\n  %s\nfix them through the admin API (or delete them), then export again", len(refused), strings.Join(refused, "\n  "))
	}
	if len(personas) == 0 {
		return nil, fmt.Errorf("no live personas to export; a catalog needs at least one persona")
	}
	return personas, nil
}

// DerivesPasswords is the rule for when a run needs the seed secret: when
// it may create, update or replace a persona, which derives passwords. A
// saved plan does when it holds such a change; a new plan unless it
// destroys, only refreshes, or is read-only (live read from mana-auth's
// database without an admin token, as in a pull request's job: it can
// write nothing).
func DerivesPasswords(saved *plan.Plan, opts plan.Options, readOnly bool) bool {
	if saved != nil {
		sum := saved.Summary()
		return sum.Create+sum.Update+sum.Replace > 0
	}
	return !opts.Destroy && !opts.RefreshOnly && !readOnly
}

// Plan computes the plan of snap. The addresses it would create are
// checked with mana-auth; when one is taken by a user who is not a persona,
// or the check cannot tell, the plan is computed again with that error in
// it (or with a note, for a user an interrupted run's create left half
// made, which the create completes).
func (s *Session) Plan(ctx context.Context, snap *Snapshot, opts plan.Options) (*plan.Plan, error) {
	p := plan.Compute(snap.Input, opts)
	if creates := p.Creates(); len(creates) > 0 {
		in, err := s.checkAddresses(ctx, snap, creates)
		if err != nil {
			return nil, err
		}
		if len(in.Taken)+len(in.Undetermined)+len(in.Unfinished) > 0 {
			p = plan.Compute(in, opts)
		}
	}
	return p, nil
}

// stale checks a saved plan against snap: the recorded state, every live
// persona it acts on, and the owners of the addresses it creates. It
// returns why the plan is stale, or nothing.
func (s *Session) stale(ctx context.Context, snap *Snapshot, p *plan.Plan) ([]string, error) {
	in, err := s.checkAddresses(ctx, snap, p.Creates())
	if err != nil {
		return nil, err
	}
	return p.Stale(in), nil
}

// checkAddresses returns snap's input with who holds each of the addresses
// a plan would create: taken by a Mana user who is not a persona, or
// undetermined (the users search cannot tell). A user the state recorded
// for that address is the persona itself, whose auth.personas row was
// deleted by hand: its create restores it. So is a user an interrupted
// run's create left half made (unfinishedBy).
func (s *Session) checkAddresses(ctx context.Context, snap *Snapshot, emails []string) (plan.Input, error) {
	in := snap.Input
	in.Taken, in.Undetermined, in.Unfinished = nil, nil, nil
	if len(emails) == 0 {
		return in, nil
	}
	owners, err := s.Live.AddressOwners(ctx, emails)
	if err != nil {
		return in, err
	}
	recorded := map[string]string{}
	for _, r := range in.Recorded {
		recorded[r.Email] = r.UserID
	}
	for _, email := range emails {
		h := owners[email]
		switch {
		case h.Kind == state.AddressTaken && h.UserID != "" && h.UserID == recorded[email]:
			// personactl's own persona, its persona row gone: not a person.
		case h.Kind == state.AddressTaken:
			if e, ok := unfinishedBy(snap.Interrupted, email, h, s.RequestTimeout); ok {
				if in.Unfinished == nil {
					in.Unfinished = map[string]plan.Unfinished{}
				}
				in.Unfinished[email] = plan.Unfinished{Run: runName(e), UserID: h.UserID}
				break
			}
			in.Taken = append(in.Taken, email)
		case h.Kind == state.AddressUndetermined:
			in.Undetermined = append(in.Undetermined, email)
		}
	}
	sort.Strings(in.Taken)
	sort.Strings(in.Undetermined)
	return in, nil
}
