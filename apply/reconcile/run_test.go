package reconcile

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mana/personactl/apply"
	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/plan"
	"github.com/mana/personactl/state"
	"github.com/mana/personactl/state/file"
)

// memLive is mana-auth as a map: a Live and a Writer.
type memLive struct {
	mu       sync.Mutex
	personas map[string]state.LivePersona
	people   map[string]bool // addresses held by users who are not personas
	next     int
	writes   int
}

func (m *memLive) Personas(context.Context) ([]state.LivePersona, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []state.LivePersona
	for _, p := range m.personas {
		out = append(out, p)
	}
	return out, nil
}

func (m *memLive) AddressOwners(_ context.Context, emails []string) (map[string]state.Owner, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]state.Owner{}
	for _, e := range emails {
		if p, ok := m.personas[e]; ok {
			out[e] = state.Owner{Kind: state.AddressPersona, UserID: p.UserID}
		} else if m.people[e] {
			out[e] = state.Owner{Kind: state.AddressTaken, UserID: "person"}
		}
	}
	return out, nil
}

func (m *memLive) Upsert(_ context.Context, p catalog.Persona, _ string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.writes++
	cur, ok := m.personas[p.Email]
	if !ok {
		m.next++
		cur.UserID = "u" + string(rune('0'+m.next))
	}
	cur.Values = p
	m.personas[p.Email] = cur
	return cur.UserID, nil
}

func (m *memLive) Delete(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.writes++
	for e, p := range m.personas {
		if p.UserID == id {
			delete(m.personas, e)
		}
	}
	return nil
}

func (m *memLive) FindPersona(_ context.Context, email string) (string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.personas[email]
	return p.UserID, ok, nil
}

func persona(email string) catalog.Persona {
	return catalog.Persona{Name: "N", Email: email, Archetype: "a", SystemPrompt: "a prompt of twenty characters or more", ModuleMix: map[string]float64{"todo": 1}, TickCadence: "daily"}
}

func session(t *testing.T, live *memLive, desired ...catalog.Persona) *Session {
	t.Helper()
	b, err := file.New(t.TempDir()+"/personactl.state.json", file.Options{Warn: func(string) {}})
	if err != nil {
		t.Fatal(err)
	}
	secret, err := catalog.NewSecret("a-test-seed-secret-of-some-length")
	if err != nil {
		t.Fatal(err)
	}
	return &Session{
		Catalog:     func() (*catalog.Catalog, error) { return &catalog.Catalog{Personas: desired}, nil },
		Backend:     b,
		Live:        live,
		Secret:      &secret,
		Workspace:   "default",
		Parallelism: 2,
	}
}

// TestTokenCheckedAgainAfterApproval: a token that was fine when the plan
// was shown but expires soon after the person took their time to approve
// is refused before the first write.
func TestTokenCheckedAgainAfterApproval(t *testing.T) {
	live := &memLive{personas: map[string]state.LivePersona{}}
	s := session(t, live, persona("persona.a@mana.test"))
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	_, err := s.Apply(context.Background(), Request{
		Operation:   "apply",
		Writer:      live,
		TokenExpiry: now.Add(5 * time.Minute),
		Approve:     func(*plan.Plan) error { now = now.Add(4 * time.Minute); return nil },
		Run:         apply.Options{Parallelism: 2},
	})
	if err == nil || !strings.Contains(err.Error(), "admin token expires") {
		t.Fatalf("err = %v; want the token refused after the slow approval", err)
	}
	if live.writes != 0 {
		t.Errorf("%d writes with a token about to expire", live.writes)
	}
}

// TestCheckToken: a token must outlive the writes, at the pace the reads
// were answered, by TokenMargin; the refusal says when it expires and
// where a fresh one goes.
func TestCheckToken(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	p := &plan.Plan{}
	for i := range 60 {
		p.Changes = append(p.Changes, plan.Change{Email: fmt.Sprintf("p%02d@mana.test", i), Action: plan.Create})
	}
	// 11 reads in 11 s, one at a time: a second a request, so the 60
	// writes need a minute.
	paced := &Snapshot{Requests: 11, Took: 11 * time.Second}
	for _, tc := range []struct {
		name        string
		snap        *Snapshot
		left        time.Duration
		parallelism int
		source      string
		want        string // "" accepts
	}{
		{"no expiry known", &Snapshot{}, 0, 1, "", ""},
		{"exactly the margin left", &Snapshot{}, TokenMargin, 1, "", ""},
		{"less than the margin", &Snapshot{}, TokenMargin - time.Second, 1, "", "(in 1m59s), less than 2m0s from now; nothing was changed; mint a fresh admin token, put it in MANA_ADMIN_JWT"},
		{"expired", &Snapshot{}, -time.Minute, 1, "the file tok.txt", "(expired 1m0s ago), less than 2m0s from now; nothing was changed; mint a fresh admin token, put it in the file tok.txt"},
		{"the writes' time and the margin", paced, time.Minute + TokenMargin + time.Second, 1, "", ""},
		{"the writes' time but not the margin", paced, time.Minute + TokenMargin - time.Second, 1, "", "(11 requests in 11s) its 60 writes need about 1m0s"},
		// The reads ran at the writes' parallelism: each request took
		// twice as long of one slot's time.
		{"the reads ran two at a time too", paced, time.Minute + TokenMargin - time.Second, 2, "", "its 60 writes need about 1m0s"},
		{"fewer requests than slots", &Snapshot{Requests: 2, Took: 2 * time.Second}, 30*time.Second + TokenMargin - time.Second, 4, "", "its 60 writes need about 30s"},
	} {
		s := &Session{TokenSource: tc.source}
		expiry := now.Add(tc.left)
		if tc.name == "no expiry known" {
			expiry = time.Time{}
		}
		err := s.checkToken(p, tc.snap, expiry, now, tc.parallelism)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v; want %q", tc.name, err, tc.want)
		}
	}
}

// twoLivePersonas is a session over a catalog of two personas, a and b,
// both live (users ua and ub).
func twoLivePersonas(t *testing.T) (a, b catalog.Persona, s *Session) {
	a, b = persona("persona.a@mana.test"), persona("persona.b@mana.test")
	live := &memLive{personas: map[string]state.LivePersona{
		a.Email: {UserID: "ua", Values: a},
		b.Email: {UserID: "ub", Values: b},
	}}
	return a, b, session(t, live, a, b)
}

// TestVerifyAddsNoRecordFromAStaleRead: when another run wrote the state
// between verify's read and its recording, verify stamps only the records
// whose user it logged into and adds none from its older read of live.
func TestVerifyAddsNoRecordFromAStaleRead(t *testing.T) {
	a, _, s := twoLivePersonas(t)
	ctx := context.Background()
	// The state records a only.
	lock, err := s.Backend.Lock(ctx, "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := lock.Write(ctx, &state.State{Version: state.FormatVersion, Personas: []state.RecordedPersona{{Email: a.Email, UserID: "ua", Values: a}}}); err != nil {
		t.Fatal(err)
	}
	lock.Release()
	// Another run writes the state while verify logs in.
	auth := &authOnce{do: func() {
		l, err := s.Backend.Lock(ctx, "another run", 0)
		if err != nil {
			t.Error(err)
			return
		}
		defer l.Release()
		st, _ := s.Backend.Read(ctx)
		if err := l.Write(ctx, st); err != nil {
			t.Error(err)
		}
	}}
	v, err := s.Verify(ctx, VerifyRequest{Auth: auth, Record: true})
	if err != nil || !v.Ready() {
		t.Fatalf("verify: %v, %+v", err, v)
	}
	st, err := s.Backend.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Personas) != 1 || st.Personas[0].Email != a.Email || st.Personas[0].SecretFingerprint == "" {
		t.Errorf("state after verify = %+v; want only a, stamped", st.Personas)
	}
}

// authOnce logs every persona in as ready, running do once before the
// first answer.
type authOnce struct {
	once sync.Once
	do   func()
}

func (a *authOnce) Login(context.Context, string, string) (state.LoginResult, error) {
	a.once.Do(a.do)
	return state.LoginResult{Status: state.LoginReady, Kind: "persona"}, nil
}

// TestVerifyTargetsInAnyLetterCase: addresses are stored lower-case, so a
// target written with capitals names the same persona.
func TestVerifyTargetsInAnyLetterCase(t *testing.T) {
	_, b, s := twoLivePersonas(t)
	v, err := s.Verify(context.Background(), VerifyRequest{Auth: &authOnce{do: func() {}}, Emails: []string{"Persona.B@Mana.Test"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Personas) != 1 || v.Personas[0].Email != b.Email || !v.Ready() {
		t.Errorf("verify of Persona.B@Mana.Test = %+v; want b, ready", v.Personas)
	}
}

// TestStaleErrorIsOneNeutralLine: the reasons quote live user ids, which
// may hold escape sequences and line breaks; the error shows them escaped.
func TestStaleErrorIsOneNeutralLine(t *testing.T) {
	err := &StaleError{Why: []string{"persona.a@mana.test: planned as a create, but live persona u9\x1b[2J\n## heading has the address now", "the recorded state changed"}}
	text := err.Error()
	if strings.ContainsAny(text, "\x1b\n") || !strings.Contains(text, `u9\x1b[2J\n## heading has the address now; the recorded state changed`) {
		t.Errorf("StaleError = %q", text)
	}
}
