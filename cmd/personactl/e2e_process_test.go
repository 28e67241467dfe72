package main

import (
	"os"
	"strings"
	"syscall"
	"testing"
)

// buildPersonactl returns personactl built into a temporary directory, for
// tests that need a process of their own (to kill it): the crashtest build,
// which without its variables behaves as a normal one.
func buildPersonactl(t *testing.T) string {
	t.Helper()
	return crashtestBinary(t)
}

// TestE2EKilledApplyConverges kills an apply with SIGKILL in the middle of its
// creates: the next plan reports the interrupted run, and the next apply
// converges without duplicate users and closes the journal.
func TestE2EKilledApplyConverges(t *testing.T) {
	e := newE2E(t)
	bin := buildPersonactl(t)
	g := serveGated(t, e)
	// Once three creates have been answered, the next ones wait at the
	// server's door: the process is killed with creates in flight and
	// never sees them answered.
	h := g.holdAfter("POST personas", 3)

	p := startProc(t, bin, nil, "apply", "--auto-approve", "--parallelism=1")
	waitFired(t, h, p)
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.wait(t)
	if !p.killedBySignal() {
		t.Fatalf("the apply was not killed: %v\n%s", p.waitErr, p)
	}
	// The requests the dead process left in flight reach the server now,
	// as they would over a network; the recovery starts once the server
	// has carried them out.
	h.Release()
	g.idle(t)
	if tok := e.inst.AdminToken; strings.Contains(p.out.String()+p.err.String(), tok) {
		t.Fatal("the killed apply printed the admin JWT")
	}
	if n := len(e.live()); n < 3 || n > 4 {
		t.Fatalf("%d personas live after the kill; want the 3 answered, and at most the one in flight", n)
	}

	r := e.must(0, "plan")
	if !strings.Contains(r.err, "interrupted") {
		t.Errorf("plan does not report the killed apply\n%s", r)
	}
	r = e.must(0, "apply", "--auto-approve")
	if !strings.Contains(r.err, "interrupted") {
		t.Errorf("apply does not report the killed apply\n%s", r)
	}
	e.mustConverge(e.personas, e.state)
	for _, p := range e.personas {
		e.inst.SignIn(t, p.Email, e.secret.Password(p.Email))
	}
	if open := openJournals(t, e.state); len(open) != 0 {
		t.Errorf("journal entries still open: %d", len(open))
	}
	r = e.must(0, "plan", "--detailed-exitcode")
	if strings.Contains(r.err, "interrupted") {
		t.Errorf("plan still reports an interrupted run\n%s", r)
	}
}

// TestE2EInterruptedDestroyRecordsWhatItDid sends SIGINT to a destroy in the
// middle of its deletes: the deletes in flight finish, no other starts, the
// state records exactly what is gone, and the run ends cleanly with exit 1.
func TestE2EInterruptedDestroyRecordsWhatItDid(t *testing.T) {
	e := newE2E(t)
	e.applyAll()
	bin := buildPersonactl(t)
	g := serveGated(t, e)
	const parallelism = 2
	// Once three deletes have been answered, the next ones wait at the
	// server's door. The interrupt is sent when both of the run's slots
	// hold such a delete: they are the steps in flight, which must
	// finish, and no other can have started.
	h := g.holdAfter("DELETE persona", 3)

	p := startProc(t, bin, nil, "destroy", "--auto-approve", "--parallelism=2")
	waitFired(t, h, p)
	g.waitFor(t, "both slots to hold a delete", func() bool { return h.held == parallelism })
	// Personas, not requests: the client's transport may send an
	// idempotent DELETE again when its connection broke under load.
	sent := g.distinct("DELETE persona")
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if !p.err.waitFor(t, "Interrupted: no new step starts", p.exited) {
		t.Fatalf("the destroy ended without taking in the interrupt\n%s", p)
	}
	h.Release()
	err := p.wait(t)
	if code := p.cmd.ProcessState.ExitCode(); code != 1 {
		t.Fatalf("interrupted destroy: %v, want exit 1\n%s", err, p)
	}
	if !strings.Contains(p.err.String(), "not started") {
		t.Errorf("the interruption does not say which steps did not start\n%s", p)
	}
	g.idle(t)
	started := g.distinct("DELETE persona")
	if started != sent {
		t.Errorf("deletes of %d personas had been sent when the interrupt came, of %d in all: the ones in flight must finish, and no other start", sent, started)
	}
	live := e.live()
	if len(live) == 0 {
		t.Fatal("the interrupt came too late: everything was deleted")
	}
	if len(live) != len(e.personas)-started {
		t.Errorf("%d live after %d deletes of %d personas", len(live), started, len(e.personas))
	}
	st := e.recorded()
	if len(st.Personas) != len(live) {
		t.Errorf("%d personas recorded but %d live: the state does not say what the destroy did", len(st.Personas), len(live))
	}
	for _, p := range st.Personas {
		if _, ok := live[p.Email]; !ok {
			t.Errorf("%s is recorded but was deleted", p.Email)
		}
	}
	r := e.must(0, "drift")
	if strings.Contains(r.out, "deleted outside personactl") || strings.Contains(r.err, "interrupted") {
		t.Errorf("after the interrupted destroy, drift blames outsiders or an interrupted run:\n%s", r)
	}
}
