package main

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mana/personactl/manaauthdev"
	"github.com/mana/personactl/manaauthdev/devtest"
)

// The real upsert is three statements without a transaction (sign-up, the
// kind stamp, the persona row), and a killed run's upserts may finish after
// it died. The next apply must finish its own persona, and still refuse a
// person at the address.

// skewedE2E is a world whose mana-auth-dev clock runs the wall clock plus
// what the test stores in the returned offset: a person can sign up "an
// hour later" without waiting.
func skewedE2E(t *testing.T) (*e2e, *atomic.Int64) {
	t.Helper()
	var offset atomic.Int64
	return newE2E(t, devtest.WithNow(func() time.Time { return time.Now().Add(time.Duration(offset.Load())) })), &offset
}

// killApply kills p with SIGKILL and waits until it has ended.
func killApply(t *testing.T, p *proc) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.wait(t)
	if !p.killedBySignal() {
		t.Fatalf("the apply was not killed: %v\n%s", p.waitErr, p)
	}
}

// mustBePerson checks that the user at email is still a person: of kind
// human, without a persona row.
func (e *e2e) mustBePerson(email string) {
	e.t.Helper()
	ctx := context.Background()
	u, err := e.inst.Store.UserByEmail(ctx, email)
	if err != nil {
		e.t.Fatalf("the person at %s: %v", email, err)
	}
	if _, err := e.inst.Store.Persona(ctx, u.ID); u.Kind != manaauthdev.KindHuman || !errors.Is(err, manaauthdev.ErrNotFound) {
		e.t.Errorf("the person at %s was made a persona: kind %s, persona row: %v", email, u.Kind, err)
	}
}

// TestE2EKilledRunsCreateLandingAfterTheList: an apply is killed with a
// create in flight, which reaches mana-auth only after the next apply read
// the persona list and before it searched the users. That persona is the
// killed run's, not a person's: the next apply completes it. A person who
// signs up at the address at that moment, an hour after the killed run,
// is still refused.
func TestE2EKilledRunsCreateLandingAfterTheList(t *testing.T) {
	for _, late := range []string{"the killed run's create", "a person, outside the window"} {
		t.Run(late, func(t *testing.T) {
			e, offset := skewedE2E(t)
			bin := crashtestBinary(t)
			g := serveGated(t, e)
			// The fourth create (in address order) waits at the server's
			// door while the apply is killed.
			h := g.holdAfter("POST personas", 3)
			p := startProc(t, bin, nil, "apply", "--auto-approve", "--parallelism=1")
			waitFired(t, h, p)
			g.waitFor(t, "the fourth create to reach the server", func() bool { return g.started["POST personas"] == 4 })
			killApply(t, p)
			x := emailsOf(e.personas)[3]

			searched, _ := g.count("GET users")
			search := g.holdAfter("GET users", 0)
			rerun := startProc(t, bin, nil, "apply", "--auto-approve")
			g.waitFor(t, "the next apply to search the users (it has read the persona list)", func() bool { return g.started["GET users"] > searched })
			if late == "the killed run's create" {
				h.Release()
				g.waitFor(t, "the killed run's create to be carried out", func() bool { return g.finished["POST personas"] == 4 })
				if _, ok := e.live()[x]; !ok {
					t.Fatalf("the killed run's create of %s did not land", x)
				}
			} else {
				offset.Store(int64(time.Hour))
				e.inst.SignUpHuman(t, x, "a-persons-own-password", "Person")
			}
			search.Release()
			rerun.wait(t)

			if late == "the killed run's create" {
				if code := rerun.cmd.ProcessState.ExitCode(); code != 0 {
					t.Fatalf("the next apply exited %d; want the killed run's persona completed\n%s", code, rerun)
				}
				// The detail shows a persona there: nothing is left to
				// complete, and no note says otherwise.
				if strings.Contains(rerun.out.String(), "is not a persona") {
					t.Errorf("the next apply took the killed run's persona for a user who is not one\n%s", rerun)
				}
				e.mustConverge(e.personas, e.state)
				return
			}
			if code := rerun.cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(rerun.out.String(), x+" is taken by a Mana user who is not a persona") {
				t.Fatalf("the next apply exited %d; want 1, %s taken\n%s", code, x, rerun)
			}
			e.mustBePerson(x)
		})
	}
}

// TestE2EServiceStoppedBetweenSignUpAndStamp: mana-auth stops in the
// middle of an upsert, after the sign-up and before the stamp, and the
// apply is killed while it is down. The user left at the address was
// created inside that create's request window and never signed in: the
// next apply completes it as the persona, saying which run left it. A
// person at the address instead, who signed up an hour later or who has
// signed in, is still refused.
func TestE2EServiceStoppedBetweenSignUpAndStamp(t *testing.T) {
	for _, at := range []string{"the killed run's user", "a person, outside the window", "a person who signed in"} {
		t.Run(at, func(t *testing.T) {
			e, offset := skewedE2E(t)
			bin := crashtestBinary(t)
			x := emailsOf(e.personas)[3]
			stopped := e.faults().StopAfterSignUp(x)
			p := startProc(t, bin, nil, "apply", "--auto-approve", "--parallelism=1")
			select {
			case <-stopped:
			case <-p.exited:
				t.Fatalf("the apply ended before mana-auth stopped\n%s", p)
			case <-time.After(deadline):
				t.Fatalf("mana-auth did not stop within %s\n%s", deadline, p)
			}
			killApply(t, p)
			e.faults().Restart()
			open := openJournals(t, e.state)
			if len(open) != 1 {
				t.Fatalf("%d journal entries open after the kill, want 1", len(open))
			}
			half, err := e.inst.Store.UserByEmail(context.Background(), x)
			if err != nil {
				t.Fatalf("no user at %s after the stop: %v", x, err)
			}
			e.mustBePerson(x) // what the stop left looks like a person

			switch at {
			case "the killed run's user":
				r := e.must(0, "apply", "--auto-approve")
				note := x + ": user " + half.ID + " holds this address but is not a persona: the interrupted apply of "
				if !strings.Contains(r.out, note) || !strings.Contains(r.out, "(journal "+open[0].ID+")") {
					t.Errorf("the apply does not say it completes %s left by journal %s\n%s", x, open[0].ID, r)
				}
				e.mustConverge(e.personas, e.state)
				if id := e.live()[x].UserID; id != half.ID {
					t.Errorf("%s is persona %s, want the user the stop left (%s) completed", x, id, half.ID)
				}
				return
			case "a person, outside the window":
				if err := e.inst.Store.DeleteUser(context.Background(), half.ID); err != nil {
					t.Fatal(err)
				}
				offset.Store(int64(time.Hour))
				e.inst.SignUpHuman(t, x, "a-persons-own-password", "Person")
				r := e.must(1, "apply", "--auto-approve")
				if !strings.Contains(r.out, x+" is taken by a Mana user who is not a persona") {
					t.Errorf("the apply does not refuse the person at %s\n%s", x, r)
				}
			case "a person who signed in":
				if err := e.inst.Store.DeleteUser(context.Background(), half.ID); err != nil {
					t.Fatal(err)
				}
				e.inst.SignedInHuman(t, x, "Person")
				r := e.must(1, "apply", "--auto-approve")
				if !strings.Contains(r.out, x+": the users search cannot tell who holds this address") {
					t.Errorf("the apply does not refuse the person at %s\n%s", x, r)
				}
			}
			e.mustBePerson(x)
		})
	}
}
