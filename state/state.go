// Package state owns what personactl knows about the world besides the
// catalog: the live personas (read from mana-auth's admin API by the adminapi
// adapter) and the recorded state, what personactl last applied (kept by the
// file and postgres backends, with their locks and the apply journal).
//
// The live side is read by the adminapi adapter, or with --live by the
// authdb adapter straight from mana-auth's database.
//
// This package holds the types, the small interfaces the adapters satisfy,
// helpers written against those interfaces, and the identity of a lock
// holder that both backends record; it never opens a state file or a
// connection itself.
package state

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/mana/personactl/catalog"
)

// LivePersona is a persona as mana-auth reports it: the list entry merged with
// the detail (only the detail carries the prompt and the module mix). The
// journal keeps it as a before-image of a persona a run changes.
type LivePersona struct {
	UserID string
	// Values are the persona's fields as stored by mana-auth (email lowercased).
	Values    catalog.Persona
	CreatedAt time.Time
	History
	// Unreadable: the persona is listed, but its detail is too large to
	// read, so of its values only the email is known (and Actions and
	// Feedback are 0). A plan leaves it alone, unless it deletes it by its
	// UserID.
	Unreadable bool
}

// History is a live persona's activity: what deleting it destroys. Its JSON
// keys are the ones a plan shows it with.
type History struct {
	// Actions7d counts the runner's actions of the last seven days.
	Actions7d int `json:"actions_7d"`
	// Actions is how many actions the detail showed (at most 20, of any age),
	// and Feedback how many feedback ratings.
	Actions      int        `json:"recent_actions"`
	Feedback     int        `json:"feedback"`
	LastActiveAt *time.Time `json:"last_active_at"`
}

// OwnerKind says what kind of user owns an email address in mana-auth.
type OwnerKind int

const (
	// AddressFree: no user has the address.
	AddressFree OwnerKind = iota
	// AddressPersona: the address belongs to a persona.
	AddressPersona
	// AddressTaken: the address is taken by a Mana user who is not a
	// persona.
	AddressTaken
	// AddressUndetermined: mana-auth's users search cannot tell. It answers
	// 500 for any account matching the address that has ever signed in, and
	// the persona runner signs in as every persona each tick: a person, or
	// a persona whose auth.personas row was deleted by hand. Only a reader
	// of users.kind (--live) can tell them apart.
	AddressUndetermined
)

// Owner says who owns an address, and which user when the answer showed
// one (a users search found it).
type Owner struct {
	Kind   OwnerKind
	UserID string
	// CreatedAt is when that user was created, by mana-auth's clock; zero
	// when the answer did not show it.
	CreatedAt time.Time
	// Name is the user's name, when the answer showed it (the admin API's
	// users search does).
	Name string
	// NeverSignedIn: the answer showed that the user has never signed in
	// (the users search's lastActiveAt is absent, or the database holds no
	// session of theirs). False when it did not show it.
	NeverSignedIn bool
}

// Live reads the live side. The admin API's reader and mana-auth's
// database reader satisfy it.
type Live interface {
	// Personas returns every live persona with its full values, sorted by email.
	Personas(ctx context.Context) ([]LivePersona, error)
	// AddressOwners tells, for each of emails, who owns it: nobody, a
	// persona, or a user who is not one (and which user, when the answer
	// shows it). The map is keyed by each address as given; letter case
	// is ignored. A failed question is an error, never a free address.
	AddressOwners(ctx context.Context, emails []string) (map[string]Owner, error)
}

// PartialLive is a Live that can read some personas without the others: the
// admin API reads the list, then only their details, one request each.
type PartialLive interface {
	// PersonasOf returns the live personas with these addresses (letter
	// case aside), sorted by email; an address no persona has is left out.
	PersonasOf(ctx context.Context, emails []string) ([]LivePersona, error)
}

// RecordedPersona is what personactl last applied for one persona.
type RecordedPersona struct {
	Email     string          `json:"email"`
	UserID    string          `json:"user_id"`
	Values    catalog.Persona `json:"values"`
	AppliedAt time.Time       `json:"applied_at"`
	// SecretFingerprint identifies the seed secret the persona's password
	// came from: a salted, deliberately slow one-way fingerprint computed by the
	// caller, never the secret or a password. Empty when unknown. Backends
	// store it as given.
	SecretFingerprint string `json:"credentials,omitempty"`
}

// FormatVersion is the version of the recorded state's JSON layout.
const FormatVersion = 1

// State is the recorded state of one workspace. The zero value is the state
// before the first apply: no lineage, serial 0, no personas.
type State struct {
	Version int `json:"version"`
	// Lineage identifies one history of states; it is set once, when the
	// first state is written, and never changes after.
	Lineage string `json:"lineage"`
	// Serial grows by one with every write.
	Serial   int64             `json:"serial"`
	Personas []RecordedPersona `json:"personas"`
}

// Remove drops the personas with the given addresses (in any letter case)
// and returns how many it dropped; an address that is not recorded is an
// error naming it, and then nothing is dropped.
func (s *State) Remove(emails ...string) (int, error) {
	drop := map[string]bool{}
	for _, e := range emails {
		e = strings.ToLower(e)
		if _, ok := s.Find(e); !ok {
			return 0, fmt.Errorf("%s is not in the recorded state", e)
		}
		drop[e] = true
	}
	kept := s.Personas[:0]
	for _, p := range s.Personas {
		if !drop[p.Email] {
			kept = append(kept, p)
		}
	}
	s.Personas = kept
	return len(drop), nil
}

// Forget drops the personas with the given addresses from b's state, under
// its lock ("state rm"): they stay live, and the next plan shows them as
// unmanaged. It returns how many it dropped and the state it wrote; an
// address that is not recorded is an error, and then nothing is written.
func Forget(ctx context.Context, b Backend, lockTimeout time.Duration, emails ...string) (int, *State, error) {
	lock, err := b.Lock(ctx, "state rm", lockTimeout)
	if err != nil {
		return 0, nil, err
	}
	defer lock.Release()
	st, err := b.Read(ctx)
	if err != nil {
		return 0, nil, err
	}
	n, err := st.Remove(emails...)
	if err != nil {
		return 0, nil, fmt.Errorf("%w %s; nothing was removed", err, b.Describe())
	}
	if err := lock.Write(ctx, st); err != nil {
		return 0, nil, err
	}
	return n, st, nil
}

// Find returns the recorded persona with email, if any.
func (s *State) Find(email string) (RecordedPersona, bool) {
	i := sort.Search(len(s.Personas), func(i int) bool { return s.Personas[i].Email >= email })
	if i < len(s.Personas) && s.Personas[i].Email == email {
		return s.Personas[i], true
	}
	return RecordedPersona{}, false
}

// Next returns the state that follows s once personas were applied: the same
// lineage and serial (the backend's Write moves the serial on), the personas
// sorted, each stamped applied at now unless s records it unchanged, in which
// case it keeps the time it was last applied.
func (s *State) Next(personas []RecordedPersona, now time.Time) *State {
	next := &State{Version: FormatVersion, Lineage: s.Lineage, Serial: s.Serial, Personas: make([]RecordedPersona, 0, len(personas))}
	for _, p := range personas {
		p.AppliedAt = now.UTC()
		if old, ok := s.Find(p.Email); ok && old.UserID == p.UserID && len(catalog.Differences(old.Values, p.Values)) == 0 {
			p.AppliedAt = old.AppliedAt
		}
		next.Personas = append(next.Personas, p)
	}
	next.Sort()
	return next
}

// Validate refuses a state that lists one address twice, letter case aside:
// mana-auth keeps one user per address whatever its case, so Find and plan
// could not tell the two records apart. The error names both spellings;
// the backend that read the state adds where it lives and how to repair it.
func (s *State) Validate() error {
	seen := make(map[string]string, len(s.Personas))
	var dups []string
	for _, p := range s.Personas {
		if p.Email == "" {
			return fmt.Errorf("a persona (user ID %q) has no email", p.UserID)
		}
		key := strings.ToLower(p.Email)
		if first, ok := seen[key]; ok {
			if first == p.Email {
				dups = append(dups, fmt.Sprintf("%s is recorded twice", p.Email))
			} else {
				dups = append(dups, fmt.Sprintf("%s is recorded twice, as %s and as %s", key, first, p.Email))
			}
			continue
		}
		seen[key] = p.Email
	}
	if len(dups) > 0 {
		return &DuplicatePersonaError{Problems: dups}
	}
	return nil
}

// DuplicatePersonaError says which addresses a state lists more than once.
type DuplicatePersonaError struct {
	// Problems has one sentence per address, e.g. "a@x is recorded twice".
	Problems []string
}

func (e *DuplicatePersonaError) Error() string { return strings.Join(e.Problems, "; ") }

// Sort orders the personas by email, the order every backend stores.
func (s *State) Sort() {
	sort.Slice(s.Personas, func(i, j int) bool { return s.Personas[i].Email < s.Personas[j].Email })
}

// LockInfo describes who holds a state lock, so that a refused run can name them.
type LockInfo struct {
	ID        string    `json:"id"`
	Operation string    `json:"operation"`
	Who       string    `json:"who"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	Created   time.Time `json:"created"`
}

// LogValue is how a lock appears in the debug log: who holds it for what.
func (i LockInfo) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", i.ID), slog.String("operation", i.Operation),
		slog.String("who", i.Who+"@"+i.Host), slog.Int("pid", i.PID))
}

// LockedError is returned when another run holds the lock.
type LockedError struct {
	Holder LockInfo
	// Where names the state (a path, or a workspace in a database).
	Where string
}

func (e *LockedError) Error() string {
	h := e.Holder
	return fmt.Sprintf("state %s is locked by %s@%s (pid %d) since %s, running %q (lock ID %s); wait for it to finish, retry with --lock-timeout=DURATION, or if that run is gone run `personactl state force-unlock %s`",
		e.Where, h.Who, h.Host, h.PID, h.Created.UTC().Format(time.RFC3339), h.Operation, h.ID, h.ID)
}

// StaleSerialError is returned when a write was based on a serial that someone
// else has since moved on.
type StaleSerialError struct {
	Read, Found int64
}

func (e *StaleSerialError) Error() string {
	return fmt.Sprintf("recorded state changed while this run held it: read serial %d, found %d; another run wrote the state; run the command again", e.Read, e.Found)
}

// StepResult is how one step of a run ended.
type StepResult string

// The results of a journal step.
const (
	StepDone   StepResult = "done"
	StepFailed StepResult = "failed"
)

// RunOutcome is how a run ended, recorded when its journal entry is closed.
type RunOutcome string

// The outcomes of a run.
const (
	// OutcomeComplete: every step was done.
	OutcomeComplete RunOutcome = "complete"
	// OutcomeRolledBack: a step failed and what the run did was undone.
	OutcomeRolledBack RunOutcome = "rolled_back"
	// OutcomeFailed: the run finished with failures and nothing more to do.
	OutcomeFailed RunOutcome = "failed"
	// OutcomeInterrupted: the run was asked to stop and kept what it had
	// done, or it died before closing its entry and a later run that found
	// it open converged and closed it.
	OutcomeInterrupted RunOutcome = "interrupted"
)

// DefaultRetain is how many closed runs a journal keeps for History when a
// backend is given no retention.
const DefaultRetain = 1000

// Retention checks a backend's retention setting: 0 means DefaultRetain, a
// negative one is refused.
func Retention(n int) (int, error) {
	switch {
	case n < 0:
		return 0, fmt.Errorf("journal retention %d is negative; give the number of closed runs to keep, or 0 for the default %d", n, DefaultRetain)
	case n == 0:
		return DefaultRetain, nil
	}
	return n, nil
}

// JournalEntry is the record of one run: opened before the first write, its
// steps appended as they finish, closed with an outcome after the state is
// written. An entry still open when a run starts means an earlier run was
// interrupted. Once closed, an entry keeps its header, steps and outcome
// (the history) but no longer its plan or before-images.
type JournalEntry struct {
	ID        string `json:"id"`
	Operation string `json:"operation"`
	// Who and Host name the user and machine of the run, as LockInfo does.
	Who     string    `json:"who"`
	Host    string    `json:"host"`
	Started time.Time `json:"started"`
	// Plan is the plan being applied, as its JSON rendering (no secrets).
	Plan []byte `json:"plan,omitempty"`
	// Before holds each affected persona as it was live before the run
	// (absent for personas that did not exist), with the history a delete
	// would destroy, so that the journal tells what was there.
	Before []LivePersona `json:"before"`
	Steps  []JournalStep `json:"steps"`
	// Closed is zero while the entry is open.
	Closed time.Time `json:"closed,omitzero"`
	// Outcome is empty while the entry is open, then one of the Outcome
	// constants.
	Outcome RunOutcome `json:"outcome,omitempty"`
}

// JournalStep is one finished step of an apply.
type JournalStep struct {
	Email  string     `json:"email"`
	Action string     `json:"action"`
	UserID string     `json:"user_id,omitempty"`
	Result StepResult `json:"outcome"`
	// Error says why the step failed.
	Error    string    `json:"error,omitempty"`
	Finished time.Time `json:"finished"`
}

// ErrLockLost is what every write through a lost lock fails with (test it
// with errors.Is): the lock was taken away (its database session ended, or
// its lock file was removed), so another run may hold it now.
var ErrLockLost = errors.New("the state lock was lost")

// LockLostError is the error of a write attempted after the lock was lost.
type LockLostError struct {
	// Where names the state; ID is the lost lock's ID.
	Where, ID string
	// Cause says how the loss was noticed.
	Cause error
}

func (e *LockLostError) Error() string {
	return fmt.Sprintf("the lock %s on %s was lost (%v); nothing more will be written by this run; run `personactl apply` again, which reads live afresh and converges",
		e.ID, e.Where, e.Cause)
}

func (e *LockLostError) Is(target error) bool { return target == ErrLockLost }
func (e *LockLostError) Unwrap() error        { return e.Cause }

// ErrNegativeTimeout refuses a lock timeout below zero.
var ErrNegativeTimeout = errors.New("lock timeout is negative; pass --lock-timeout=0 to fail at once when locked, or a positive duration such as 30s to wait")

// Backend stores the recorded state of one workspace, its lock and its journal.
type Backend interface {
	// Describe names the backend for messages ("personactl.state.json", "postgres workspace default").
	Describe() string
	// Lock takes the state lock for operation, waiting up to timeout (0: fail
	// at once with *LockedError; below 0: ErrNegativeTimeout). The returned
	// Lock must be released.
	Lock(ctx context.Context, operation string, timeout time.Duration) (Lock, error)
	// Read returns the recorded state; the zero State when none was written
	// yet. A state that lists an address twice is refused.
	Read(ctx context.Context) (*State, error)
	// OpenJournals returns the journal entries left open by interrupted runs,
	// oldest first, each with its plan, before-images and steps.
	OpenJournals(ctx context.Context) ([]JournalEntry, error)
	// History returns up to limit runs (all when limit <= 0), newest first,
	// closed and open, each with its header, steps and outcome; plans and
	// before-images are left out.
	History(ctx context.Context, limit int) ([]JournalEntry, error)
	// ForceUnlock removes a lock whose holder is gone, if its ID matches. It
	// refuses while the holder is alive.
	ForceUnlock(ctx context.Context, id string) error
	Close() error
}

// Lock is a held state lock; writes go through it. Its methods may be
// called from several goroutines.
type Lock interface {
	Info() LockInfo
	// Lost is closed as soon as the lock is known to be lost. Every write
	// after that fails with an error matching ErrLockLost.
	Lost() <-chan struct{}
	// Write stores s as the next state: s.Serial must be the serial that was
	// read, and the backend stores s with Serial+1 (setting s.Serial), or
	// fails with *StaleSerialError if the stored serial is no longer the one read.
	// A new lineage is assigned when s has none.
	Write(ctx context.Context, s *State) error
	// OpenJournal stores e as an open entry, plan and before-images once.
	OpenJournal(ctx context.Context, e JournalEntry) error
	// AppendSteps appends finished steps to the open entry id; they are
	// durable when it returns. Nothing else of the journal is rewritten.
	AppendSteps(ctx context.Context, id string, steps []JournalStep) error
	// CloseJournal marks entry id closed with outcome (one of the Outcome
	// constants, see CheckOutcome), drops its plan and before-images, and
	// prunes the oldest closed runs beyond retention.
	CloseJournal(ctx context.Context, id string, outcome RunOutcome) error
	// Release frees the lock.
	Release() error
}

// CheckOutcome refuses an outcome that is not one of the Outcome constants.
func CheckOutcome(o RunOutcome) error {
	if !ValidOutcome(o) {
		return fmt.Errorf("outcome %q is not one of %s, %s, %s, %s", o, OutcomeComplete, OutcomeRolledBack, OutcomeFailed, OutcomeInterrupted)
	}
	return nil
}

// ValidOutcome reports whether o is one of the Outcome constants.
func ValidOutcome(o RunOutcome) bool {
	switch o {
	case OutcomeComplete, OutcomeRolledBack, OutcomeFailed, OutcomeInterrupted:
		return true
	}
	return false
}
