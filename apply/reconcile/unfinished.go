package reconcile

import (
	"fmt"
	"time"

	"github.com/mana/personactl/plan"
	"github.com/mana/personactl/state"
)

// unfinishedBy finds the interrupted run whose create may have left h, a
// user at email who is not a persona, half made. mana-auth's upsert is
// three statements without a transaction (the sign-up, the kind stamp, the
// persona row): a run killed with its upserts in flight, or
// a service that stopped between them, leaves a plain user at the address,
// whom the next plan would otherwise call a person and refuse.
//
// h is that run's user, to be completed by the next create, when all of
// these hold; anyone else at the address stays a person:
//
//   - h has never signed in, as the live side shows it (the users search
//     lists the user without a last activity; mana-auth's database holds
//     no session of theirs). A person who signed in is a person.
//   - The run's journal entry is still open and its plan (kept until the
//     entry is closed) creates or replaces email; no step it journaled at
//     the address names another user.
//   - h has the name that create signs the user up with, when the live
//     side shows a name (the admin API's users search does): a person who
//     signed up at the address with a name of their own is a person.
//   - h was created inside the request window of that create: not before
//     the entry's start (the entry is opened before the first step), and
//     not later than timeout (one try of a request) after the entry's
//     last recorded activity, its start or the latest finish of a step it
//     journaled. The create's own start is not recorded: a step is
//     journaled once it finished, and a step in flight at a kill -9 is
//     not journaled at all. But a step starts only when the run starts or
//     another step finishes, so every step in flight started by the last
//     recorded finish (give or take the journal's last batch, written
//     every few milliseconds), and each try of its request ends within
//     timeout of its start. A user created later, by a retry after a try
//     that timed out or by someone else, is outside the window: called a
//     person, the safe side, as that error says what to do.
//
// mana-auth stamps createdAt with its own clock, to the millisecond; the
// journal's times are personactl's. The start is compared to the
// millisecond; the rule takes the two clocks to agree.
func unfinishedBy(open []state.JournalEntry, email string, h state.Owner, timeout time.Duration) (state.JournalEntry, bool) {
	if h.Kind != state.AddressTaken || h.UserID == "" || h.CreatedAt.IsZero() || !h.NeverSignedIn {
		return state.JournalEntry{}, false
	}
	for _, e := range open {
		name, creates := plan.CreatesIn(e.Plan)[email]
		if !creates || (h.Name != "" && h.Name != name) {
			continue
		}
		last, other := e.Started, false
		for _, st := range e.Steps {
			last = latest(last, st.Finished)
			other = other || (st.Email == email && st.UserID != "" && st.UserID != h.UserID)
		}
		from, until := e.Started.Truncate(time.Millisecond), last.Add(timeout)
		if !other && !h.CreatedAt.Before(from) && !h.CreatedAt.After(until) {
			return e, true
		}
	}
	return state.JournalEntry{}, false
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// runName describes an interrupted run for people.
func runName(e state.JournalEntry) string {
	return fmt.Sprintf("the interrupted %s of %s (journal %s)", e.Operation, e.Started.UTC().Format(time.RFC3339), e.ID)
}
