package reconcile

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/plan"
	"github.com/mana/personactl/state"
)

// ownersLive answers who holds an address from a table (lowercased
// address → owner), all addresses in one question, or fails.
type ownersLive struct {
	owners map[string]state.Owner
	fail   error
	asked  atomic.Int32
}

func (l *ownersLive) Personas(context.Context) ([]state.LivePersona, error) { return nil, nil }

func (l *ownersLive) AddressOwners(_ context.Context, emails []string) (map[string]state.Owner, error) {
	l.asked.Add(1)
	if l.fail != nil {
		return nil, l.fail
	}
	out := map[string]state.Owner{}
	for _, e := range emails {
		out[e] = l.owners[strings.ToLower(e)]
	}
	return out, nil
}

// TestCheckAddresses: who holds each address a plan would create decides
// whether the create is refused (taken, undetermined), completes what an
// interrupted run left (unfinished), or goes ahead; the snapshot read is
// left as it was.
func TestCheckAddresses(t *testing.T) {
	start := time.Date(2026, 4, 22, 10, 0, 0, 0, time.UTC)
	taken := func(id string) state.Owner { return state.Owner{Kind: state.AddressTaken, UserID: id} }
	half := state.Owner{Kind: state.AddressTaken, UserID: "ux", CreatedAt: start.Add(time.Second), NeverSignedIn: true}
	for _, tt := range []struct {
		name             string
		owner            state.Owner
		recordedID       string
		interrupted      bool
		taken, undecided bool
		unfinished       string
	}{
		{name: "free", owner: state.Owner{}},
		{name: "a persona", owner: state.Owner{Kind: state.AddressPersona, UserID: "up"}},
		{name: "a person", owner: taken("uh"), taken: true},
		{name: "a person nobody names", owner: state.Owner{Kind: state.AddressTaken}, recordedID: "", taken: true},
		{name: "the recorded persona, its persona row deleted by hand", owner: taken("ur"), recordedID: "ur"},
		{name: "a person where the state records another user", owner: taken("uh"), recordedID: "ur", taken: true},
		{name: "undetermined", owner: state.Owner{Kind: state.AddressUndetermined}, undecided: true},
		{name: "undetermined, even where the state records a user", owner: state.Owner{Kind: state.AddressUndetermined, UserID: "ur"}, recordedID: "ur", undecided: true},
		{name: "half made by an interrupted create", owner: half, interrupted: true, unfinished: "ux"},
		{name: "the same user without an interrupted run is a person", owner: half, taken: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			const x = "persona.x@mana.test"
			snap := &Snapshot{Input: plan.Input{Taken: []string{"left@mana.test"}}}
			if tt.recordedID != "" {
				snap.Input.Recorded = []state.RecordedPersona{{Email: x, UserID: tt.recordedID}}
			}
			if tt.interrupted {
				snap.Interrupted = []state.JournalEntry{interruptedEntry(t, start, []string{x}, nil)}
			}
			l := &ownersLive{owners: map[string]state.Owner{x: tt.owner}}
			s := &Session{Live: l, RequestTimeout: 30 * time.Second}
			in, err := s.checkAddresses(context.Background(), snap, []string{x})
			if err != nil {
				t.Fatal(err)
			}
			if got := slices.Contains(in.Taken, x); got != tt.taken || len(in.Taken) > 1 {
				t.Errorf("taken = %q, want %s taken: %v", in.Taken, x, tt.taken)
			}
			if got := slices.Contains(in.Undetermined, x); got != tt.undecided || len(in.Undetermined) > 1 {
				t.Errorf("undetermined = %q, want %s undetermined: %v", in.Undetermined, x, tt.undecided)
			}
			if u := in.Unfinished[x]; u.UserID != tt.unfinished || len(in.Unfinished) > 1 || tt.unfinished != "" && !strings.Contains(u.Run, "journal j1") {
				t.Errorf("unfinished = %+v, want %q", in.Unfinished, tt.unfinished)
			}
			if !slices.Equal(snap.Input.Taken, []string{"left@mana.test"}) || snap.Input.Unfinished != nil {
				t.Errorf("the snapshot changed: %+v", snap.Input)
			}
			if l.asked.Load() != 1 {
				t.Errorf("asked %d times, want once for every address", l.asked.Load())
			}
		})
	}
}

func TestCheckAddressesSortsAndAsksOnce(t *testing.T) {
	l := &ownersLive{owners: map[string]state.Owner{
		"persona.anna@mana.test": {Kind: state.AddressPersona},
		"person.bob@mana.test":   {Kind: state.AddressTaken},
		"person.cleo@mana.test":  {Kind: state.AddressTaken},
		"person.dan@mana.test":   {Kind: state.AddressUndetermined},
		"person.abe@mana.test":   {Kind: state.AddressUndetermined},
	}}
	s := &Session{Live: l}
	emails := []string{"persona.new@mana.test", "person.dan@mana.test", "person.bob@mana.test", "persona.anna@mana.test", "Person.Cleo@mana.test", "person.abe@mana.test"}
	in, err := s.checkAddresses(context.Background(), &Snapshot{}, emails)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Person.Cleo@mana.test", "person.bob@mana.test"}; !slices.Equal(in.Taken, want) {
		t.Errorf("taken = %q, want %q (sorted)", in.Taken, want)
	}
	if want := []string{"person.abe@mana.test", "person.dan@mana.test"}; !slices.Equal(in.Undetermined, want) {
		t.Errorf("undetermined = %q, want %q (sorted)", in.Undetermined, want)
	}
	if n := l.asked.Load(); n != 1 {
		t.Errorf("%d questions, want one for all addresses", n)
	}
	if _, err := s.checkAddresses(context.Background(), &Snapshot{}, nil); err != nil || l.asked.Load() != 1 {
		t.Errorf("no address: %v, %d questions; want none asked", err, l.asked.Load())
	}
}

// TestPlanChecksTheAddressesItCreates: an address a person holds, or one
// the check cannot tell, is the plan's error; a lookup that fails is the
// plan's failure, never a free address.
func TestPlanChecksTheAddressesItCreates(t *testing.T) {
	const x = "persona.x@mana.test"
	for _, tt := range []struct {
		name   string
		live   *ownersLive
		want   plan.Code // the plan's one error; "" for none
		failed string
	}{
		{"free", &ownersLive{}, "", ""},
		{"a person's", &ownersLive{owners: map[string]state.Owner{x: {Kind: state.AddressTaken}}}, plan.CodeAddressTaken, ""},
		{"undetermined", &ownersLive{owners: map[string]state.Owner{x: {Kind: state.AddressUndetermined}}}, plan.CodeAddressUndetermined, ""},
		{"the lookup failed", &ownersLive{fail: errors.New("connection reset")}, "", "connection reset"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := &Session{Live: tt.live}
			p, err := s.Plan(context.Background(), &Snapshot{Input: plan.Input{Desired: []catalog.Persona{persona(x)}}}, plan.Options{})
			if tt.failed != "" {
				if err == nil || !strings.Contains(err.Error(), tt.failed) || p != nil {
					t.Fatalf("plan = %v, %v; want the lookup's failure and no plan", p, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var codes []plan.Code
			for _, e := range p.Errors {
				codes = append(codes, e.Code)
			}
			if tt.want == "" && len(codes) > 0 || tt.want != "" && (len(codes) != 1 || codes[0] != tt.want) {
				t.Errorf("errors %v, want %q", codes, tt.want)
			}
		})
	}
}
