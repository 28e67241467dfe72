//go:build unix

package main

import (
	"bufio"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// interruptedLine is the one line an interrupted run ends with.
var interruptedLine = regexp.MustCompile(`(?m)^Interrupted: (\d+) of (\d+) changes made and recorded; run personactl apply again to finish, or personactl plan to review$`)

// checkInterrupted checks what every interrupted run must leave: exit 1,
// the one "Interrupted:" line saying how many of how many changes were
// made, no step reported as failed and nothing rolled back, the state
// recording exactly what is live, the journal closed, and a next apply
// that finishes the plan. It returns the number of changes made.
func checkInterrupted(t *testing.T, e *e2e, g *gate, p *proc, total int) int {
	t.Helper()
	p.wait(t)
	if code := p.cmd.ProcessState.ExitCode(); code != 1 {
		t.Fatalf("interrupted run: exit %d (%v), want 1\n%s", code, p.waitErr, p)
	}
	g.idle(t)
	m := interruptedLine.FindAllStringSubmatch(p.err.String(), -1)
	if len(m) != 1 || m[0][2] != strconv.Itoa(total) {
		t.Fatalf("want one line \"Interrupted: N of %d changes made and recorded; …\" on standard error\n%s", total, p)
	}
	all := p.out.String() + p.err.String()
	for _, bad := range []string{"rolled back", "failed", "context canceled", "not started", "Error:"} {
		if strings.Contains(all, bad) {
			t.Errorf("the interrupted run says %q: an interrupt is no failure\n%s", bad, p)
		}
	}
	live, st := e.live(), e.recorded()
	if len(st.Personas) != len(live) {
		t.Errorf("%d personas recorded but %d live: the state does not say what the run did", len(st.Personas), len(live))
	}
	for _, r := range st.Personas {
		if _, ok := live[r.Email]; !ok {
			t.Errorf("%s is recorded but not live", r.Email)
		}
	}
	if open := openJournals(t, e.state); len(open) != 0 {
		t.Errorf("%d journal entries left open by a run that stopped cleanly", len(open))
	}
	made, _ := strconv.Atoi(m[0][1])
	return made
}

// TestE2ESignalDuringApplyKeepsWhatItDid sends SIGINT, SIGTERM and SIGHUP to
// an apply while two creates are in flight: they finish and are recorded,
// no other starts, nothing is rolled back, and the run ends with the one
// "Interrupted:" line and exit 1; history shows it, and the next apply
// finishes the plan.
func TestE2ESignalDuringApplyKeepsWhatItDid(t *testing.T) {
	bin := buildPersonactl(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			e := newE2E(t)
			g := serveGated(t, e)
			h := g.holdAfter("POST personas", 3)
			p := startProc(t, bin, nil, "apply", "--auto-approve", "--parallelism=2")
			waitFired(t, h, p)
			g.waitFor(t, "both slots to hold a create", func() bool { return h.held == 2 })
			sent, _ := g.count("POST personas")
			if err := p.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if !p.err.waitFor(t, "Stopping: no new step starts", p.exited) {
				t.Fatalf("the apply ended without taking in the signal\n%s", p)
			}
			h.Release()
			made := checkInterrupted(t, e, g, p, len(e.personas))
			if started, _ := g.count("POST personas"); made != sent || started != sent {
				t.Errorf("%d creates sent before the signal, %d in all, %d made: the ones in flight must finish, and no other start", sent, started, made)
			}
			if r := e.must(0, "history"); !strings.Contains(r.out, "interrupted") {
				t.Errorf("history does not show the interrupted run\n%s", r)
			}
			r := e.must(0, "apply", "--auto-approve")
			if !strings.Contains(r.out, strconv.Itoa(len(e.personas)-made)+" created") {
				t.Errorf("the next apply does not finish the plan\n%s", r)
			}
			e.mustConverge(e.personas, e.state)
		})
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
	h := g.holdAfter("DELETE persona", 3)
	p := startProc(t, bin, nil, "destroy", "--auto-approve", "--parallelism=2")
	waitFired(t, h, p)
	g.waitFor(t, "both slots to hold a delete", func() bool { return h.held == 2 })
	// Personas, not requests: the client's transport may send an
	// idempotent DELETE again when its connection broke under load.
	sent := g.distinct("DELETE persona")
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if !p.err.waitFor(t, "Stopping: no new step starts", p.exited) {
		t.Fatalf("the destroy ended without taking in the interrupt\n%s", p)
	}
	h.Release()
	made := checkInterrupted(t, e, g, p, len(e.personas))
	if started := g.distinct("DELETE persona"); started != sent || made != sent {
		t.Errorf("deletes of %d personas had been sent when the interrupt came; %d were sent in all and %d reported made: the ones in flight must finish, and no other start", sent, started, made)
	}
	r := e.must(0, "drift")
	if strings.Contains(r.out, "deleted outside personactl") || strings.Contains(r.err, "interrupted") {
		t.Errorf("after the interrupted destroy, drift blames outsiders or an interrupted run:\n%s", r)
	}
}

// TestE2EBrokenStdoutStopsApplyCleanly: `personactl apply | head -1` — the
// reader of standard output goes away while creates are in flight. The
// process is not killed by SIGPIPE between a write and its journal step:
// it stops like on a signal, records what it did and says so on standard
// error.
func TestE2EBrokenStdoutStopsApplyCleanly(t *testing.T) {
	e := newE2E(t)
	bin := buildPersonactl(t)
	g := serveGated(t, e)
	h := g.holdAfter("POST personas", 2)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p := startProcTo(t, w, bin, nil, "apply", "--auto-approve", "--parallelism=2")
	w.Close()
	// head -1: read a line, then go.
	if _, err := bufio.NewReader(r).ReadString('\n'); err != nil {
		t.Fatalf("reading the first line: %v\n%s", err, p)
	}
	waitFired(t, h, p)
	g.waitFor(t, "both slots to hold a create", func() bool { return h.held == 2 })
	r.Close()
	// The two in flight finish and their progress meets the closed pipe;
	// the creates after them wait at the door until the run has stopped.
	next := g.holdAfter("POST personas", 2)
	h.Release()
	if !p.err.waitFor(t, "Stopping: no new step starts", p.exited) {
		t.Fatalf("the apply did not stop on the broken pipe\n%s", p)
	}
	next.Release()
	if p.killedBySignal() {
		t.Fatalf("killed by a signal (%v): SIGPIPE ended the apply mid-run\n%s", p.waitErr, p)
	}
	made := checkInterrupted(t, e, g, p, len(e.personas))
	if started, _ := g.count("POST personas"); made != started {
		t.Errorf("%d creates sent but %d recorded: a write the journal did not record", started, made)
	}
}

// TestE2ESecondSignalStopsAtOnce: a second signal ends the process at once,
// with steps still in flight; the journal stays open, and the next apply
// reports the run and converges.
func TestE2ESecondSignalStopsAtOnce(t *testing.T) {
	e := newE2E(t)
	bin := buildPersonactl(t)
	g := serveGated(t, e)
	h := g.holdAfter("POST personas", 2)
	p := startProc(t, bin, nil, "apply", "--auto-approve", "--parallelism=2")
	waitFired(t, h, p)
	g.waitFor(t, "both slots to hold a create", func() bool { return h.held == 2 })
	p.cmd.Process.Signal(os.Interrupt)
	if !p.err.waitFor(t, "Stopping: no new step starts", p.exited) {
		t.Fatalf("the apply ended without taking in the first interrupt\n%s", p)
	}
	p.cmd.Process.Signal(os.Interrupt)
	p.wait(t) // with both creates still held: it did not wait for them
	if p.cmd.ProcessState.Success() {
		t.Fatalf("a second interrupt ended the apply with success\n%s", p)
	}
	h.Release()
	g.idle(t)
	if open := openJournals(t, e.state); len(open) != 1 {
		t.Fatalf("%d journal entries open after a second interrupt, want the run's one", len(open))
	}
	r := e.must(0, "apply", "--auto-approve")
	if !strings.Contains(r.err, "interrupted") {
		t.Errorf("the next apply does not report the run stopped at once\n%s", r)
	}
	e.mustConverge(e.personas, e.state)
}

// TestE2EInterruptBeforeTheFirstWrite: an interrupt while the run still
// reads says nothing was changed, in one line, not a list of cancelled
// requests.
func TestE2EInterruptBeforeTheFirstWrite(t *testing.T) {
	e := newE2E(t)
	bin := buildPersonactl(t)
	g := serveGated(t, e)
	h := g.holdAfter("GET personas", 0)
	p := startProc(t, bin, nil, "apply", "--auto-approve")
	waitFired(t, h, p)
	g.waitFor(t, "the list to be held", func() bool { return h.held == 1 })
	p.cmd.Process.Signal(syscall.SIGTERM)
	if !p.err.waitFor(t, "Stopping: no new step starts", p.exited) {
		t.Fatalf("the apply ended without taking in the signal\n%s", p)
	}
	h.Release()
	p.wait(t)
	if code := p.cmd.ProcessState.ExitCode(); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, p)
	}
	if !strings.Contains(p.err.String(), "Interrupted: nothing was changed") || strings.Contains(p.err.String(), "context canceled") || strings.Contains(p.err.String(), "Error:") {
		t.Errorf("want the one line saying nothing was changed\n%s", p)
	}
	if started, _ := g.count("POST personas"); started != 0 || len(e.live()) != 0 {
		t.Errorf("%d creates sent after an interrupt during the reads", started)
	}
}
