package main

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/manaauthdev/devtest"
)

// kill is one SIGKILL of the campaign.
type kill struct {
	phase, backend string
	at             int
	parallelism    int
}

// killEvents bounds how many events each phase has in killScenario's
// apply (at most 4 at once), so that a seeded N always lands in it: every
// call is two events (its start and its return), and journal steps add
// more to write, rollback and delete.
var killEvents = map[string]int{
	"read":     2 * (3 + 9), // the state, its open journals, the live personas, 9 addresses
	"journal":  2,           // opening the journal entry
	"write":    2 * 13,      // 9 creates, 4 updates
	"rollback": 2 * 12,      // with --parallelism=1: delete 8 creates, restore 4 updates
	"delete":   2 * 3,       // 3 deletes
	"save":     2 * 2,       // the state, closing the journal entry
}

// killPlan chooses the campaign's kills: every phase on both backends, N
// and the parallelism drawn from the seed.
func killPlan(seed uint64, full bool) []kill {
	phases := []string{"read", "journal", "write", "rollback", "delete", "save"}
	rng := seeded(seed, 11)
	var out []kill
	for i := range 30 {
		k := kill{phase: phases[i%len(phases)], backend: []string{"file", "postgres"}[(i/len(phases))%2]}
		k.at = 1 + rng.IntN(killEvents[k.phase])
		k.parallelism = []int{1, 2, 4}[rng.IntN(3)]
		if k.phase == "rollback" {
			k.parallelism = 1 // every other write runs before the failing one
		}
		out = append(out, k)
	}
	if !full {
		// The fast subset: a kill among the writes, one in the rollback,
		// one while the state is saved to PostgreSQL.
		return []kill{out[2], out[3], out[11]}
	}
	return out
}

// killScenario is the apply every kill interrupts: from 12 applied
// personas to a catalog that deletes 3, updates 4 and creates 9, the
// last of which (by address) can be made to fail, for a rollback.
func killScenario(t *testing.T) (before, after []catalog.Persona, failing string) {
	before = campaignPersonas(t, "k", 12)
	after = append([]catalog.Persona{}, before[3:]...)
	for i := range 4 {
		p := after[i]
		mix := map[string]float64{"todo": 0.5, "notes": 0.5}
		p.ModuleMix, p.TickCadence = mix, "hourly"
		after[i] = p
	}
	after = append(after, campaignPersonas(t, "n", 8)...)
	z := campaignPersonas(t, "z", 1)
	after = append(after, z...)
	return before, after, z[0].Email
}

var sigkillLine = regexp.MustCompile(`crashtest: SIGKILL at (\w+):(\d+) \((.*)\)\n`)

// TestCampaignKills (issue 9, B.2): an apply is killed with SIGKILL at a
// seeded event of each phase (reading, opening the journal, writing,
// rolling back, deleting, saving the state), on the file and the
// PostgreSQL backend. After every kill the state parses and no lock is
// left; the next apply reports the interrupted run (when its journal was
// open) and converges: live is the catalog, one user per address, the
// state records live, no journal entry stays open. The fast subset kills
// three times; the full campaign thirty.
func TestCampaignKills(t *testing.T) {
	bin := crashtestBinary(t)
	kills := killPlan(campaignSeed(t), campaignFull())
	type outcome struct {
		kill
		event       string
		interrupted bool
		ok          bool
	}
	var results []outcome
	for i, k := range kills {
		t.Run(fmt.Sprintf("%02d-%s-%s-%d", i, k.phase, k.backend, k.at), func(t *testing.T) {
			o := outcome{kill: k}
			defer func() { results = append(results, o) }()
			before, after, failing := killScenario(t)
			e := newE2EWith(t, devtest.Start(t), before)
			if k.backend == "postgres" {
				e.state = devtest.FreshDatabase(t)
				t.Setenv("PERSONACTL_STATE", e.state)
			}
			g := serveGated(t, e)
			e.must(0, "apply", "--auto-approve")
			e.personas = after
			e.writeCatalog(after)
			if k.phase == "rollback" {
				e.faults().FailWritesFor(failing)
			}

			p := startProc(t, bin, []string{fmt.Sprintf("PERSONACTL_CRASHTEST_KILL=%s:%d", k.phase, k.at)},
				"apply", "--auto-approve", fmt.Sprintf("--parallelism=%d", k.parallelism))
			p.wait(t)
			m := sigkillLine.FindStringSubmatch(p.err.String())
			if !p.killedBySignal() || m == nil || m[1] != k.phase {
				t.Fatalf("the apply was not killed at %s:%d (%v)\n%s", k.phase, k.at, p.waitErr, p)
			}
			o.event = m[3]
			// The server finishes what the dead process had in flight.
			g.idle(t)
			e.faults().Reset()

			readState(t, e.state) // parses, or the test fails
			wait := time.Duration(0)
			if k.backend == "postgres" {
				// The dead process's database session ends a moment after it.
				wait = deadline
			}
			lockFree(t, e.state, wait)

			journalOpen := !(k.phase == "read" || k.phase == "journal" && k.at == 1)
			if n := len(openJournals(t, e.state)); journalOpen != (n == 1) {
				t.Errorf("%d journal entries open after a kill at %s (%s)", n, k.phase, o.event)
			}
			r := e.must(0, "apply", "--auto-approve")
			o.interrupted = strings.Contains(r.err, "interrupted")
			if o.interrupted != journalOpen {
				t.Errorf("the next apply reports an interrupted run: %v, want %v\n%s", o.interrupted, journalOpen, r)
			}
			e.mustConverge(after, e.state)
			if n := len(openJournals(t, e.state)); n != 0 {
				t.Errorf("%d journal entries still open after the converging apply", n)
			}
			e.must(0, "plan", "--detailed-exitcode")
			lockFree(t, e.state, 0)
			o.ok = !t.Failed()
		})
	}

	counts := map[string]map[string]int{}
	failed := 0
	for _, o := range results {
		if counts[o.phase] == nil {
			counts[o.phase] = map[string]int{}
		}
		counts[o.phase][o.backend]++
		if !o.ok {
			failed++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "kill campaign: %d SIGKILLs, %d not converged\n  %-9s %5s %9s\n", len(results), failed, "phase", "file", "postgres")
	phases := make([]string, 0, len(counts))
	for p := range counts {
		phases = append(phases, p)
	}
	sort.Strings(phases)
	for _, p := range phases {
		fmt.Fprintf(&b, "  %-9s %5d %9d\n", p, counts[p]["file"], counts[p]["postgres"])
	}
	for _, o := range results {
		fmt.Fprintf(&b, "  %s:%d on %s, --parallelism=%d: killed %s; next apply reported it interrupted: %v; converged: %v\n", o.phase, o.at, o.backend, o.parallelism, o.event, o.interrupted, o.ok)
	}
	t.Log(b.String())
}
