package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mana/personactl/state/file"
)

// buildPersonactl builds the command into a temporary directory, for tests
// that need a process of their own (to kill it).
func buildPersonactl(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "personactl")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startPersonactl starts the built command in the environment t.Setenv set
// up; done receives its exit.
func startPersonactl(t *testing.T, bin string, args ...string) (cmd *exec.Cmd, out, errb *bytes.Buffer, done <-chan error) {
	t.Helper()
	cmd = exec.Command(bin, args...)
	cmd.Env = os.Environ()
	out, errb = new(bytes.Buffer), new(bytes.Buffer)
	cmd.Stdout, cmd.Stderr = out, errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exit := make(chan error, 1)
	go func() { exit <- cmd.Wait() }()
	return cmd, out, errb, exit
}

// TestE2EKilledApplyConverges kills an apply with SIGKILL in the middle of its
// creates: the next plan reports the interrupted run, and the next apply
// converges without duplicate users and closes the journal.
func TestE2EKilledApplyConverges(t *testing.T) {
	e := newE2E(t)
	bin := buildPersonactl(t)
	e.faults().SetLatency(40 * time.Millisecond)

	cmd, out, errb, done := startPersonactl(t, bin, "apply", "--auto-approve", "--parallelism=1")
	deadline := time.Now().Add(20 * time.Second)
	for len(e.live()) < 3 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the apply created nothing in time\n%s\n%s", out.String(), errb.String())
		}
		select {
		case err := <-done:
			t.Fatalf("the apply finished before it could be killed (%v)\n%s\n%s", err, out.String(), errb.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-done
	e.faults().SetLatency(0)
	// The server may still be handling the request the dead process sent
	// last (hashing a new user's password is slow under -race); let it
	// finish, so that the recovery below does not race it.
	time.Sleep(500 * time.Millisecond)
	if tok := e.inst.AdminToken; strings.Contains(out.String()+errb.String(), tok) {
		t.Fatal("the killed apply printed the admin JWT")
	}
	n := len(e.live())
	if n == 10 {
		t.Fatalf("the kill came too late: all 10 personas are live")
	}

	r := e.must(0, "plan")
	if !strings.Contains(r.err, "interrupted") {
		t.Errorf("plan does not report the killed apply\n%s", r)
	}
	r = e.must(0, "apply", "--auto-approve")
	if !strings.Contains(r.err, "interrupted") {
		t.Errorf("apply does not report the killed apply\n%s", r)
	}
	live := e.live()
	if len(live) != 10 {
		t.Errorf("%d live after recovery, want 10", len(live))
	}
	for _, p := range e.personas {
		if c := e.users(p.Email); c != 1 {
			t.Errorf("%d users with %s, want 1", c, p.Email)
		}
		e.inst.SignIn(t, p.Email, e.secret.Password(p.Email))
	}
	if st := e.recorded(); len(st.Personas) != 10 {
		t.Errorf("%d personas recorded, want 10", len(st.Personas))
	}
	b, err := file.New(e.state)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if open, err := b.OpenJournals(context.Background()); err != nil || len(open) != 0 {
		t.Errorf("journal entries still open: %d (%v)", len(open), err)
	}
	r = e.must(0, "plan", "--detailed-exitcode")
	if strings.Contains(r.err, "interrupted") {
		t.Errorf("plan still reports an interrupted run\n%s", r)
	}
}

// TestE2EInterruptedDestroyRecordsWhatItDid sends SIGINT to a destroy in the
// middle of its deletes: the deletes in flight finish, no other starts, the
// state records exactly what is gone, and the run ends cleanly with exit 1.
func TestE2EInterruptedDestroyRecordsWhatItDid(t *testing.T) {
	e := newE2E(t)
	e.applyAll()
	bin := buildPersonactl(t)
	e.faults().SetLatency(60 * time.Millisecond)

	cmd, out, errb, done := startPersonactl(t, bin, "destroy", "--auto-approve", "--parallelism=2")
	deadline := time.Now().Add(20 * time.Second)
	for len(e.live()) > 7 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the destroy deleted nothing in time\n%s\n%s", out.String(), errb.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := <-done
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("interrupted destroy: %v, want exit 1\n%s\n%s", err, out.String(), errb.String())
	}
	if !strings.Contains(errb.String(), "Interrupted: no new step starts") || !strings.Contains(errb.String(), "not started") {
		t.Errorf("the interruption is not explained\n%s", errb.String())
	}
	e.faults().SetLatency(0)
	live := e.live()
	if len(live) == 0 {
		t.Fatal("the interrupt came too late: everything was deleted")
	}
	st := e.recorded()
	if len(st.Personas) != len(live) {
		t.Errorf("%d personas recorded but %d live: the state does not say what the destroy did", len(st.Personas), len(live))
	}
	for _, p := range st.Personas {
		if _, ok := live[p.Email]; !ok {
			t.Errorf("%s is recorded but was deleted", p.Email)
		}
	}
	r := e.must(0, "drift")
	if strings.Contains(r.out, "deleted outside personactl") || strings.Contains(r.err, "interrupted") {
		t.Errorf("after the interrupted destroy, drift blames outsiders or an interrupted run:\n%s", r)
	}
}
