package statetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mana/personactl/state"
)

// The conformance tests of a backend's state lock: contention, waiting,
// timeouts, a released or dead holder.

// expectLocked checks that err is a *state.LockedError naming holder.
func expectLocked(t *testing.T, err error, holder state.LockInfo) *state.LockedError {
	t.Helper()
	var le *state.LockedError
	if !errors.As(err, &le) {
		t.Fatalf("Lock while held: %v; want *state.LockedError", err)
	}
	h := le.Holder
	if h.ID != holder.ID || h.Operation != holder.Operation || h.PID != holder.PID || h.Who == "" || h.Host == "" {
		t.Errorf("LockedError names %+v; want the holder %+v", h, holder)
	}
	if !holder.Created.IsZero() && !h.Created.Equal(holder.Created) {
		t.Errorf("LockedError says locked since %s, the holder took it at %s", h.Created, holder.Created)
	}
	if le.Where == "" || !strings.Contains(le.Error(), h.ID) || !strings.Contains(le.Error(), "force-unlock") {
		t.Errorf("LockedError message %q does not name the state and the lock ID", le.Error())
	}
	return le
}

func testLockContention(t *testing.T, s Store) {
	a, b := s.Open(t), s.Open(t)
	before := time.Now()
	la := lock(t, a, "apply")
	info := la.Info()
	if !uuidV4.MatchString(info.ID) || info.Operation != "apply" || info.Created.Before(before.Add(-time.Second)) || info.Created.After(time.Now().Add(time.Second)) {
		t.Errorf("lock info %+v", info)
	}
	for _, h := range []state.Backend{b, a} {
		start := time.Now()
		_, err := h.Lock(context.Background(), "plan", 0)
		if d := time.Since(start); d > 15*time.Second { // a bound loose enough for a loaded machine: it catches a wait, not a slow connect
			t.Errorf("Lock with no timeout took %s; it should fail at once", d)
		}
		expectLocked(t, err, info)
	}
}

func testLockWaitsForRelease(t *testing.T, s Store) {
	a, b := s.Open(t), s.Open(t)
	la := lock(t, a, "apply")
	const hold = 300 * time.Millisecond
	time.AfterFunc(hold, func() { la.Release() })
	start := time.Now()
	lb, err := b.Lock(context.Background(), "destroy", 10*time.Second)
	d := time.Since(start)
	if err != nil {
		t.Fatalf("Lock with a 10s timeout while the holder releases after %s: %v", hold, err)
	}
	defer lb.Release()
	if d < hold-50*time.Millisecond || d > 30*time.Second {
		t.Errorf("Lock took %s; want about %s", d, hold)
	}
	if lb.Info().Operation != "destroy" {
		t.Errorf("new lock info %+v", lb.Info())
	}
	t.Logf("waited %s for a lock released after %s", d.Round(time.Millisecond), hold)
}

func testLockTimeoutRunsOut(t *testing.T, s Store) {
	a, b := s.Open(t), s.Open(t)
	la := lock(t, a, "apply")
	const timeout = 400 * time.Millisecond
	start := time.Now()
	_, err := b.Lock(context.Background(), "apply", timeout)
	d := time.Since(start)
	expectLocked(t, err, la.Info())
	if d < timeout || d > timeout+30*time.Second {
		t.Errorf("Lock with a %s timeout failed after %s", timeout, d)
	}
}

func testLockWaitCancelled(t *testing.T, s Store) {
	a, b := s.Open(t), s.Open(t)
	lock(t, a, "apply")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(150*time.Millisecond, cancel)
	start := time.Now()
	_, err := b.Lock(ctx, "apply", time.Minute)
	if !errors.Is(err, context.Canceled) || time.Since(start) > 30*time.Second {
		t.Errorf("Lock cancelled while waiting: %v after %s; want context.Canceled at once", err, time.Since(start))
	}
}

func testReleasedLockRefusesWrites(t *testing.T, s Store) {
	b := s.Open(t)
	ctx := context.Background()
	l := lock(t, b, "apply")
	write(t, l, &state.State{Personas: samplePersonas()})
	must(t, l.Release())
	if err := l.Release(); err != nil {
		t.Errorf("second Release: %v; want it harmless", err)
	}
	cur := read(t, b)
	if err := l.Write(ctx, cur); err == nil {
		t.Error("Write through a released lock succeeded")
	}
	if err := l.OpenJournal(ctx, state.JournalEntry{ID: "after-release", Operation: "apply", Started: at}); err == nil {
		t.Error("OpenJournal through a released lock succeeded")
	}
	l2 := lock(t, b, "apply")
	write(t, l2, cur)
	if cur.Serial != 2 {
		t.Errorf("serial after relocking: %d", cur.Serial)
	}
}

func testLockHeldByAnotherProcess(t *testing.T, s Store) {
	child := StartChild(t, s, RoleHold)
	b := s.Open(t)
	_, err := b.Lock(context.Background(), "apply", 0)
	le := expectLocked(t, err, state.LockInfo{ID: child.LockID, Operation: HoldOperation, PID: child.PID})
	t.Logf("while a child holds the lock: %v", le)
	_, err = b.Lock(context.Background(), "apply", 300*time.Millisecond)
	expectLocked(t, err, le.Holder)

	child.Kill(t)
	start := time.Now()
	l, err := b.Lock(context.Background(), "apply", 15*time.Second)
	if err != nil {
		t.Fatalf("Lock after the holder was killed: %v", err)
	}
	defer l.Release()
	t.Logf("lock free %s after SIGKILL of its holder", time.Since(start).Round(time.Millisecond))
	write(t, l, read(t, b))
}

func testForceUnlockAfterHolderDied(t *testing.T, s Store) {
	ctx := context.Background()
	b := s.Open(t)
	if err := b.ForceUnlock(ctx, "no-lock"); err == nil {
		t.Error("ForceUnlock of an unlocked state succeeded")
	}
	child := StartChild(t, s, RoleHold)
	child.Kill(t)
	if w, ok := s.(HolderWaiter); ok {
		w.WaitHolderGone(t)
	}
	err := b.ForceUnlock(ctx, "0b6a3c4e-1111-4222-8333-444455556666")
	if err == nil || !strings.Contains(err.Error(), "0b6a3c4e-1111-4222-8333-444455556666") {
		t.Errorf("ForceUnlock with the wrong ID: %v; want a refusal naming the ID given", err)
	}
	if err := b.ForceUnlock(ctx, child.LockID); err != nil {
		t.Fatalf("ForceUnlock(%s) after its holder died: %v", child.LockID, err)
	}
	if err := b.ForceUnlock(ctx, child.LockID); err == nil {
		t.Error("a second ForceUnlock of the same lock succeeded; want 'not locked'")
	}
	l := lock(t, b, "apply")
	l.Release()
}

func testNegativeLockTimeoutRefused(t *testing.T, s Store) {
	b := s.Open(t)
	_, err := b.Lock(context.Background(), "apply", -5*time.Second)
	if !errors.Is(err, state.ErrNegativeTimeout) || !strings.Contains(err.Error(), "--lock-timeout") {
		t.Errorf("Lock with timeout -5s: %v; want ErrNegativeTimeout saying what to pass", err)
	}
	lock(t, s.Open(t), "apply") // and it left nothing locked
}
