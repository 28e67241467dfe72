package main

// The world of one history of the model-based test (model_test.go): a
// mana-auth-dev of its own behind an observer that records every write
// request, a catalog, a recorded state (a file, or a workspace of its own
// in the suite's PostgreSQL database), the people who signed up, and the
// checks that run after every step.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/manaauthdev"
	"github.com/mana/personactl/state"
	"github.com/mana/personactl/state/file"
	"github.com/mana/personactl/state/postgres"
)

// modelTB is what a world needs of its test: a *rapid.T inside a generated
// history (so that a failure is shrunk), a *testing.T in a regression test.
type modelTB interface {
	Helper()
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
	Cleanup(func())
}

// modelSuite is what the histories of one state backend share.
type modelSuite struct {
	backend   string // "file" or "postgres"
	dsn       string // the database whose workspaces hold the PostgreSQL states
	bin       string // the crashtest build, for the kills; "" turns them off
	token     string // the admin token every history's mana-auth-dev accepts
	templates []catalog.Persona
	stats     *modelStats

	mu      sync.Mutex
	started int // histories started: names their workspaces
}

// world is one history's mana-auth-dev, catalog, state and people.
type world struct {
	t         modelTB
	s         *modelSuite
	store     *manaauthdev.MemoryStore
	srv       *manaauthdev.Server
	obs       *observer
	url       string
	dir       string
	catalog   string // the catalog file's path
	stateRef  string // a path or a DSN
	workspace string
	backend   state.Backend // the checks read the state through it
	at        string        // the step being checked, for messages

	desired []catalog.Persona
	persons map[string]string // user id → address of each person who signed up
	fresh   int               // numbers the addresses and names made so far
	saved   []string          // the saved plan files, oldest first
}

// newWorld starts a history: a mana-auth-dev, a catalog of three personas,
// and a state, applied.
func newWorld(t modelTB, s *modelSuite) *world {
	t.Helper()
	store := manaauthdev.NewMemoryStore()
	w := &world{t: t, s: s, store: store, persons: map[string]string{}, workspace: "default"}
	w.srv = manaauthdev.New(manaauthdev.Options{Store: store, AdminToken: s.token})
	w.obs = newObserver(w.srv, store)
	hs := httptest.NewServer(w.obs)
	t.Cleanup(hs.Close)
	w.url = hs.URL
	dir, err := os.MkdirTemp("", "personactl-model-")
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	w.dir = dir
	w.catalog = filepath.Join(dir, "catalog.json")
	w.stateRef = filepath.Join(dir, "personactl.state.json")
	if s.backend == "postgres" {
		s.mu.Lock()
		s.started++
		w.workspace = fmt.Sprintf("h%d", s.started)
		s.mu.Unlock()
		w.stateRef = s.dsn
	}
	if w.backend, err = openState(w.stateRef, w.workspace); err != nil {
		t.Fatalf("opening the state: %v", err)
	}
	t.Cleanup(func() { w.backend.Close() })
	for i := range 3 {
		w.desired = append(w.desired, w.newPersona(i))
	}
	w.writeCatalog()
	w.at = "the first apply"
	if r := w.personactl("apply", "--auto-approve"); r.code != 0 {
		t.Fatalf("%s: exit %d\n%s", w.at, r.code, r)
	}
	w.obs.take()
	return w
}

// openState opens the recorded state ref names.
func openState(ref, workspace string) (state.Backend, error) {
	if isPostgresState(ref) {
		return postgres.Open(context.Background(), ref, workspace)
	}
	return file.New(ref)
}

// newPersona returns a persona shaped like the template's, at an address
// and with a name no other persona of the history had.
func (w *world) newPersona(template int) catalog.Persona {
	tp := w.s.templates[template%len(w.s.templates)]
	w.fresh++
	p := tp
	p.ModuleMix = map[string]float64{}
	for k, v := range tp.ModuleMix {
		p.ModuleMix[k] = v
	}
	p.Name = fmt.Sprintf("%s m%d", tp.Name, w.fresh)
	p.Email = fmt.Sprintf("persona.m%d@mana.test", w.fresh)
	return p
}

func (w *world) writeCatalog() {
	w.t.Helper()
	b, err := json.MarshalIndent(map[string]any{"personas": w.desired}, "", "  ")
	if err == nil {
		err = os.WriteFile(w.catalog, b, 0o644)
	}
	if err != nil {
		w.t.Fatalf("writing the catalog: %v", err)
	}
}

// flags point a run at this world.
func (w *world) flags() []string {
	return []string{"--catalog=" + w.catalog, "--auth=" + w.url, "--state=" + w.stateRef, "--workspace=" + w.workspace}
}

// personactl runs personactl in-process against this world. It may run
// on any goroutine; the checks of its result do not.
func (w *world) personactl(args ...string) result {
	var out, errb bytes.Buffer
	code := run(append(args, w.flags()...), Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	return result{code, out.String(), errb.String()}
}

// noToken checks that a run's output does not carry the admin token.
func (w *world) noToken(r result) {
	w.t.Helper()
	if strings.Contains(r.out+r.err, w.s.token) {
		w.broken("no output carries the admin token", "a run printed it\n%s", r)
	}
}

// live returns the live personas by address.
func (w *world) live() map[string]manaauthdev.Persona {
	w.t.Helper()
	ctx := context.Background()
	list, err := w.store.ListPersonas(ctx, time.Time{})
	if err != nil {
		w.t.Fatalf("%v", err)
	}
	out := make(map[string]manaauthdev.Persona, len(list))
	for _, l := range list {
		p, err := w.store.Persona(ctx, l.UserID)
		if err != nil {
			w.t.Fatalf("%v", err)
		}
		out[strings.ToLower(l.Email)] = p
	}
	return out
}

// liveAddresses returns the live personas' addresses, sorted.
func (w *world) liveAddresses() []string {
	var out []string
	for a := range w.live() {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// observer stands in front of mana-auth-dev: it records every write
// request (with the address it is for, looked up before a delete is
// carried out), counts the answers the faults gave, and tells when no
// request is in flight.
type observer struct {
	next  http.Handler
	store manaauthdev.Store

	mu       sync.Mutex
	changed  chan struct{}
	inflight int
	writes   []sentWrite
	answers  map[string]int
	emails   map[string]string // user id → address, of every user a delete was sent for
	finished int               // write requests answered
	loseAt   int               // when finished reaches it, lose runs; 0: never
	lose     func()
}

// sentWrite is one write request: the address and user it was for.
type sentWrite struct {
	method, email, userID string
}

func (s sentWrite) String() string {
	return fmt.Sprintf("%s of %s (user %s)", s.method, s.email, s.userID)
}

func newObserver(next http.Handler, store manaauthdev.Store) *observer {
	return &observer{next: next, store: store, changed: make(chan struct{}), answers: map[string]int{}, emails: map[string]string{}}
}

func (o *observer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	wr, isWrite := o.write(r)
	o.mu.Lock()
	o.inflight++
	if isWrite {
		o.writes = append(o.writes, wr)
	}
	o.mu.Unlock()
	aw := &manaauthdev.StatusWriter{ResponseWriter: w}
	defer o.answered(isWrite)
	defer func() {
		o.mu.Lock()
		defer o.mu.Unlock()
		if strings.HasPrefix(r.URL.Path, manaauthdev.PathAdmin) {
			switch aw.Status {
			case 0:
				o.answers["connection resets"]++
			case http.StatusServiceUnavailable:
				o.answers["503 answers"]++
			case http.StatusBadGateway:
				o.answers["lost answers (written, then 502)"]++
			case http.StatusInternalServerError:
				o.answers["500 answers (a failing address)"]++
			}
		}
		o.inflight--
		close(o.changed)
		o.changed = make(chan struct{})
	}()
	o.next.ServeHTTP(aw, r)
}

// answered counts a write's answer, and runs lose at the loseAt-th one,
// before the client has the answer.
func (o *observer) answered(isWrite bool) {
	if !isWrite {
		return
	}
	o.mu.Lock()
	o.finished++
	var lose func()
	if o.finished == o.loseAt {
		lose = o.lose
	}
	o.mu.Unlock()
	if lose != nil {
		lose()
	}
}

// loseAfter runs lose once n more write requests have been answered (nil:
// never).
func (o *observer) loseAfter(n int, lose func()) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.loseAt, o.lose = o.finished+n, lose
}

// write tells whether r may write, and what for.
func (o *observer) write(r *http.Request) (sentWrite, bool) {
	if !strings.HasPrefix(r.URL.Path, manaauthdev.PathAdmin) || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return sentWrite{}, false
	}
	wr := sentWrite{method: r.Method}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == manaauthdev.PathPersonas:
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var v struct {
			Email string `json:"email"`
		}
		json.Unmarshal(body, &v)
		wr.email = strings.ToLower(v.Email)
	case r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, manaauthdev.PathPersonas+"/"):
		wr.userID = strings.TrimPrefix(r.URL.Path, manaauthdev.PathPersonas+"/")
		o.mu.Lock()
		defer o.mu.Unlock()
		if u, err := o.store.UserByID(r.Context(), wr.userID); err == nil {
			o.emails[wr.userID] = strings.ToLower(u.Email)
		}
		wr.email = o.emails[wr.userID] // a retry finds the user gone
	default:
		wr.email = r.URL.Path // a write personactl has no business sending
	}
	return wr, true
}

// take returns the writes recorded since the last take, and forgets them.
func (o *observer) take() []sentWrite {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := o.writes
	o.writes = nil
	return out
}

// waitIdle waits until no request is in flight: what a killed process
// had sent has been carried out (or not).
func (o *observer) waitIdle() error {
	timeout := time.NewTimer(deadline)
	defer timeout.Stop()
	for {
		o.mu.Lock()
		n, changed := o.inflight, o.changed
		o.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-changed:
		case <-timeout.C:
			return fmt.Errorf("%d requests still in flight after %s", n, deadline)
		}
	}
}

// signUp signs a person up at address through Better Auth's route, as the
// web app does; signedIn: they verified the address and signed in too (the
// users search then answers 500 for the address). Nothing happens when a
// user has the address already.
func (w *world) signUp(address string, signedIn bool) {
	w.t.Helper()
	ctx := context.Background()
	if _, err := w.store.UserByEmail(ctx, address); err == nil {
		return
	}
	password := "pw-" + manaauthdev.NewID()
	w.post(manaauthdev.PathSignUp, map[string]string{"email": address, "password": password, "name": "A person"})
	u, err := w.store.UserByEmail(ctx, address)
	if err != nil {
		w.t.Fatalf("%s: the person who signed up at %s is not there: %v", w.at, address, err)
	}
	w.persons[u.ID] = address
	if signedIn {
		if err := w.store.MarkVerified(ctx, u.ID); err != nil {
			w.t.Fatalf("%v", err)
		}
		w.post(manaauthdev.PathSignIn, map[string]string{"email": address, "password": password})
	}
}

func (w *world) post(path string, body any) {
	w.t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(w.url+path, "application/json", bytes.NewReader(b))
	if err != nil {
		w.t.Fatalf("POST %s: %v", path, err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		w.t.Fatalf("POST %s: %s: %s", path, resp.Status, raw)
	}
}

// entryIDs returns the IDs of every journal entry, closed and open.
func (w *world) entryIDs() map[string]bool {
	w.t.Helper()
	hist, err := w.backend.History(context.Background(), 0)
	if err != nil {
		w.t.Fatalf("%s: the journal does not read: %v", w.at, err)
	}
	out := map[string]bool{}
	for _, e := range hist {
		out[e.ID] = true
	}
	return out
}

// check runs the checks that hold after every step: no person's account
// was touched, no address has two users; after a step that ran personactl
// (ran) also: the state reads, and every write sent during the step is in
// a journal entry the step opened (a step of it, or the plan of one left
// open). After a kill (wait > 0) the state lock must come free within
// wait (a killed holder's database session ends a moment after it).
func (w *world) check(ran bool, before map[string]bool, writes []sentWrite, wait time.Duration) {
	w.t.Helper()
	ctx := context.Background()
	for id, address := range w.persons {
		u, err := w.store.UserByID(ctx, id)
		switch {
		case err != nil:
			w.broken(personPromise, "the person who signed up at %s (user %s) is gone: %v", address, id, err)
		case u.Kind != manaauthdev.KindHuman || !strings.EqualFold(u.Email, address):
			w.broken(personPromise, "the person who signed up at %s (user %s) is now %s at %s", address, id, u.Kind, u.Email)
		}
		if _, err := w.store.Persona(ctx, id); err == nil {
			w.broken(personPromise, "the person at %s (user %s) was made a persona", address, id)
		}
		for _, wr := range writes {
			if wr.userID == id || wr.email == address {
				w.broken(personPromise, "a write was sent for the person at %s: %s", address, wr)
			}
		}
	}
	users, _, err := w.store.SearchUsers(ctx, manaauthdev.UserQuery{Limit: -1})
	if err != nil {
		w.t.Fatalf("%v", err)
	}
	perAddress := map[string]int{}
	for _, u := range users {
		if perAddress[strings.ToLower(u.Email)]++; perAddress[strings.ToLower(u.Email)] == 2 {
			w.broken("no address has two users", "two users have the address %s", u.Email)
		}
	}
	if !ran {
		return
	}
	if _, err := w.backend.Read(ctx); err != nil {
		w.broken("the state is never half-written", "the recorded state does not read: %v", err)
	}
	if wait > 0 {
		w.lockFree(wait)
	}
	w.checkJournaled(before, writes)
}

// lockFree checks that the state lock comes free within wait. (After a
// run that was not killed, the next run checks it: refused the lock with
// no other run about, it fails the history.)
func (w *world) lockFree(wait time.Duration) {
	w.t.Helper()
	l, err := w.backend.Lock(context.Background(), "model-check", wait)
	if err != nil {
		w.broken("no lock is left behind", "the state lock is still held: %v", err)
	} else if err := l.Release(); err != nil {
		w.t.Fatalf("%s: releasing the check's lock: %v", w.at, err)
	}
}

// checkJournaled checks that every write is recorded by a journal entry
// opened since before: a step of it names its address or user, or, for an
// entry left open, its plan or before-images do.
func (w *world) checkJournaled(before map[string]bool, writes []sentWrite) {
	w.t.Helper()
	if len(writes) == 0 {
		return
	}
	ctx := context.Background()
	hist, err := w.backend.History(ctx, 0)
	if err != nil {
		w.t.Fatalf("%s: the journal does not read: %v", w.at, err)
	}
	open, err := w.backend.OpenJournals(ctx)
	if err != nil {
		w.t.Fatalf("%s: the open journal entries do not read: %v", w.at, err)
	}
	covered := map[string]bool{}
	add := func(email, id string) {
		covered[strings.ToLower(email)] = true
		covered[id] = true
	}
	for _, e := range append(hist, open...) {
		if before[e.ID] {
			continue
		}
		for _, s := range e.Steps {
			add(s.Email, s.UserID)
		}
		for _, b := range e.Before {
			add(b.Values.Email, b.UserID)
		}
		var doc struct {
			Changes []struct {
				Email  string  `json:"email"`
				UserID *string `json:"user_id"`
			} `json:"changes"`
		}
		if len(e.Plan) > 0 {
			if err := json.Unmarshal(e.Plan, &doc); err != nil {
				w.broken(journalPromise, "the plan of the open journal entry %s does not parse: %v", e.ID, err)
			}
		}
		for _, c := range doc.Changes {
			id := ""
			if c.UserID != nil {
				id = *c.UserID
			}
			add(c.Email, id)
		}
	}
	delete(covered, "")
	for _, wr := range writes {
		if !covered[wr.email] && !covered[wr.userID] {
			w.broken(journalPromise, "the %s was sent, and no journal entry of this step records it", wr)
		}
	}
}

// blocked returns the catalog's addresses that the final apply must
// refuse: held by a person, or by a user who has no persona row and is not
// the one the state records there (the admin API cannot tell such a user
// from a person).
func (w *world) blocked() map[string]bool {
	w.t.Helper()
	ctx := context.Background()
	st, err := w.backend.Read(ctx)
	if err != nil {
		w.t.Fatalf("%s: the recorded state does not read: %v", w.at, err)
	}
	out := map[string]bool{}
	for _, p := range w.desired {
		address := strings.ToLower(p.Email)
		u, err := w.store.UserByEmail(ctx, address)
		if err != nil {
			continue
		}
		if _, isPerson := w.persons[u.ID]; isPerson {
			out[address] = true
			continue
		}
		if _, err := w.store.Persona(ctx, u.ID); errors.Is(err, manaauthdev.ErrNotFound) {
			if r, ok := st.Find(address); !ok || r.UserID != u.ID {
				out[address] = true
			}
		}
	}
	return out
}

// converged checks that live is the catalog, and that the state records
// live as it is with no journal entry left open.
func (w *world) converged() {
	w.t.Helper()
	ctx := context.Background()
	var why []string
	live := w.live()
	want := map[string]bool{}
	for _, p := range w.desired {
		want[strings.ToLower(p.Email)] = true
		l, ok := live[strings.ToLower(p.Email)]
		if !ok {
			why = append(why, p.Email+" is in the catalog and not live")
			continue
		}
		if v, err := liveValues(l); err != nil || len(catalog.Differences(p, v)) > 0 {
			why = append(why, fmt.Sprintf("%s live differs from the catalog in %v (%v)", p.Email, catalog.Differences(p, v), err))
		}
	}
	for a := range live {
		if !want[a] {
			why = append(why, a+" is live and not in the catalog")
		}
	}
	st, err := w.backend.Read(ctx)
	if err != nil {
		w.broken("the state is never half-written", "the recorded state does not read: %v", err)
	}
	if len(st.Personas) != len(live) {
		why = append(why, fmt.Sprintf("the state records %d personas, %d are live", len(st.Personas), len(live)))
	}
	for _, r := range st.Personas {
		l, ok := live[r.Email]
		v, _ := liveValues(l)
		if !ok || l.UserID != r.UserID || len(catalog.Differences(r.Values, v)) > 0 {
			why = append(why, fmt.Sprintf("the state records %s (user %s) otherwise than live (%v, user %s)", r.Email, r.UserID, ok, l.UserID))
		}
	}
	if open, err := w.backend.OpenJournals(ctx); err != nil || len(open) > 0 {
		why = append(why, fmt.Sprintf("%d journal entries left open (%v)", len(open), err))
	}
	if len(why) > 0 {
		sort.Strings(why)
		w.broken("after a clean apply live is the catalog, recorded as it is", "%s", strings.Join(why, "\n  "))
	}
}

// The promises two checks share.
const (
	personPromise  = "no person's account is touched"
	journalPromise = "every write is journaled"
)

// broken fails the history: the promise that does not hold is its
// failure, and what was seen goes to the log. Shrinking keeps a shorter
// history only while it fails the same way, so the failure must not carry
// what differs from run to run (user ids, step numbers).
func (w *world) broken(promise, format string, args ...any) {
	w.t.Helper()
	w.t.Logf("%s: "+format, append([]any{w.at}, args...)...)
	w.t.Fatalf("broken: %s", promise)
}

// loseLock takes the state lock away from the run holding it: the lock
// file is removed, or the database session holding the advisory lock ends.
func (w *world) loseLock() error {
	if !isPostgresState(w.stateRef) {
		return os.Remove(w.stateRef + ".lock")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, w.stateRef)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var n int
	err = conn.QueryRow(ctx, `
		SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()
		  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&n)
	if err == nil && n == 0 {
		err = errors.New("no session held an advisory lock")
	}
	return err
}
