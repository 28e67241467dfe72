package main

import (
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
