package reconcile

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/state"
)

// loginCounter logs every persona in as ready and notes whom.
type loginCounter struct {
	mu     sync.Mutex
	emails []string
}

func (a *loginCounter) Login(_ context.Context, email, _ string) (state.LoginResult, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.emails = append(a.emails, email)
	return state.LoginResult{Status: state.LoginReady, Kind: "persona"}, nil
}

func (a *loginCounter) tried() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	slices.Sort(a.emails)
	return a.emails
}

// record writes a state of lineage L1 recording personas.
func record(t *testing.T, s *Session, personas ...state.RecordedPersona) {
	t.Helper()
	ctx := context.Background()
	lock, err := s.Backend.Lock(ctx, "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	if err := lock.Write(ctx, &state.State{Version: state.FormatVersion, Lineage: "L1", Personas: personas}); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyTrustsAnotherSecretsFingerprint: where the state records the
// fingerprint of another seed secret for the user that is live, a login
// would only spend one of the five attempts before mana-auth's lockout, so
// verify reports a wrong password without one; ForceLogin sends it. A
// fingerprint that cannot be compared, or one recorded for a user replaced
// since, says nothing, and the login is tried.
func TestVerifyTrustsAnotherSecretsFingerprint(t *testing.T) {
	other, err := catalog.NewSecret("the secret before the rotation")
	if err != nil {
		t.Fatal(err)
	}
	rotated := other.Fingerprint("L1")
	a, b, c, d := persona("persona.a@mana.test"), persona("persona.b@mana.test"), persona("persona.c@mana.test"), persona("persona.d@mana.test")
	live := &memLive{personas: map[string]state.LivePersona{}}
	for _, p := range []catalog.Persona{a, b, c, d} {
		live.personas[p.Email] = state.LivePersona{UserID: "u-" + p.Email, Values: p}
	}
	s := session(t, live, a, b, c, d)
	record(t, s,
		state.RecordedPersona{Email: a.Email, UserID: "u-" + a.Email, Values: a, SecretFingerprint: rotated},
		state.RecordedPersona{Email: b.Email, UserID: "u-" + b.Email, Values: b, SecretFingerprint: s.Secret.Fingerprint("L1")},
		state.RecordedPersona{Email: c.Email, UserID: "u-" + c.Email, Values: c, SecretFingerprint: "pbkdf2-sha256$many$AAAA"},
		state.RecordedPersona{Email: d.Email, UserID: "a user replaced since", Values: d, SecretFingerprint: rotated},
	)

	auth := &loginCounter{}
	v, err := s.Verify(context.Background(), VerifyRequest{Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := auth.tried(), []string{b.Email, c.Email, d.Email}; !slices.Equal(got, want) {
		t.Errorf("logged in as %v, want %v", got, want)
	}
	if r := v.Personas[0]; r.Email != a.Email || r.Status != StatusOtherSecret || StatusWords(r.Status) != "wrong password (from the recorded fingerprint; not tried)" {
		t.Errorf("%s: %+v (%q), want the wrong password from the recorded fingerprint", a.Email, r, StatusWords(r.Status))
	}
	if v.Ready() || v.Unknown() {
		t.Errorf("ready %v, unknown %v; want not ready (exit 2), nothing unknown", v.Ready(), v.Unknown())
	}

	auth = &loginCounter{}
	v, err = s.Verify(context.Background(), VerifyRequest{Auth: auth, ForceLogin: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := auth.tried(), []string{a.Email, b.Email, c.Email, d.Email}; !slices.Equal(got, want) {
		t.Errorf("with ForceLogin logged in as %v, want %v", got, want)
	}
	if !v.Ready() {
		t.Errorf("with ForceLogin: %+v, want every login's answer", v.Personas)
	}
}

// personLive is live as mana-auth's database shows it: the personas, and
// the kind of user holding any address (the persona row of a user made a
// person again by hand is not a persona's).
type personLive struct {
	*memLive
	people map[string]bool
}

func (l personLive) AddressOwners(_ context.Context, emails []string) (map[string]state.Owner, error) {
	out := map[string]state.Owner{}
	for _, e := range emails {
		if l.people[e] {
			out[e] = state.Owner{Kind: state.AddressTaken}
		}
	}
	return out, nil
}

// TestVerifyNeverLogsInAsAPerson: a catalog persona whose user mana-auth's
// database shows as a person (kind human, set by hand) is reported as not
// a persona, and no login is sent as them.
func TestVerifyNeverLogsInAsAPerson(t *testing.T) {
	a, b, c := persona("persona.a@mana.test"), persona("persona.b@mana.test"), persona("persona.c@mana.test")
	live := &memLive{personas: map[string]state.LivePersona{a.Email: {UserID: "ua", Values: a}}}
	s := session(t, live, a, b, c)
	s.Live = personLive{memLive: live, people: map[string]bool{b.Email: true}}
	auth := &loginCounter{}
	v, err := s.Verify(context.Background(), VerifyRequest{Auth: auth, ForceLogin: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := auth.tried(); !slices.Equal(got, []string{a.Email}) {
		t.Errorf("logged in as %v, want only the persona %s", got, a.Email)
	}
	want := map[string]Status{a.Email: StatusReady, b.Email: StatusNotPersona, c.Email: StatusNotLive}
	for _, r := range v.Personas {
		if r.Status != want[r.Email] {
			t.Errorf("%s: %s (%s), want %s", r.Email, r.Status, r.Detail, want[r.Email])
		}
	}
}
