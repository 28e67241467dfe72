package main

// The model-based test of the loop: random histories of catalog edits,
// hand edits on the server, and runs of personactl under faults, each
// step followed by the checks that must always hold (world.check), and
// every history by a final clean apply after which live is the catalog
// and plan says "No changes." (world.finish).
//
// The histories come from pgregory.net/rapid, for its shrinking: a failing
// history of twenty steps under faults is cut down to the few steps that
// still fail, which is what a regression test (model_regress_test.go)
// keeps. `make test` runs a few histories per state backend;
// `make reliability` runs PERSONACTL_MODEL_HISTORIES of them per backend
// and prints how often each step and fault fired.

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/mana/personactl/manaauthdev"
	"github.com/mana/personactl/manaauthdev/devtest"
)

// modelStep is one step of a history. What it acts on is picked by A and
// B modulo what the world holds when it runs, so that every sequence of
// steps is a history (a shrunk one too) and a regression test can write
// one down as it was printed.
type modelStep struct {
	Kind string
	A, B int
}

func (s modelStep) GoString() string { return fmt.Sprintf("{%q, %d, %d}", s.Kind, s.A, s.B) }

// The kinds of step. Runs take a fault mode (world.faults) from one of A
// or B and their parallelism from the other.
var modelKinds = []string{
	// The catalog: a new persona; one dropped; a value changed (B: which);
	// a persona moved to a new address (B even) or renamed (B odd).
	"add", "drop", "change", "rename",
	// What the operator does when apply refuses an address a person
	// holds: every such persona of the catalog moves to a new address.
	"unblock",
	// By hand on the server: a persona's values edited (B: which), its
	// persona row deleted, its user deleted; a person signs up at a
	// catalog address no user has (one added to the catalog when there is
	// none; B%4 = 3: and signs in, so that the users search answers 500
	// for it).
	"edit", "delete-row", "delete-user", "person",
	// Runs: apply under faults; plan (writes nothing); plan --out (A odd:
	// --destroy) saved for later; a saved plan applied late (B: which);
	// apply --target (B odd: in upper case); apply --replace; a saved
	// destroy plan (B even) or destroy --target; two applies at once (B
	// odd: with --lock-timeout, so that one waits for the other); an apply
	// whose lock is lost.
	"apply", "apply", "plan", "save-plan", "apply-saved", "target", "replace", "destroy", "concurrent", "lock-loss",
}

// killKind is the step of the histories with kills: an apply in a process
// of its own, killed with SIGKILL at event B+1 of a phase (A).
const killKind = "kill"

var killPhasesModel = []string{"write", "read", "journal", "rollback", "delete", "save"}

// modelHistory draws a history of at most max steps; with kills, about a
// sixth of its steps are kills.
func modelHistory(kills bool, max int) *rapid.Generator[[]modelStep] {
	kinds := modelKinds
	if kills {
		kinds = append(slices.Clone(kinds), killKind, killKind, killKind, killKind)
	}
	step := rapid.Custom(func(t *rapid.T) modelStep {
		return modelStep{rapid.SampledFrom(kinds).Draw(t, "kind"), rapid.IntRange(0, 15).Draw(t, "a"), rapid.IntRange(0, 15).Draw(t, "b")}
	})
	return rapid.SliceOfN(step, 1, max)
}

// TestModelHistories runs random histories on the file and the PostgreSQL
// state backends; a share of them (an eighth) kill real processes. The
// fast subset runs 2 histories of at most 8 steps per backend; the full
// campaign PERSONACTL_MODEL_HISTORIES (default 1,000) of at most 24 per
// backend, in 3 shards at once (each with a database of its own).
func TestModelHistories(t *testing.T) {
	histories, maxSteps, shards := 2, 8, 1
	if campaignFull() {
		histories, maxSteps, shards = 1000, 24, 3
	}
	if s := os.Getenv("PERSONACTL_MODEL_HISTORIES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("PERSONACTL_MODEL_HISTORIES=%q: want a positive number of histories per backend", s)
		}
		histories = n
	}
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "rapid.checks" })
	if !explicit {
		flag.Set("rapid.checks", strconv.Itoa((histories+shards-1)/shards))
	}
	setModelEnv(t)
	for _, backend := range []string{"file", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel() // the backends' histories share no state
			stats, start := newModelStats(), time.Now()
			t.Cleanup(func() { // once every shard has ended
				t.Log(stats.report(backend, time.Since(start)))
				if !explicit && stats.histories < histories && !t.Failed() {
					t.Errorf("%d histories ran, want %d: the time ran out", stats.histories, histories)
				}
			})
			for i := range shards {
				t.Run(fmt.Sprint(i), func(t *testing.T) {
					t.Parallel()
					s := newModelSuite(t, backend, stats, true)
					rapid.Check(t, func(rt *rapid.T) {
						kills := s.bin != "" && rapid.IntRange(0, 7).Draw(rt, "kill share") == 7
						runHistory(rt, s, modelHistory(kills, maxSteps).Draw(rt, "history"))
						if n := stats.done(); n%100 == 0 {
							t.Logf("%s: %d histories in %s", backend, n, time.Since(start).Round(time.Second))
						}
					})
				})
			}
		})
	}
}

// setModelEnv sets what every run reads from the environment: the admin
// token every history's mana-auth-dev accepts, and the seed secret.
func setModelEnv(t *testing.T) {
	t.Setenv("MANA_ADMIN_JWT", manaauthdev.SignToken(manaauthdev.TokenClaims(manaauthdev.NewID(), "admin@mana-auth-dev.test", manaauthdev.RoleAdmin, time.Now(), 24*time.Hour)))
	t.Setenv("PERSONA_SEED_SECRET", testSecret)
	t.Setenv("NO_COLOR", "1")
	t.Setenv("NODE_ENV", "")
}

// newModelSuite prepares histories of one backend, counted in stats: with
// kills, the crashtest build (not with -short); for PostgreSQL, a database
// whose workspaces hold the histories' states.
func newModelSuite(t *testing.T, backend string, stats *modelStats, kills bool) *modelSuite {
	t.Helper()
	s := &modelSuite{backend: backend, templates: loadReal(t), stats: stats}
	s.token = os.Getenv("MANA_ADMIN_JWT")
	if backend == "postgres" {
		s.dsn = devtest.FreshDatabase(t)
	}
	if kills && !testing.Short() {
		s.bin = crashtestBinary(t)
	}
	return s
}

// runHistory plays steps in a new world, checking after each, then
// applies the catalog cleanly and checks that the world converged.
func runHistory(t modelTB, s *modelSuite, steps []modelStep) {
	t.Helper()
	w := newWorld(t, s)
	s.stats.history(steps)
	for i, st := range steps {
		w.at = fmt.Sprintf("step %d %#v", i+1, st)
		start := time.Now()
		w.do(st)
		s.stats.took(st.Kind, time.Since(start))
	}
	start := time.Now()
	w.finish()
	s.stats.took(finalKind, time.Since(start))
	w.obs.mu.Lock()
	s.stats.answers(w.obs.answers)
	w.obs.mu.Unlock()
}

// do plays one step and checks the world after it.
func (w *world) do(st modelStep) {
	w.t.Helper()
	ran := !slices.Contains([]string{"add", "drop", "change", "rename", "unblock", "edit", "delete-row", "delete-user", "person"}, st.Kind)
	var before map[string]bool
	if ran {
		before = w.entryIDs()
	}
	w.obs.take()
	wait := time.Duration(0)
	readOnly := false
	switch st.Kind {
	case "add":
		w.desired = append(w.desired, w.newPersona(st.A))
		w.writeCatalog()
	case "drop":
		if len(w.desired) > 1 { // a catalog holds at least one persona
			w.desired = slices.Delete(w.desired, st.A%len(w.desired), st.A%len(w.desired)+1)
			w.writeCatalog()
		}
	case "change":
		p := &w.desired[st.A%len(w.desired)]
		switch st.B % 4 {
		case 0:
			p.SystemPrompt += " Heute ist alles anders."
		case 1:
			p.TickCadence = map[string]string{"daily": "hourly", "hourly": "weekdays"}[p.TickCadence]
			if p.TickCadence == "" {
				p.TickCadence = "daily"
			}
		case 2:
			p.ModuleMix = map[string]float64{"todo": 0.5, "notes": 0.5}
		default:
			p.Archetype += "-x"
		}
		w.writeCatalog()
	case "rename":
		p := &w.desired[st.A%len(w.desired)]
		w.fresh++
		if st.B%2 == 0 {
			p.Email = fmt.Sprintf("persona.m%d@mana.test", w.fresh)
		} else {
			p.Name = fmt.Sprintf("%s r%d", p.Name, w.fresh)
		}
		w.writeCatalog()
	case "unblock":
		blocked := w.blocked()
		for i, p := range w.desired {
			if blocked[strings.ToLower(p.Email)] {
				w.fresh++
				w.desired[i].Email = fmt.Sprintf("persona.m%d@mana.test", w.fresh)
			}
		}
		w.writeCatalog()
	case "edit", "delete-row", "delete-user":
		w.handEdit(st)
	case "person":
		free := w.freeAddresses()
		if len(free) == 0 {
			w.desired = append(w.desired, w.newPersona(st.A))
			w.writeCatalog()
			free = w.freeAddresses()
		}
		w.signUp(free[st.A%len(free)], st.B%4 == 3)
	case "plan":
		readOnly = true
		w.expect(st, w.personactl("plan"), 0, 1)
	case "apply":
		w.faults(st.B, st.A)
		w.expect(st, w.personactl("apply", "--auto-approve", parallelism(st.A)), 0, 1)
	case "save-plan":
		readOnly = true
		out := filepath.Join(w.dir, fmt.Sprintf("saved-%d.plan", len(w.saved)+1))
		args := []string{"plan", "--out=" + out}
		if st.A%2 == 1 {
			args = append(args, "--destroy")
		}
		if r := w.personactl(args...); w.expect(st, r, 0, 1) == 0 {
			w.saved = append(w.saved, out)
		}
	case "apply-saved":
		if len(w.saved) > 0 {
			w.faults(st.A, st.B)
			r := w.personactl("apply", w.saved[len(w.saved)-1-st.B%len(w.saved)], parallelism(st.B))
			w.expect(st, r, 0, 1)
		}
	case "target":
		target := w.pick(st.A)
		if st.B%2 == 1 {
			target = strings.ToUpper(target)
		}
		w.expect(st, w.personactl("apply", "--auto-approve", "--target="+target), 0, 1)
	case "replace":
		if live := w.liveAddresses(); len(live) > 0 {
			w.faults(st.B, st.A)
			w.expect(st, w.personactl("apply", "--auto-approve", "--replace="+live[st.A%len(live)], parallelism(st.A)), 0, 1)
		}
	case "destroy":
		if st.B%2 == 0 {
			out := filepath.Join(w.dir, "destroy.plan")
			if w.expect(st, w.personactl("plan", "--destroy", "--out="+out), 0, 1) == 0 {
				w.expect(st, w.personactl("apply", out), 0, 1)
			}
			os.Remove(out)
		} else {
			w.expect(st, w.personactl("destroy", "--auto-approve", "--target="+w.pick(st.A)), 0, 1)
		}
	case "concurrent":
		w.concurrent(st)
	case "lock-loss":
		w.lockLoss(st)
	case killKind:
		wait = w.kill(st)
	default:
		w.t.Fatalf("%s: no step is called %q", w.at, st.Kind)
	}
	w.srv.Faults().Reset()
	if err := w.obs.waitIdle(); err != nil {
		w.t.Fatalf("%s: %v", w.at, err)
	}
	writes := w.obs.take()
	if readOnly && len(writes) > 0 {
		w.broken("plan writes nothing", "%d writes were sent, the first %s", len(writes), writes[0])
	}
	w.check(ran, before, writes, wait)
}

// parallelism is a run's --parallelism, 1 to 4.
func parallelism(n int) string { return fmt.Sprintf("--parallelism=%d", 1+n%4) }

// freeAddresses returns the catalog's addresses that no user has, sorted.
func (w *world) freeAddresses() []string {
	var out []string
	for _, p := range w.desired {
		if _, err := w.store.UserByEmail(context.Background(), strings.ToLower(p.Email)); err != nil {
			out = append(out, strings.ToLower(p.Email))
		}
	}
	sort.Strings(out)
	return out
}

// pick returns an address of the catalog or of a live persona.
func (w *world) pick(n int) string {
	set := map[string]bool{}
	for _, p := range w.desired {
		set[strings.ToLower(p.Email)] = true
	}
	for _, a := range w.liveAddresses() {
		set[a] = true
	}
	all := make([]string, 0, len(set))
	for a := range set {
		all = append(all, a)
	}
	sort.Strings(all)
	return all[n%len(all)]
}

// faults switches on the faults of mode (0 none, 1 a quarter of the admin
// API's answers 503, 2 a sixth of them lost after the write, 3 both and
// connection resets, 4 every write of one catalog address fails), drawn
// from seed.
func (w *world) faults(mode, seed int) {
	f := w.srv.Faults()
	f.Seed(uint64(seed) + 1)
	switch mode % 5 {
	case 1:
		f.SetErrorRate(0.25, 503)
	case 2:
		f.SetLostAnswerRate(0.15)
	case 3:
		f.SetErrorRate(0.15, 503)
		f.SetLostAnswerRate(0.10)
		f.SetResetRate(0.05)
	case 4:
		f.FailWritesFor(w.desired[seed%len(w.desired)].Email)
	}
}

// expect checks that a run ended with one of the codes, without a stack
// trace, and counts its outcome; it returns the code.
func (w *world) expect(st modelStep, r result, codes ...int) int {
	w.t.Helper()
	w.noToken(r)
	if !slices.Contains(codes, r.code) || strings.Contains(r.err, "goroutine ") {
		w.broken("a run ends with exit 0 or 1, never a crash", "exit %d, want one of %v\n%s", r.code, codes, r)
	}
	if strings.Contains(r.err, "locked by") && st.Kind != "concurrent" {
		w.broken("a run is refused the lock only while another holds it", "refused the state lock, which no other run holds\n%s", r)
	}
	w.s.stats.outcome(st.Kind+": "+runOutcome(r), r)
	return r.code
}

// runOutcome names how a run ended, for the figures.
func runOutcome(r result) string {
	if r.code == 0 {
		return "exit 0"
	}
	for _, o := range []struct{ says, is string }{
		{"rollback incomplete", "rollback incomplete"},
		{"rolled back: every persona", "failed, rolled back"},
		{"stopped at once", "halted (lock lost), journal left open"},
		{"was lost", "halted (lock lost), journal left open"},
		{"saved plan is stale", "refused: the saved plan is stale"},
		{"locked by", "refused: the other run held the lock"},
		{"the plan has errors", "refused: the plan has errors (an address taken)"},
	} {
		if strings.Contains(r.err, o.says) {
			return "exit 1, " + o.is
		}
	}
	return "exit 1, other"
}

// handEdit changes a live persona behind personactl's back.
func (w *world) handEdit(st modelStep) {
	w.t.Helper()
	live := w.live()
	addresses := w.liveAddresses()
	if len(addresses) == 0 {
		return
	}
	id := live[addresses[st.A%len(addresses)]].UserID
	ctx := context.Background()
	var err error
	switch st.Kind {
	case "edit":
		var e manaauthdev.PersonaEdit
		switch prompt, cadence, name := "edited by hand", "hourly", "Renamed by hand"; st.B % 3 {
		case 0:
			e.SystemPrompt = &prompt
		case 1:
			e.TickCadence = &cadence
		default:
			e.Name = &name
		}
		err = w.store.EditPersona(ctx, id, e)
	case "delete-row":
		err = w.store.DeletePersonaRow(ctx, id)
	case "delete-user":
		err = w.store.DeleteUser(ctx, id)
	}
	if err != nil {
		w.t.Fatalf("%s: %v", w.at, err)
	}
}

// concurrent runs two applies at once; one holds the lock, the other is
// refused (or, odd B, waits for it and then applies what is left).
func (w *world) concurrent(st modelStep) {
	w.t.Helper()
	args := []string{"apply", "--auto-approve", parallelism(st.A)}
	if st.B%2 == 1 {
		args = append(args, "--lock-timeout="+deadline.String())
	}
	var wg sync.WaitGroup
	var rs [2]result
	for i := range rs {
		wg.Go(func() { rs[i] = w.personactl(args...) })
	}
	wg.Wait()
	for _, r := range rs {
		w.expect(st, r, 0, 1)
	}
}

// lockLoss applies while the state lock is taken away once A%3+1 write
// requests have been answered (before the run has the last answer).
func (w *world) lockLoss(st modelStep) {
	w.t.Helper()
	var err error // set on the server's goroutine, read once the run is over
	w.obs.loseAfter(1+st.A%3, func() {
		w.s.stats.fault("state lock lost")
		err = w.loseLock()
	})
	r := w.personactl("apply", "--auto-approve", parallelism(st.B))
	w.obs.loseAfter(0, nil)
	if err != nil {
		w.t.Fatalf("%s: taking the lock away: %v", w.at, err)
	}
	w.expect(st, r, 0, 1)
}

// kill runs an apply in a process of its own, killed at event B+1 of
// phase A; it returns how long the state lock may take to come free.
func (w *world) kill(st modelStep) time.Duration {
	w.t.Helper()
	if w.s.bin == "" {
		return 0
	}
	phase := killPhasesModel[st.A%len(killPhasesModel)]
	if phase == "rollback" {
		w.srv.Faults().FailWritesFor(w.desired[st.B%len(w.desired)].Email)
	}
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, w.s.bin, append([]string{"apply", "--auto-approve", parallelism(st.A)}, w.flags()...)...)
	cmd.Env = append(os.Environ(), fmt.Sprintf("PERSONACTL_CRASHTEST_KILL=%s:%d", phase, 1+st.B))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{cmd.ProcessState.ExitCode(), out.String(), errb.String()}
	if !cmd.ProcessState.Exited() && sigkillLine.MatchString(r.err) {
		w.s.stats.fault("process killed at " + phase)
		w.s.stats.outcome("kill: killed", r)
		return deadline // a dead process's database session ends a moment after it
	}
	if ctx.Err() != nil {
		w.t.Fatalf("%s: the apply did not end within %s: %v\n%s", w.at, deadline, err, r)
	}
	w.expect(st, r, 0, 1) // it ended before the event
	return 0
}

// finish applies the catalog without faults, as an operator would after
// the history: the addresses a person holds are taken out of the catalog,
// and a persona whose name differs live is replaced, as the plan advises
// (a second apply, for one whose persona row the first restored). Then
// live is the catalog, the state records it, and plan says "No changes.".
func (w *world) finish() {
	w.t.Helper()
	w.at = "the final apply"
	blocked := w.blocked()
	kept := w.desired[:0:0]
	for _, p := range w.desired {
		if !blocked[strings.ToLower(p.Email)] {
			kept = append(kept, p)
		}
	}
	if len(kept) == 0 {
		kept = append(kept, w.newPersona(0))
	}
	w.desired = kept
	w.writeCatalog()
	for i, args := 0, []string{"apply", "--auto-approve", "--prune"}; i < 2; i, args = i+1, []string{"apply", "--auto-approve"} {
		live := w.live()
		for _, p := range w.desired {
			if l, ok := live[strings.ToLower(p.Email)]; ok && l.Name != p.Name {
				args = append(args, "--replace="+p.Email)
			}
		}
		if i == 1 && len(args) == 2 {
			break
		}
		before := w.entryIDs()
		w.obs.take()
		r := w.personactl(args...)
		w.noToken(r)
		if err := w.obs.waitIdle(); err != nil {
			w.t.Fatalf("%s: %v", w.at, err)
		}
		w.check(true, before, w.obs.take(), 0)
		if r.code != 0 {
			w.broken("a clean apply after any history succeeds", "exit %d\n%s", r.code, r)
		}
	}
	w.converged()
	w.at = "the plan after the final apply"
	if r := w.personactl("plan", "--detailed-exitcode"); r.code != 0 || lastLine(r.out) != "No changes." {
		w.broken("after a clean apply plan says \"No changes.\"", "exit %d, last line %q\n%s", r.code, lastLine(r.out), r)
	}
}

// finalKind names the final applies, plan and checks of each history in
// the figures.
const finalKind = "(the final apply, plan and checks)"

// modelStats counts what the histories of one backend did.
type modelStats struct {
	mu                   sync.Mutex
	histories, withKills int
	passed               int
	steps                int
	kinds                map[string]int
	faults               map[string]int
	outcomes             map[string]int
	others               []string
	time                 map[string]time.Duration
}

func newModelStats() *modelStats {
	return &modelStats{kinds: map[string]int{}, faults: map[string]int{}, outcomes: map[string]int{}, time: map[string]time.Duration{}}
}

func (m *modelStats) history(steps []modelStep) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.histories++
	m.kinds[finalKind]++
	m.steps += len(steps)
	kill := false
	for _, s := range steps {
		m.kinds[s.Kind]++
		kill = kill || s.Kind == killKind
	}
	if kill {
		m.withKills++
	}
}

// done counts a history that passed, and returns how many did.
func (m *modelStats) done() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.passed++
	return m.passed
}

func (m *modelStats) fault(what string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.faults[what]++
}

func (m *modelStats) answers(counts map[string]int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, v := range counts {
		m.faults[k] += v
	}
}

// outcome counts how a run ended; the first few unclassified failures
// are kept, to be shown.
func (m *modelStats) outcome(what string, r result) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.outcomes[what]++
	if strings.HasSuffix(what, "other") && len(m.others) < 5 {
		m.others = append(m.others, lastLine(r.err))
	}
}

// took adds the time a step of kind took.
func (m *modelStats) took(kind string, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.time[kind] += d
}

// report is the figures of the run, as the guarantees document shows them.
func (m *modelStats) report(backend string, took time.Duration) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "model campaign on the %s backend: %d histories (%d with kills), %d steps, %s\n", backend, m.histories, m.withKills, m.steps, took.Round(time.Second))
	table := func(title string, counts map[string]int) {
		fmt.Fprintf(&b, "  %s:\n", title)
		keys := make([]string, 0, len(counts))
		for k := range counts {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "    %-52s %7d\n", k, counts[k])
		}
	}
	fmt.Fprintf(&b, "  steps by kind (and the time they took):\n")
	kinds := make([]string, 0, len(m.kinds))
	for k := range m.kinds {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		fmt.Fprintf(&b, "    %-52s %7d %8s\n", k, m.kinds[k], m.time[k].Round(time.Second))
	}
	table("faults that fired", m.faults)
	table("how the runs ended", m.outcomes)
	for _, o := range m.others {
		fmt.Fprintf(&b, "    other: %s\n", o)
	}
	return b.String()
}
