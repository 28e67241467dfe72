package reconcile

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mana/personactl/state"
)

// authFunc answers each login with what the function says for its address.
type authFunc func(email string) (state.LoginResult, error)

func (f authFunc) Login(_ context.Context, email, _ string) (state.LoginResult, error) {
	return f(email)
}

// TestVerifyLockoutMinutesRoundUp: a lockout is reported in whole minutes,
// rounded up: one second left is 1 minute, never 0, and whole minutes stay
// as they are.
func TestVerifyLockoutMinutesRoundUp(t *testing.T) {
	a, b, s := twoLivePersonas(t)
	left := map[string]time.Duration{a.Email: time.Second, b.Email: 30 * time.Minute}
	v, err := s.Verify(context.Background(), VerifyRequest{Auth: authFunc(func(email string) (state.LoginResult, error) {
		return state.LoginResult{Status: state.LoginLocked, RetryAfter: left[email]}, nil
	})})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{a.Email: 1, b.Email: 30}
	for _, r := range v.Personas {
		if r.Status != "locked" || r.LockedMin != want[r.Email] || !strings.Contains(r.Detail, fmt.Sprintf("about %d minute", want[r.Email])) {
			t.Errorf("%s locked for %s: %+v; want %d minute(s)", r.Email, left[r.Email], r, want[r.Email])
		}
	}
}

// TestVerifyRecordsNoFingerprintForAReplacedUser: another run replaces a
// persona while verify logs in as the user it read; the login proved the
// password of that user, not of the new one, so only the persona whose
// user is still the one logged into gets the fingerprint.
func TestVerifyRecordsNoFingerprintForAReplacedUser(t *testing.T) {
	a, b, s := twoLivePersonas(t)
	ctx := context.Background()
	write := func(st *state.State) error {
		l, err := s.Backend.Lock(ctx, "another run", 0)
		if err != nil {
			return err
		}
		defer l.Release()
		return l.Write(ctx, st)
	}
	if err := write(&state.State{Version: state.FormatVersion, Personas: []state.RecordedPersona{{Email: a.Email, UserID: "ua", Values: a}, {Email: b.Email, UserID: "ub", Values: b}}}); err != nil {
		t.Fatal(err)
	}
	// The other run replaces a while verify is logging in.
	auth := &authOnce{do: func() {
		st, err := s.Backend.Read(ctx)
		if err == nil {
			st.Personas[0].UserID = "ua-replaced"
			err = write(st)
		}
		if err != nil {
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
	got := map[string]state.RecordedPersona{}
	for _, p := range st.Personas {
		got[p.Email] = p
	}
	if p := got[a.Email]; p.UserID != "ua-replaced" || p.Credentials != "" {
		t.Errorf("the replaced persona is recorded as %+v; want user ua-replaced with no fingerprint", p)
	}
	if p := got[b.Email]; p.Credentials == "" || v.Recorded != 1 {
		t.Errorf("the persona logged into is recorded as %+v, %d recorded; want it alone stamped", p, v.Recorded)
	}
}
