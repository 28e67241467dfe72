package reconcile

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mana/personactl/state"
)

// ownersLive answers who holds an address from a table; with bulk it also
// answers many addresses at once, as mana-auth's database does.
type ownersLive struct {
	owners      map[string]state.AddressOwner // lowercased address → owner
	single      atomic.Int32                  // AddressOwner calls
	bulkCalls   atomic.Int32                  // AddressHolders calls
	bulkFailure error
}

func (l *ownersLive) Personas(context.Context) ([]state.LivePersona, error) { return nil, nil }

func (l *ownersLive) AddressOwner(_ context.Context, email string) (state.AddressOwner, error) {
	l.single.Add(1)
	return l.owners[strings.ToLower(email)], nil
}

type bulkLive struct{ *ownersLive }

func (l bulkLive) AddressHolders(_ context.Context, emails []string) (map[string]state.Holder, error) {
	l.bulkCalls.Add(1)
	if l.bulkFailure != nil {
		return nil, l.bulkFailure
	}
	out := map[string]state.Holder{}
	for _, e := range emails {
		out[e] = state.Holder{Owner: l.owners[strings.ToLower(e)]}
	}
	return out, nil
}

func TestCheckAddresses(t *testing.T) {
	owners := map[string]state.AddressOwner{
		"persona.anna@mana.test": state.AddressPersona,
		"person.bob@mana.test":   state.AddressTaken,
		"person.cleo@mana.test":  state.AddressTaken,
	}
	emails := []string{"persona.new@mana.test", "Person.Cleo@mana.test", "persona.anna@mana.test", "person.bob@mana.test"}
	wantTaken := []string{"Person.Cleo@mana.test", "person.bob@mana.test"}
	for _, tt := range []struct {
		name       string
		bulk       bool
		wantSingle int32
		wantBulk   int32
	}{
		{"one question per address when live has no bulk lookup", false, int32(len(emails)), 0},
		{"one question for all addresses when live has one", true, 0, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := &ownersLive{owners: owners}
			s := &Session{Parallelism: 2, Live: l}
			if tt.bulk {
				s.Live = bulkLive{l}
			}
			if err := s.checkAddresses(context.Background(), emails); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(s.Input.Taken, wantTaken) {
				t.Errorf("taken = %q, want %q (the addresses people hold, sorted)", s.Input.Taken, wantTaken)
			}
			if got := l.single.Load(); got != tt.wantSingle {
				t.Errorf("%d single lookups, want %d", got, tt.wantSingle)
			}
			if got := l.bulkCalls.Load(); got != tt.wantBulk {
				t.Errorf("%d bulk lookups, want %d", got, tt.wantBulk)
			}
		})
	}

	t.Run("a failed bulk lookup is the plan's error, and marks nothing free", func(t *testing.T) {
		l := &ownersLive{owners: owners, bulkFailure: errors.New("connection reset")}
		s := &Session{Live: bulkLive{l}}
		s.Input.Taken = []string{"stale@mana.test"}
		err := s.checkAddresses(context.Background(), emails)
		if err == nil || !strings.Contains(err.Error(), "connection reset") {
			t.Fatalf("err = %v, want the lookup's failure", err)
		}
		if s.Input.Taken != nil {
			t.Errorf("taken = %q after a failed lookup, want none recorded", s.Input.Taken)
		}
		if l.single.Load() != 0 {
			t.Errorf("fell back to %d single lookups after the bulk one failed", l.single.Load())
		}
	})
}
