package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mana/personactl/manaauthdev/devtest"
)

// TestCampaignConcurrentApplies (issue 9, B.4): two applies start at once
// on one workspace, on the file and the PostgreSQL backend. Exactly one
// writes; the other is refused with a message naming the holder (its pid),
// or, given --lock-timeout, waits for the lock and then finds nothing to
// do. The writer's first create is held at the server until the other run
// has ended (or has started waiting), so the two runs overlap for sure.
func TestCampaignConcurrentApplies(t *testing.T) {
	bin := crashtestBinary(t)
	for _, backend := range []string{"file", "postgres"} {
		for _, wait := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/lock-timeout=%v", backend, wait), func(t *testing.T) {
				e := newE2E(t)
				if backend == "postgres" {
					e.state = devtest.FreshDatabase(t)
					t.Setenv("PERSONACTL_STATE", e.state)
				}
				g := serveGated(t, e)
				h := g.holdAfter("POST personas", 0)
				args := []string{"apply", "--auto-approve"}
				if wait {
					args = append(args, "--lock-timeout="+deadline.String())
				}
				var a, b *proc
				if !wait {
					a, b = startProc(t, bin, nil, args...), startProc(t, bin, nil, args...)
					// One of them holds the lock and waits at the server's
					// door; the other must end on its own, refused.
					var loser, winner *proc
					select {
					case <-a.exited:
						loser, winner = a, b
					case <-b.exited:
						loser, winner = b, a
					case <-time.After(deadline):
						t.Fatalf("neither run ended in %s while one held the lock\n%s\n%s", deadline, a, b)
					}
					h.Release()
					winner.wait(t)
					checkRefused(t, loser, winner)
					a, b = winner, loser
				} else {
					// The first holds the lock and waits at the server's
					// door; the second starts then, and must wait for it.
					a = startProc(t, bin, nil, args...)
					g.waitFor(t, "the first run's first create", func() bool { return g.started["POST personas"] > 0 })
					b = startProc(t, bin, nil, args...)
					h.Release()
					a.wait(t)
					b.wait(t)
					if code := b.cmd.ProcessState.ExitCode(); code != 0 || lastLine(b.out.String()) != "No changes." {
						t.Errorf("the waiting run: exit %d, want 0 and \"No changes.\"\n%s", code, b)
					}
				}
				if code := a.cmd.ProcessState.ExitCode(); code != 0 || !strings.Contains(a.out.String(), "Apply complete! Personas: 10 created") {
					t.Errorf("the run holding the lock: exit %d\n%s", code, a)
				}
				if started, _ := g.count("POST personas"); started != 10 {
					t.Errorf("%d creates sent; exactly one run may write its 10", started)
				}
				e.mustConverge(e.personas, e.state)
				if st := readState(t, e.state); st.Serial != 1 {
					t.Errorf("the state's serial is %d; exactly one run may write it", st.Serial)
				}
				lockFree(t, e.state, 0)
			})
		}
	}
}

// checkRefused checks that loser was refused the lock winner held, and
// named it.
func checkRefused(t *testing.T, loser, winner *proc) {
	t.Helper()
	if code := loser.cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("the refused run: exit %d, want 1\n%s", code, loser)
	}
	for _, want := range []string{"locked by", fmt.Sprintf("pid %d", winner.cmd.Process.Pid), "--lock-timeout"} {
		if !strings.Contains(loser.err.String(), want) {
			t.Errorf("the refusal does not say %q\n%s", want, loser)
		}
	}
}
