package main

// The reliability campaign's tools: a handler in front of mana-auth-dev that
// counts requests and holds them at a chosen point, output buffers a test
// can wait on, the crashtest build of personactl, and the checks that a
// world has converged. `make campaign` runs a fast subset of the campaign
// (make test skips it: the end-to-end tests cover the same faults once);
// `make reliability` (PERSONACTL_CAMPAIGN=full) runs all of it and prints
// its figures.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mana/personactl/apply/connect"
	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/manaauthdev"
	"github.com/mana/personactl/state"
	"github.com/mana/personactl/state/file"
	"github.com/mana/personactl/state/postgres"
)

// campaignFull reports whether the whole campaign runs (make reliability)
// rather than its fast subset.
func campaignFull() bool { return os.Getenv("PERSONACTL_CAMPAIGN") == "full" }

// campaignSeed is the seed the campaign's random choices start from:
// PERSONACTL_CAMPAIGN_SEED, or 1.
func campaignSeed(t *testing.T) uint64 {
	t.Helper()
	s := os.Getenv("PERSONACTL_CAMPAIGN_SEED")
	if s == "" {
		return 1
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("PERSONACTL_CAMPAIGN_SEED=%q is not a number", s)
	}
	return n
}

func seeded(seed, stream uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, stream)) }

// deadline bounds every wait of a campaign test: generous, for a loaded
// machine, and only there to turn a hang into a failure.
const deadline = 2 * time.Minute

// campaignPersonas returns n valid personas, shaped like the real
// catalog's, with addresses persona.c<prefix><i>@mana.test.
func campaignPersonas(t *testing.T, prefix string, n int) []catalog.Persona {
	t.Helper()
	real := loadReal(t)
	out := make([]catalog.Persona, n)
	for i := range out {
		p := real[i%len(real)]
		mix := make(map[string]float64, len(p.ModuleMix))
		for k, v := range p.ModuleMix {
			mix[k] = v
		}
		p.ModuleMix = mix
		p.Name = fmt.Sprintf("%s %s%03d", p.Name, prefix, i)
		p.Email = fmt.Sprintf("persona.c%s%03d@mana.test", prefix, i)
		out[i] = p
	}
	return out
}

// gate stands in front of mana-auth-dev's handler: it counts the requests
// it passes by kind ("POST personas", "DELETE persona", "GET persona", …),
// and the ones in flight, and can hold the requests of a kind once a
// number of them finished, until the test lets them through. Tests wait on
// its counts instead of on time.
type gate struct {
	next http.Handler

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every change
	inflight int
	started  map[string]int
	finished map[string]int
	// targets are the distinct paths requested per kind: a request the
	// client's transport sent again (an idempotent one on a connection
	// that broke) is one step, not two.
	targets map[string]map[string]bool
	holds   []*hold
}

// hold stops the requests of one kind once after of them have finished.
type hold struct {
	key     string
	after   int
	fired   chan struct{} // closed when the after-th request finished
	release chan struct{}
	once    sync.Once
	isFired bool
	held    int // requests that waited on it
}

// Release lets the held requests, and every later one, through.
func (h *hold) Release() { h.once.Do(func() { close(h.release) }) }

// serveGated serves e's mana-auth-dev through a gate on a server of its
// own, and points personactl (MANA_AUTH_URL) at it.
func serveGated(t *testing.T, e *e2e) *gate {
	t.Helper()
	g := &gate{next: e.inst.Server, changed: make(chan struct{}), started: map[string]int{}, finished: map[string]int{}, targets: map[string]map[string]bool{}}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	t.Cleanup(g.releaseAll) // runs first: Close waits for held requests
	t.Setenv("MANA_AUTH_URL", srv.URL)
	return g
}

// requestKind names a request: its method and what its path addresses.
func requestKind(r *http.Request) string {
	p := r.URL.Path
	what := p
	switch {
	case p == manaauthdev.PathPersonas:
		what = "personas"
	case strings.HasPrefix(p, manaauthdev.PathPersonas+"/"):
		what = "persona"
	case p == manaauthdev.PathUsers:
		what = "users"
	}
	return r.Method + " " + what
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	kind := requestKind(r)
	g.mu.Lock()
	var waits []chan struct{}
	for _, h := range g.holds {
		if h.key == kind && h.isFired {
			waits = append(waits, h.release)
			h.held++
		}
	}
	g.started[kind]++
	if g.targets[kind] == nil {
		g.targets[kind] = map[string]bool{}
	}
	g.targets[kind][r.URL.Path] = true
	g.inflight++
	g.signal()
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.inflight--
		g.finished[kind]++
		for _, h := range g.holds {
			if h.key == kind && !h.isFired && g.finished[kind] >= h.after {
				h.isFired = true
				close(h.fired)
			}
		}
		g.signal()
	}()
	for _, c := range waits {
		<-c
	}
	g.next.ServeHTTP(w, r)
}

func (g *gate) signal() {
	close(g.changed)
	g.changed = make(chan struct{})
}

// holdAfter holds every request of kind that arrives once after of them
// have finished (counted from now on, not from the server's start; 0
// holds every one from now on).
func (g *gate) holdAfter(kind string, after int) *hold {
	g.mu.Lock()
	defer g.mu.Unlock()
	h := &hold{key: kind, after: g.finished[kind] + after, fired: make(chan struct{}), release: make(chan struct{})}
	if after <= 0 {
		h.isFired = true
		close(h.fired)
	}
	g.holds = append(g.holds, h)
	return h
}

func (g *gate) releaseAll() {
	g.mu.Lock()
	hs := append([]*hold(nil), g.holds...)
	g.mu.Unlock()
	for _, h := range hs {
		h.Release()
	}
}

// waitFor waits until cond, read under the gate's lock, holds.
func (g *gate) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	timeout := time.NewTimer(deadline)
	defer timeout.Stop()
	for {
		g.mu.Lock()
		ok, changed := cond(), g.changed
		g.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-timeout.C:
			t.Fatalf("waited %s for %s", deadline, what)
		}
	}
}

// idle waits until no request is in flight: a killed client's last
// requests have been carried out (or not) by the server.
func (g *gate) idle(t *testing.T) {
	t.Helper()
	g.waitFor(t, "the server to finish the requests in flight", func() bool { return g.inflight == 0 })
}

// count returns how many requests of kind started and finished.
// distinct counts the different paths requests of kind went to.
func (g *gate) distinct(kind string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.targets[kind])
}

func (g *gate) count(kind string) (started, finished int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.started[kind], g.finished[kind]
}

// waitFired waits until h fired, failing when p ended first.
func waitFired(t *testing.T, h *hold, p *proc) {
	t.Helper()
	select {
	case <-h.fired:
	case <-p.exited:
		t.Fatalf("personactl ended (%v) before %d %s requests finished\n%s", p.waitErr, h.after, h.key, p)
	case <-time.After(deadline):
		t.Fatalf("waited %s for %d %s requests\n%s", deadline, h.after, h.key, p)
	}
}

// syncBuffer collects a process's output; a test can wait until it says
// something.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{}
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{changed: make(chan struct{})} }

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.b.Write(p)
	close(s.changed)
	s.changed = make(chan struct{})
	return n, err
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits until the output contains want; false when the process
// ended without saying it.
func (s *syncBuffer) waitFor(t *testing.T, want string, exited <-chan struct{}) bool {
	t.Helper()
	timeout := time.NewTimer(deadline)
	defer timeout.Stop()
	for {
		s.mu.Lock()
		ok, changed := strings.Contains(s.b.String(), want), s.changed
		s.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-changed:
		case <-exited:
			return strings.Contains(s.String(), want)
		case <-timeout.C:
			t.Fatalf("waited %s for %q in the output", deadline, want)
		}
	}
}

// proc is a personactl process a test started.
type proc struct {
	cmd      *exec.Cmd
	out, err *syncBuffer
	exited   chan struct{} // closed when it has ended
	waitErr  error
}

func (p *proc) String() string {
	return fmt.Sprintf("--- stdout\n%s--- stderr\n%s", p.out.String(), p.err.String())
}

// wait waits for the process to end and returns its exit error.
func (p *proc) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-p.exited:
		return p.waitErr
	case <-time.After(deadline):
		p.cmd.Process.Kill()
		t.Fatalf("personactl did not end within %s\n%s", deadline, p)
		return nil
	}
}

// killedBySignal reports whether the process was ended by a signal.
func (p *proc) killedBySignal() bool {
	ps := p.cmd.ProcessState
	return ps != nil && !ps.Exited()
}

// startProc starts the built command in the environment t.Setenv set up,
// plus env; it is killed at the test's end if it still runs.
func startProc(t *testing.T, bin string, env []string, args ...string) *proc {
	t.Helper()
	return startProcTo(t, nil, bin, env, args...)
}

// startProcTo is startProc with standard output going to stdout (nil:
// collected in the proc's out).
func startProcTo(t *testing.T, stdout *os.File, bin string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), out: newSyncBuffer(), err: newSyncBuffer(), exited: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.err
	if stdout != nil {
		p.cmd.Stdout = stdout
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	collectProc(t, p)
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

var crashtestBuild struct {
	once sync.Once
	dir  string
	bin  string
	err  error
	out  []byte
}

// crashtestBinary builds personactl with -tags crashtest once per test
// run. Without its PERSONACTL_CRASHTEST variables it behaves as a normal
// build, so every test that needs a process of its own uses it.
func crashtestBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	b := &crashtestBuild
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "personactl-crashtest-"); b.err != nil {
			return
		}
		b.bin = filepath.Join(b.dir, "personactl")
		b.out, b.err = exec.Command("go", "build", "-tags", "crashtest", "-o", b.bin, ".").CombinedOutput()
	})
	if b.err != nil {
		t.Fatalf("go build -tags crashtest: %v\n%s", b.err, b.out)
	}
	return b.bin
}

func TestMain(m *testing.M) {
	// The seed secret's fingerprint costs 50 ms a run at its full rounds;
	// these tests run personactl in-process hundreds of times.
	catalog.LowerFingerprintRoundsForTesting(1000)
	code := m.Run()
	if crashtestBuild.dir != "" {
		os.RemoveAll(crashtestBuild.dir)
	}
	if s := secretScanFigures(); s != "" && testing.Verbose() {
		fmt.Println(s)
	}
	os.Exit(code)
}

// stateRef names a world's recorded state: a file path or a DSN.
func isPostgresState(ref string) bool { return connect.IsDSN(ref) }

// openBackend opens the recorded state ref names.
func openBackend(t *testing.T, ref string) state.Backend {
	t.Helper()
	ctx := context.Background()
	if isPostgresState(ref) {
		b, err := postgres.Open(ctx, ref, "default")
		if err != nil {
			t.Fatalf("opening the PostgreSQL state: %v", err)
		}
		return b
	}
	b, err := file.New(ref)
	if err != nil {
		t.Fatalf("opening the state file: %v", err)
	}
	return b
}

// readState reads the recorded state; it fails the test when the state
// does not parse.
func readState(t *testing.T, ref string) *state.State {
	t.Helper()
	b := openBackend(t, ref)
	defer b.Close()
	st, err := b.Read(context.Background())
	if err != nil {
		t.Fatalf("the recorded state does not read: %v", err)
	}
	return st
}

// lockFree checks that nobody holds the state lock: it takes and releases
// it, waiting up to wait (a killed holder's database session ends a moment
// after its process).
func lockFree(t *testing.T, ref string, wait time.Duration) {
	t.Helper()
	b := openBackend(t, ref)
	defer b.Close()
	l, err := b.Lock(context.Background(), "campaign-check", wait)
	if err != nil {
		t.Fatalf("the state lock is still held: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatalf("releasing the check's lock: %v", err)
	}
}

// openJournals returns the journal entries left open.
func openJournals(t *testing.T, ref string) []state.JournalEntry {
	t.Helper()
	b := openBackend(t, ref)
	defer b.Close()
	open, err := b.OpenJournals(context.Background())
	if err != nil {
		t.Fatalf("reading the open journal entries: %v", err)
	}
	return open
}

// usersPerAddress counts mana-auth-dev's users by lowercased address.
func (e *e2e) usersPerAddress() map[string]int {
	e.t.Helper()
	all, _, err := e.inst.Store.SearchUsers(context.Background(), manaauthdev.UserQuery{Limit: -1})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]int{}
	for _, u := range all {
		out[strings.ToLower(u.Email)]++
	}
	return out
}

// liveValues is a live persona as a catalog persona, to compare.
func liveValues(l manaauthdev.Persona) (catalog.Persona, error) {
	p := catalog.Persona{Name: l.Name, Email: l.Email, Archetype: l.Archetype, SystemPrompt: l.SystemPrompt, TickCadence: l.TickCadence}
	if len(l.ModuleMix) > 0 {
		if err := json.Unmarshal(l.ModuleMix, &p.ModuleMix); err != nil {
			return p, fmt.Errorf("module mix %s: %w", l.ModuleMix, err)
		}
	}
	return p, nil
}

// convergence is what a converged world looks like, counted.
type convergence struct {
	duplicates int // addresses with more than one user
	lost       int // catalog personas not live
	extra      int // live personas not in the catalog
	wrong      int // live personas whose values differ from the catalog
	unrecorded int // live personas the state lacks or records otherwise
}

func (c convergence) ok() bool { return c == convergence{} }

// converged checks that live matches want exactly, one user per address,
// and that the recorded state (at ref) parses and records live as it is.
// It returns the counts and a description of every difference.
func (e *e2e) converged(want []catalog.Persona, ref string) (convergence, []string) {
	e.t.Helper()
	var c convergence
	var why []string
	for addr, n := range e.usersPerAddress() {
		if n > 1 {
			c.duplicates++
			why = append(why, fmt.Sprintf("%d users with %s", n, addr))
		}
	}
	live := e.live()
	wanted := map[string]catalog.Persona{}
	for _, p := range want {
		wanted[strings.ToLower(p.Email)] = p
		l, ok := live[strings.ToLower(p.Email)]
		if !ok {
			c.lost++
			why = append(why, p.Email+" is not live")
			continue
		}
		v, err := liveValues(l)
		if err != nil || len(catalog.Differences(p, v)) > 0 {
			c.wrong++
			why = append(why, fmt.Sprintf("%s live differs from the catalog: %v %v", p.Email, catalog.Differences(p, v), err))
		}
	}
	for email := range live {
		if _, ok := wanted[email]; !ok {
			c.extra++
			why = append(why, email+" is live but not in the catalog")
		}
	}
	st := readState(e.t, ref)
	recorded := map[string]state.RecordedPersona{}
	for _, r := range st.Personas {
		recorded[strings.ToLower(r.Email)] = r
	}
	for email, l := range live {
		r, ok := recorded[email]
		v, _ := liveValues(l)
		if !ok || r.UserID != l.UserID || len(catalog.Differences(r.Values, v)) > 0 {
			c.unrecorded++
			why = append(why, fmt.Sprintf("%s: live (id %s) is not what the state records (%v, id %s)", email, l.UserID, ok, r.UserID))
		}
	}
	if len(recorded) != len(live) {
		c.unrecorded += max(0, len(recorded)-len(live))
		why = append(why, fmt.Sprintf("%d personas recorded, %d live", len(recorded), len(live)))
	}
	sort.Strings(why)
	return c, why
}

// mustConverge fails the test unless e has converged on want.
func (e *e2e) mustConverge(want []catalog.Persona, ref string) {
	e.t.Helper()
	if c, why := e.converged(want, ref); !c.ok() {
		if len(why) > 10 {
			why = append(why[:10], fmt.Sprintf("… and %d more", len(why)-10))
		}
		e.t.Fatalf("not converged: %+v\n  %s", c, strings.Join(why, "\n  "))
	}
}
