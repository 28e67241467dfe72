package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mana/personactl/state"
)

// rowDeletedByHand applies the catalog, then deletes the first persona's
// auth.personas row in the database, leaving its user (of kind persona),
// and returns the persona's address and recorded user id.
func rowDeletedByHand(t *testing.T, e *e2e) (email, id string) {
	t.Helper()
	e.applyAll()
	email = e.personas[0].Email
	p, ok := e.recorded().Find(email)
	if !ok {
		t.Fatalf("%s is not recorded", email)
	}
	if err := e.inst.Store.DeletePersonaRow(context.Background(), p.UserID); err != nil {
		t.Fatal(err)
	}
	return email, p.UserID
}

// TestE2EPersonaRowDeletedByHandIsRestored: the users search finds exactly
// the user personactl recorded for the address, so it is not a person: the
// plan creates the persona again (restoring it under the same user), where
// it used to block with "not a persona".
func TestE2EPersonaRowDeletedByHandIsRestored(t *testing.T) {
	e := newE2E(t)
	email, id := rowDeletedByHand(t, e)
	r := e.must(0, "plan")
	if !strings.Contains(r.out, "Plan: 1 to create") || strings.Contains(r.out+r.err, "not a persona") {
		t.Fatalf("the plan does not restore the persona\n%s", r)
	}
	e.must(0, "apply", "--auto-approve")
	if got := e.live()[email]; got.UserID != id {
		t.Errorf("%s restored as user %q, want the recorded %s", email, got.UserID, id)
	}
	e.must(0, "plan", "--detailed-exitcode")
}

// TestE2EPersonaRowDeletedAfterSigningInCannotBeTold: once the runner has
// signed in as the persona, the users search answers 500 for its address
// and cannot tell it from a person: the plan says exactly that and names
// the ways on, and --replace=EMAIL (which mana-auth refuses for anyone who
// is not a persona) restores it.
func TestE2EPersonaRowDeletedAfterSigningInCannotBeTold(t *testing.T) {
	e := newE2E(t)
	email := e.personas[0].Email
	e.applyAll()
	e.inst.SignIn(t, email, e.secret.Password(email))
	p, _ := e.recorded().Find(email)
	if err := e.inst.Store.DeletePersonaRow(context.Background(), p.UserID); err != nil {
		t.Fatal(err)
	}
	r := e.must(1, "plan")
	for _, want := range []string{email, "--live", "--replace=" + email} {
		if !strings.Contains(r.out+r.err, want) {
			t.Errorf("the plan's error lacks %q\n%s", want, r)
		}
	}
	if strings.Contains(r.out+r.err, "taken by a Mana user who is not a persona") {
		t.Errorf("the plan calls an undetermined address taken by a person\n%s", r)
	}
	e.must(0, "apply", "--auto-approve", "--replace="+email)
	if _, ok := e.live()[email]; !ok {
		t.Errorf("%s not live after apply --replace", email)
	}
	e.must(0, "plan", "--detailed-exitcode")
}

// failingWrites makes every state write fail, as a full disk or a crash
// between the deletes and the state write would leave it.
type failingWrites struct{ state.Backend }

func (b failingWrites) Lock(ctx context.Context, op string, timeout time.Duration) (state.Lock, error) {
	l, err := b.Backend.Lock(ctx, op, timeout)
	if err != nil {
		return nil, err
	}
	return failingLock{l}, nil
}

type failingLock struct{ state.Lock }

func (failingLock) Write(context.Context, *state.State) error {
	return errors.New("no space left on device")
}

// TestE2EDeletedByAnInterruptedDestroy: a destroy that deleted personas but
// could not record it leaves its journal open; the next plan says those
// personas were deleted by that run, not "outside personactl".
func TestE2EDeletedByAnInterruptedDestroy(t *testing.T) {
	e := newE2E(t)
	e.applyAll()
	testHooks.Backend = func(b state.Backend) state.Backend { return failingWrites{b} }
	r := e.must(1, "destroy", "--auto-approve")
	testHooks.Backend = nil
	if !strings.Contains(r.err, "no space left on device") {
		t.Fatalf("the destroy's state write did not fail\n%s", r)
	}
	r = e.must(0, "plan")
	if strings.Contains(r.out, "deleted outside personactl") || !strings.Contains(r.out, "interrupted destroy") {
		t.Errorf("the plan blames outsiders for the interrupted destroy's deletes\n%s", r)
	}
	e.must(0, "apply", "--auto-approve")
	e.must(0, "plan", "--detailed-exitcode")
}

// TestE2ETargetedRunLeavesInterruptedJournalsOpen: a run limited by
// --target converged only its targets, so an interrupted run's journal
// stays open, and the next plan still attributes its deletes to it.
func TestE2ETargetedRunLeavesInterruptedJournalsOpen(t *testing.T) {
	e := newE2E(t)
	e.applyAll()
	testHooks.Backend = func(b state.Backend) state.Backend { return failingWrites{b} }
	e.must(1, "destroy", "--auto-approve")
	testHooks.Backend = nil
	e.must(0, "apply", "--auto-approve", "--target="+e.personas[0].Email)
	r := e.must(0, "plan")
	if !strings.Contains(r.out, "interrupted destroy") || !strings.Contains(r.err, "interrupted") {
		t.Errorf("after a targeted apply the interrupted destroy is forgotten\n%s", r)
	}
	e.must(0, "apply", "--auto-approve")
	r = e.must(0, "plan", "--detailed-exitcode")
	if strings.Contains(r.err, "interrupted") {
		t.Errorf("the whole apply did not close the interrupted run's journal\n%s", r)
	}
}
