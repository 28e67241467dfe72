package state

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
)

type ownersOnly struct {
	owners   map[string]AddressOwner
	failing  map[string]bool
	inFlight atomic.Int32
	peak     atomic.Int32
}

func (o *ownersOnly) Personas(context.Context) ([]LivePersona, error) { return nil, nil }

func (o *ownersOnly) AddressOwner(_ context.Context, email string) (AddressOwner, error) {
	n := o.inFlight.Add(1)
	defer o.inFlight.Add(-1)
	for p := o.peak.Load(); n > p && !o.peak.CompareAndSwap(p, n); p = o.peak.Load() {
	}
	if o.failing[email] {
		return AddressFree, errors.New("500 after 4 tries")
	}
	return o.owners[email], nil
}

// TestHoldersAsksParallelismAtOnce: a live side that only tells owners is
// asked at most parallelism questions at once; every failed question is
// reported and its address left out.
func TestHoldersAsksParallelismAtOnce(t *testing.T) {
	live := &ownersOnly{
		owners:  map[string]AddressOwner{"z@mana.test": AddressTaken, "p@mana.test": AddressPersona},
		failing: map[string]bool{"e1@mana.test": true, "e2@mana.test": true},
	}
	emails := []string{"z@mana.test", "free@mana.test", "p@mana.test", "e1@mana.test", "e2@mana.test"}
	got, err := Holders(context.Background(), live, emails, 2)
	want := map[string]Holder{"z@mana.test": {Owner: AddressTaken}, "free@mana.test": {Owner: AddressFree}, "p@mana.test": {Owner: AddressPersona}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("holders = %v, want %v", got, want)
	}
	if err == nil || !strings.Contains(err.Error(), "e1@mana.test") || !strings.Contains(err.Error(), "e2@mana.test") {
		t.Errorf("err = %v; want both failed look-ups reported", err)
	}
	if p := live.peak.Load(); p > 2 {
		t.Errorf("%d look-ups in flight, want at most 2", p)
	}
}

// holders answers which user holds an address, as the admin API's reader
// does, and panics for one address, as a bug would.
type holders struct{ ownersOnly }

func (h *holders) AddressHolder(_ context.Context, email string) (Holder, error) {
	if email == "boom@mana.test" {
		panic("a bug while asking")
	}
	return Holder{Owner: h.owners[email], UserID: "id-" + email}, nil
}

// TestHolders: a live side that can name the user is asked for it; a
// panic while asking is an error for that address, not a crash.
func TestHolders(t *testing.T) {
	live := &holders{ownersOnly{owners: map[string]AddressOwner{"t@mana.test": AddressTaken, "u@mana.test": AddressUndetermined}}}
	got, err := Holders(context.Background(), live, []string{"t@mana.test", "u@mana.test", "boom@mana.test"}, 3)
	if got["t@mana.test"] != (Holder{Owner: AddressTaken, UserID: "id-t@mana.test"}) || got["u@mana.test"].Owner != AddressUndetermined {
		t.Errorf("holders = %+v", got)
	}
	var pe *PanicError
	if _, ok := got["boom@mana.test"]; ok || !errors.As(err, &pe) || !strings.Contains(err.Error(), "boom@mana.test") {
		t.Errorf("err = %v; want the panic reported for its address", err)
	}
}
