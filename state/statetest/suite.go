// Package statetest is the conformance suite every recorded-state backend
// runs: the promises of state.Backend and state.Lock (serials, lineage,
// locks, the journal, no secrets at rest), checked the same way for each,
// including with real child processes that hold a lock or die mid-write.
//
// It owns only tests and their helpers; production code must never import it.
package statetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/state"
)

// Store is one empty place to keep a recorded state: a fresh directory for
// the file backend, a fresh workspace for the database.
type Store interface {
	// Open returns a new handle on the store, independent of earlier ones,
	// as a second process would have. The caller closes it (Open may also
	// register a cleanup).
	Open(t *testing.T) state.Backend
	// Raw returns every byte the backend keeps for the store (state, backup,
	// lock, journal), for the check that nothing secret is stored.
	Raw(t *testing.T) []byte
	// Env is what a child process needs in its environment for the reopen
	// function given to HelperProcess to open the same store.
	Env() []string
	// OpenLogged is Open with the backend's Options.Log set to log.
	OpenLogged(t *testing.T, log *slog.Logger) state.Backend
}

// Retainer is a Store that can also open a handle keeping only retain
// closed runs in its journal.
type Retainer interface {
	OpenRetaining(t *testing.T, retain int) state.Backend
}

// HolderWaiter is a Store whose lock can outlive a killed holder process
// for a moment (a database session the server has not yet seen end).
// WaitHolderGone blocks until it no longer does.
type HolderWaiter interface {
	WaitHolderGone(t *testing.T)
}

// Run runs the suite against the backend whose empty stores newStore makes.
// Stores that are Retainers also run the retention test.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Store)
	}{
		{"ReadEmpty", testReadEmpty},
		{"RoundTrip", testRoundTrip},
		{"SerialGrowsLineageKept", testSerialGrowsLineageKept},
		{"StaleSerialRefused", testStaleSerialRefused},
		{"DuplicatePersonaRefused", testDuplicatePersonaRefused},
		{"LockContention", testLockContention},
		{"LockWaitsForRelease", testLockWaitsForRelease},
		{"LockTimeoutRunsOut", testLockTimeoutRunsOut},
		{"LockWaitCancelled", testLockWaitCancelled},
		{"ReleasedLockRefusesWrites", testReleasedLockRefusesWrites},
		{"Journal", testJournal},
		{"JournalLeftOpen", testJournalLeftOpen},
		{"OpenJournalsByStart", testOpenJournalsByStart},
		{"JournalParallelSteps", testJournalParallelSteps},
		{"NoSecretsStored", testNoSecretsStored},
		{"LockHeldByAnotherProcess", testLockHeldByAnotherProcess},
		{"ForceUnlockAfterHolderDied", testForceUnlockAfterHolderDied},
		{"KilledWhileWriting", testKilledWhileWriting},
		{"CredentialsRoundTrip", testCredentialsRoundTrip},
		{"NegativeLockTimeoutRefused", testNegativeLockTimeoutRefused},
		{"JournalAppendOnly", testJournalAppendOnly},
		{"JournalThroughGroupCommit", testJournalThroughGroupCommit},
		{"HistoryNewestFirst", testHistoryNewestFirst},
		{"HistoryRetention", testHistoryRetention},
		{"KilledWhileAppending", testKilledWhileAppending},
		{"LogsLockAndJournal", testLogsLockAndJournal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// at is a fixed instant, in UTC and to the microsecond, which every backend
// keeps exactly.
var at = time.Date(2025, 3, 14, 9, 26, 53, 589793000, time.UTC)

// samplePersonas returns recorded personas in deliberately unsorted order.
func samplePersonas() []state.RecordedPersona {
	return []state.RecordedPersona{
		{Email: "zoe@personas.mana.test", UserID: "u-zoe", AppliedAt: at, Values: catalog.Persona{
			Name: "Zoe", Email: "zoe@personas.mana.test", Archetype: "night-owl",
			SystemPrompt: "You are Zoe. You write \"quotes\", ünïcode and\nnew lines.",
			ModuleMix:    map[string]float64{"journal": 0.5, "habits": 0.25, "calendar": 0.25}, TickCadence: "hourly"}},
		{Email: "anna@personas.mana.test", UserID: "u-anna", AppliedAt: at.Add(time.Second), SecretFingerprint: "pbkdf2-sha256$600000$c2FsdA$ZmluZ2VycHJpbnQ", Values: catalog.Persona{
			Name: "Anna", Email: "anna@personas.mana.test", Archetype: "planner",
			SystemPrompt: "You are Anna.", ModuleMix: map[string]float64{"calendar": 1}, TickCadence: "daily"}},
	}
}

// crashPersonas are the personas the write-loop child stores for serial n:
// every one of them names n, so a state mixing two writes would show.
func crashPersonas(n int64) []state.RecordedPersona {
	var out []state.RecordedPersona
	for i := range 5 {
		email := fmt.Sprintf("crash-%d@personas.mana.test", i)
		out = append(out, state.RecordedPersona{Email: email, UserID: fmt.Sprintf("u-%d", i), AppliedAt: at,
			Values: catalog.Persona{Name: fmt.Sprintf("Crash %d", i), Email: email, Archetype: fmt.Sprintf("serial-%d", n),
				SystemPrompt: strings.Repeat(fmt.Sprintf("serial %d. ", n), 400), ModuleMix: map[string]float64{"journal": 1}, TickCadence: "daily"}})
	}
	return out
}

// must stops the test when a step that sets the scene fails.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func lock(t *testing.T, b state.Backend, op string) state.Lock {
	t.Helper()
	l, err := b.Lock(context.Background(), op, 0)
	if err != nil {
		t.Fatalf("Lock(%q): %v", op, err)
	}
	t.Cleanup(func() { l.Release() })
	return l
}

func read(t *testing.T, b state.Backend) *state.State {
	t.Helper()
	s, err := b.Read(context.Background())
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return s
}

func write(t *testing.T, l state.Lock, s *state.State) {
	t.Helper()
	if err := l.Write(context.Background(), s); err != nil {
		t.Fatalf("Write at serial %d: %v", s.Serial, err)
	}
}

// canonical renders v as JSON, treating empty and nil slices alike, so that
// two values compare equal exactly when a reader could not tell them apart.
func canonical(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(data), ":null", ":[]")
}

// same fails the test unless got and want read alike (canonical).
func same(t *testing.T, what string, got, want any) {
	t.Helper()
	if g, w := canonical(t, got), canonical(t, want); g != w {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

func testReadEmpty(t *testing.T, s Store) {
	b := s.Open(t)
	if b.Describe() == "" {
		t.Error("Describe is empty; messages could not name the state")
	}
	got := read(t, b)
	if canonical(t, got) != canonical(t, &state.State{}) {
		t.Errorf("empty store read as %+v, want the zero State", got)
	}
	open, err := b.OpenJournals(context.Background())
	if err != nil || len(open) != 0 {
		t.Errorf("OpenJournals on an empty store = %v, %v; want none", open, err)
	}
}

func testRoundTrip(t *testing.T, s Store) {
	b := s.Open(t)
	l := lock(t, b, "apply")
	in := &state.State{Personas: samplePersonas()}
	write(t, l, in)
	if in.Serial != 1 || in.Version != state.FormatVersion || !uuidV4.MatchString(in.Lineage) {
		t.Errorf("after the first write: serial %d, version %d, lineage %q; want 1, %d and a random UUID", in.Serial, in.Version, in.Lineage, state.FormatVersion)
	}
	l.Release()
	want := &state.State{Version: state.FormatVersion, Lineage: in.Lineage, Serial: 1, Personas: samplePersonas()}
	want.Sort()
	same(t, "read back by the writer", read(t, b), want)
	same(t, "read back by another handle", read(t, s.Open(t)), want)
	got := read(t, b)
	if p, ok := got.Find("zoe@personas.mana.test"); !ok || p.Values.ModuleMix["habits"] != 0.25 || !p.AppliedAt.Equal(at) {
		t.Errorf("Find(zoe) = %+v, %v", p, ok)
	}
}

func testSerialGrowsLineageKept(t *testing.T, s Store) {
	b := s.Open(t)
	l := lock(t, b, "apply")
	write(t, l, &state.State{Personas: samplePersonas()})
	lineage := read(t, b).Lineage
	for want := int64(2); want <= 4; want++ {
		cur := read(t, b)
		cur.Personas = samplePersonas()[:1+want%2]
		write(t, l, cur)
		got := read(t, b)
		if got.Serial != want || got.Lineage != lineage || len(got.Personas) != int(1+want%2) {
			t.Fatalf("write %d: serial %d, lineage %q, %d personas; want serial %d, lineage %q kept", want, got.Serial, got.Lineage, len(got.Personas), want, lineage)
		}
	}
	// A state built from scratch at the right serial takes the stored lineage.
	fresh := &state.State{Serial: 4, Personas: samplePersonas()}
	write(t, l, fresh)
	if fresh.Lineage != lineage || fresh.Serial != 5 {
		t.Errorf("write without a lineage: got lineage %q serial %d, want %q and 5", fresh.Lineage, fresh.Serial, lineage)
	}
	// A state from another history is refused and changes nothing.
	other := &state.State{Serial: 5, Lineage: "0b6a3c4e-1111-4222-8333-444455556666"}
	err := l.Write(context.Background(), other)
	var stale *state.StaleSerialError
	if err == nil || errors.As(err, &stale) || !strings.Contains(err.Error(), lineage) {
		t.Errorf("write with another lineage: %v; want an error naming the stored lineage %s", err, lineage)
	}
	if got := read(t, b); got.Serial != 5 || got.Lineage != lineage {
		t.Errorf("after the refused write: serial %d lineage %q", got.Serial, got.Lineage)
	}
}

func testStaleSerialRefused(t *testing.T, s Store) {
	a, b := s.Open(t), s.Open(t)
	ctx := context.Background()
	expectStale := func(err error, readSerial, found int64) {
		t.Helper()
		var stale *state.StaleSerialError
		if !errors.As(err, &stale) || stale.Read != readSerial || stale.Found != found {
			t.Fatalf("second writer: %v; want *state.StaleSerialError{Read: %d, Found: %d}", err, readSerial, found)
		}
	}
	for _, n := range []int64{0, 1} {
		// Both runs read serial n (a plan is read without the lock), then
		// apply one after the other.
		ra, rb := read(t, a), read(t, b)
		if ra.Serial != n || rb.Serial != n {
			t.Fatalf("both read serials %d and %d, want %d", ra.Serial, rb.Serial, n)
		}
		ra.Personas = samplePersonas()[:1]
		rb.Personas = samplePersonas()
		la := lock(t, a, "apply")
		write(t, la, ra)
		la.Release()
		lb := lock(t, b, "apply")
		expectStale(lb.Write(ctx, rb), n, n+1)
		lb.Release()
		got := read(t, b)
		if got.Serial != n+1 || len(got.Personas) != 1 {
			t.Fatalf("after the refused write: serial %d with %d personas; want the first writer's state (serial %d, 1 persona)", got.Serial, len(got.Personas), n+1)
		}
	}
}

// testDuplicatePersonaRefused: a state that lists an address twice, in
// any letter case, or a persona without one, is refused and changes nothing.
func testDuplicatePersonaRefused(t *testing.T, s Store) {
	b := s.Open(t)
	l := lock(t, b, "apply")
	write(t, l, &state.State{Personas: samplePersonas()})
	shouting := samplePersonas()[1]
	shouting.Email = "Anna@Personas.Mana.Test"
	for _, tt := range []struct {
		what     string
		personas []state.RecordedPersona
		names    []string // what the refusal must name
	}{
		{"a persona listed twice", append(samplePersonas(), samplePersonas()[1]), []string{"anna@personas.mana.test"}},
		{"one address in two letter cases", append(samplePersonas(), shouting), []string{"anna@personas.mana.test", "Anna@Personas.Mana.Test"}},
		{"a persona without email", []state.RecordedPersona{{UserID: "u-x"}}, nil},
	} {
		err := l.Write(context.Background(), &state.State{Serial: 1, Personas: tt.personas})
		if err == nil {
			t.Errorf("write with %s succeeded; want a refusal", tt.what)
		}
		for _, name := range tt.names {
			if err != nil && !strings.Contains(err.Error(), name) {
				t.Errorf("write with %s: %v; want a refusal naming %s", tt.what, err, name)
			}
		}
		if got := read(t, b); got.Serial != 1 || len(got.Personas) != 2 {
			t.Errorf("after refusing %s: serial %d with %d personas; want the state unchanged", tt.what, got.Serial, len(got.Personas))
		}
	}
}

func testNoSecretsStored(t *testing.T, s Store) {
	// Plant the secrets a run has at hand, then store everything a run
	// stores. None of it is passed to the backend, so none may appear.
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYWRtaW4ifQ.planted-admin-signature"
	seed := "planted-seed-secret-4f1c"
	t.Setenv("MANA_ADMIN_JWT", jwt)
	t.Setenv("PERSONA_SEED_SECRET", seed)
	secret, err := catalog.NewSecret(seed)
	if err != nil {
		t.Fatal(err)
	}
	personas := samplePersonas()
	forbidden := []string{jwt, seed, "eyJ"}
	for _, p := range personas {
		forbidden = append(forbidden, secret.Password(p.Email))
	}

	ctx := context.Background()
	b := s.Open(t)
	l := lock(t, b, "apply")
	e := sampleEntry("scan-1")
	must(t, l.OpenJournal(ctx, e))
	for _, result := range []state.StepResult{state.StepDone, state.StepFailed} {
		must(t, l.AppendSteps(ctx, e.ID, []state.JournalStep{sampleStep(personas[0].Email, result)}))
	}
	for range 2 { // two writes, so that a backup exists too
		cur := read(t, b)
		cur.Personas = personas
		write(t, l, cur)
	}
	must(t, l.OpenJournal(ctx, sampleEntry("scan-2")))
	must(t, l.CloseJournal(ctx, "scan-2", state.OutcomeComplete))

	raw := s.Raw(t) // with the lock still held and an entry still open
	// The scan must be looking at the stored bytes: what was given is there.
	for _, given := range []string{"You are Zoe", "format_version", "503 Service Unavailable", "u-anna", "night-owl", l.Info().ID} {
		if !bytes.Contains(raw, []byte(given)) {
			t.Fatalf("stored bytes lack %q, which was stored; Raw does not return what the backend keeps", given)
		}
	}
	for _, f := range forbidden {
		if bytes.Contains(raw, []byte(f)) {
			t.Errorf("stored bytes contain a secret that was never given to the backend: %.12s…", f)
		}
	}
	lower := bytes.ToLower(raw)
	for _, word := range []string{"password", "jwt", "token", "secret", "bearer", "authorization"} {
		if i := bytes.Index(lower, []byte(word)); i >= 0 {
			t.Errorf("stored bytes contain %q, though nothing given to the backend did: …%s…", word, raw[max(0, i-60):min(len(raw), i+30)])
		}
	}
}

func testKilledWhileWriting(t *testing.T, s Store) {
	b := s.Open(t)
	l := lock(t, b, "apply")
	first := &state.State{Personas: crashPersonas(1)}
	write(t, l, first)
	l.Release()
	for round, after := range []int{1, 4, 9} {
		// Let it run into the middle of another write, then kill it.
		last := StartChild(t, s, roleWriteLoop).killAfter(t, "wrote", after, time.Duration(round)*3*time.Millisecond)
		// The lock first: a PostgreSQL server may still commit the killed
		// writer's last transaction until it sees the session end, which
		// is when the lock comes free.
		l, err := b.Lock(context.Background(), "apply", 15*time.Second)
		if err != nil {
			t.Fatalf("round %d: Lock after the writer was killed: %v", round, err)
		}
		got, err := s.Open(t).Read(context.Background())
		if err != nil {
			t.Fatalf("round %d: state unreadable after its writer was killed: %v", round, err)
		}
		if got.Serial < last || got.Serial > last+1 || got.Lineage != first.Lineage {
			t.Fatalf("round %d: state at serial %d lineage %s; the writer last reported serial %d of lineage %s", round, got.Serial, got.Lineage, last, first.Lineage)
		}
		want := fmt.Sprintf("serial-%d", got.Serial)
		for _, p := range got.Personas {
			if p.Values.Archetype != want {
				t.Fatalf("round %d: state at serial %d holds a persona written for %s: half-written", round, got.Serial, p.Values.Archetype)
			}
		}
		if len(got.Personas) != 5 {
			t.Fatalf("round %d: %d personas, want 5", round, len(got.Personas))
		}
		write(t, l, got)
		l.Release()
		t.Logf("round %d: killed after serial %d; state at %d, readable and whole", round, last, got.Serial)
	}
}

func testCredentialsRoundTrip(t *testing.T, s Store) {
	b := s.Open(t)
	l := lock(t, b, "apply")
	in := &state.State{Personas: samplePersonas()}
	write(t, l, in)
	got := read(t, s.Open(t))
	anna, _ := got.Find("anna@personas.mana.test")
	zoe, _ := got.Find("zoe@personas.mana.test")
	if anna.SecretFingerprint != samplePersonas()[1].SecretFingerprint || zoe.SecretFingerprint != "" {
		t.Errorf("credentials read back: anna %q, zoe %q; want %q and none", anna.SecretFingerprint, zoe.SecretFingerprint, samplePersonas()[1].SecretFingerprint)
	}
	// A verify records a fingerprint where there was none.
	got.Personas[1].SecretFingerprint = "pbkdf2-sha256$600000$c2FsdA$b3RoZXI"
	write(t, l, got)
	if zoe, _ := read(t, b).Find("zoe@personas.mana.test"); zoe.SecretFingerprint != "pbkdf2-sha256$600000$c2FsdA$b3RoZXI" {
		t.Errorf("zoe's fingerprint after a second write: %q", zoe.SecretFingerprint)
	}
}
