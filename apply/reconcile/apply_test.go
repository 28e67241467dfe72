package reconcile

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mana/personactl/apply"
	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/plan"
	"github.com/mana/personactl/state"
)

// TestApply: what an apply writes, or why it writes nothing, for a new
// plan and a saved one; every case leaves the lock free.
func TestApply(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	a, b := persona("persona.a@mana.test"), persona("persona.b@mana.test")
	active := func(ago time.Duration) state.LivePersona {
		at := now.Add(-ago)
		return state.LivePersona{UserID: "ua", Values: a, History: state.History{LastActiveAt: &at}}
	}
	both := map[string]state.LivePersona{a.Email: {UserID: "ua", Values: a}, b.Email: {UserID: "ub", Values: b}}
	recordedBoth := []state.RecordedPersona{{Email: a.Email, UserID: "ua", Values: a}, {Email: b.Email, UserID: "ub", Values: b}}
	onlyA := map[string]state.LivePersona{a.Email: {UserID: "ua", Values: a}}
	recordedA := []state.RecordedPersona{{Email: a.Email, UserID: "ua", Values: a}}
	// planned is the plan a session would make now, for a saved plan or a
	// reviewed digest.
	planned := func(t *testing.T, s *Session, opts plan.Options) *plan.Plan {
		snap, err := s.Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.Plan(context.Background(), snap, opts)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tt := range []struct {
		name     string
		live     map[string]state.LivePersona
		recorded []state.RecordedPersona
		desired  []catalog.Persona
		people   []string
		open     bool // an interrupted run left its journal entry open
		req      func(t *testing.T, s *Session, live *memLive, r *Request)
		wantErr  string
		writes   int
		// state is the addresses recorded after the run; open, whether the
		// interrupted run's entry is still open.
		state    []string
		wantOpen bool
	}{
		{name: "creates", desired: []catalog.Persona{a}, writes: 1, state: []string{a.Email}},
		{name: "a person's address is a plan error", desired: []catalog.Persona{a}, people: []string{a.Email},
			wantErr: "the plan has errors (above); nothing was applied"},
		{name: "more deletes than allowed", live: both, recorded: recordedBoth,
			req: func(_ *testing.T, _ *Session, _ *memLive, r *Request) {
				r.Guards = plan.Guards{Limit: true, MaxDeletes: 1}
			},
			wantErr: "refusing to apply, nothing was changed: the plan deletes 2 personas", state: []string{a.Email, b.Email}},
		{name: "as many deletes as allowed", live: both, recorded: recordedBoth,
			req: func(_ *testing.T, _ *Session, _ *memLive, r *Request) {
				r.Guards = plan.Guards{Limit: true, MaxDeletes: 2}
			},
			writes: 2, state: []string{}},
		{name: "a persona active an hour ago is not deleted", live: map[string]state.LivePersona{a.Email: active(time.Hour)}, recorded: recordedA,
			wantErr: "active in the last 24 hours", state: []string{a.Email}},
		{name: "activity is measured by the session's clock", live: map[string]state.LivePersona{a.Email: active(48 * time.Hour)}, recorded: recordedA,
			writes: 1, state: []string{}},
		{name: "not the reviewed digest", desired: []catalog.Persona{a},
			req: func(_ *testing.T, _ *Session, _ *memLive, r *Request) {
				r.ExpectDigest, r.Reviewed = "sha256:reviewed", &plan.Plan{}
			},
			wantErr: "not the reviewed sha256:reviewed: live, the state or the catalog changed since the review, so this is not the plan that was approved; nothing was changed; review the new plan and approve its digest\n  * persona.a@mana.test"},
		{name: "the reviewed digest", desired: []catalog.Persona{a},
			req: func(t *testing.T, s *Session, _ *memLive, r *Request) {
				r.ExpectDigest = planned(t, s, plan.Options{}).ChangesDigest()
			},
			writes: 1, state: []string{a.Email}},
		{name: "a token about to expire, before approval is asked", desired: []catalog.Persona{a},
			req: func(_ *testing.T, _ *Session, _ *memLive, r *Request) {
				r.TokenExpiry = now.Add(time.Minute)
				r.Approve = func(*plan.Plan) error { return errors.New("approval asked") }
			},
			wantErr: "the admin token expires at 2026-11-29T12:01:00Z (in 1m0s)"},
		{name: "approval refused", desired: []catalog.Persona{a},
			req: func(_ *testing.T, _ *Session, _ *memLive, r *Request) {
				r.Approve = func(*plan.Plan) error { return errors.New("apply cancelled") }
			},
			wantErr: "apply cancelled"},
		{name: "the plan not shown", desired: []catalog.Persona{a},
			req: func(_ *testing.T, _ *Session, _ *memLive, r *Request) {
				r.Show = func(*plan.Plan) error { return errors.New("stdout closed") }
			},
			wantErr: "stdout closed"},
		{name: "nothing to change closes an interrupted run's entry", live: onlyA, recorded: recordedA, desired: []catalog.Persona{a}, open: true,
			state: []string{a.Email}},
		{name: "a converged run closes it", desired: []catalog.Persona{a}, open: true, writes: 1, state: []string{a.Email}},
		{name: "a targeted run leaves it open", live: onlyA, recorded: recordedA, desired: []catalog.Persona{a, b}, open: true,
			req:    func(_ *testing.T, _ *Session, _ *memLive, r *Request) { r.Options.Targets = []string{b.Email} },
			writes: 1, state: []string{a.Email, b.Email}, wantOpen: true},
		{name: "a saved plan", desired: []catalog.Persona{a},
			req: func(t *testing.T, s *Session, _ *memLive, r *Request) {
				r.Saved = planned(t, s, plan.Options{})
				s.Catalog = nil // a saved plan holds its desired values
			},
			writes: 1, state: []string{a.Email}},
		{name: "a saved plan gone stale", desired: []catalog.Persona{a},
			req: func(t *testing.T, s *Session, live *memLive, r *Request) {
				r.Saved = planned(t, s, plan.Options{})
				live.personas[a.Email] = state.LivePersona{UserID: "someone else's", Values: a}
			},
			wantErr: "saved plan is stale, nothing was applied"},
		{name: "a saved plan of another workspace", desired: []catalog.Persona{a},
			req: func(t *testing.T, s *Session, _ *memLive, r *Request) {
				r.Saved = planned(t, s, plan.Options{})
				r.Saved.Workspace = "staging"
			},
			wantErr: `saved plan is for workspace "staging"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.live == nil {
				tt.live = map[string]state.LivePersona{}
			}
			live := &memLive{personas: map[string]state.LivePersona{}, people: map[string]bool{}}
			for e, p := range tt.live {
				live.personas[e] = p
			}
			for _, e := range tt.people {
				live.people[e] = true
			}
			s := session(t, live, tt.desired...)
			s.Now = func() time.Time { return now }
			if tt.recorded != nil {
				record(t, s, tt.recorded...)
			}
			if tt.open {
				openEntry(t, s, "j-interrupted")
			}
			req := Request{Operation: "apply", Writer: live, Run: apply.Options{Parallelism: 2}}
			if tt.req != nil {
				tt.req(t, s, live, &req)
			}
			out, err := s.Apply(ctx, req)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if live.writes != tt.writes {
				t.Errorf("%d writes, want %d", live.writes, tt.writes)
			}
			lock, err := s.Backend.Lock(ctx, "after", 0)
			if err != nil {
				t.Fatalf("the lock is still held: %v", err)
			}
			lock.Release()
			st, err := s.Backend.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var emails []string
			for _, p := range st.Personas {
				emails = append(emails, p.Email)
				written := !slices.ContainsFunc(tt.recorded, func(r state.RecordedPersona) bool { return r.Email == p.Email })
				if written && p.SecretFingerprint != s.Secret.Fingerprint(st.Lineage) {
					t.Errorf("%s recorded with fingerprint %q, want the seed secret's for lineage %q", p.Email, p.SecretFingerprint, st.Lineage)
				}
			}
			if tt.state != nil && strings.Join(emails, " ") != strings.Join(tt.state, " ") {
				t.Errorf("recorded %q, want %q", emails, tt.state)
			}
			if tt.writes > 0 && (st.Lineage == "" || out == nil || out.Result == nil) {
				t.Errorf("lineage %q, applied %+v; want a lineage and the run's result", st.Lineage, out)
			}
			if open, _ := s.Backend.OpenJournals(ctx); tt.open && (len(open) > 0) != tt.wantOpen {
				t.Errorf("open journal entries %d, want the interrupted one open: %v", len(open), tt.wantOpen)
			}
		})
	}
}
