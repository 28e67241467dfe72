package statetest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mana/personactl/state"
)

// roleEnv tells a re-executed test binary which helper role to play.
const roleEnv = "PERSONACTL_STATETEST_ROLE"

// The helper roles a child process can play.
const (
	// RoleHold takes the lock and keeps it until killed.
	RoleHold = "hold"
	// roleWriteLoop takes the lock and writes state after state until killed.
	roleWriteLoop = "write-loop"
	// roleAppendLoop takes the lock, opens a journal entry and appends
	// batches of steps to it until killed.
	roleAppendLoop = "append-loop"
)

// appendBatch is how many steps the append-loop child appends per call.
const appendBatch = 25

// appendRoundEnv numbers the append-loop child's entry, one per round.
const appendRoundEnv = "PERSONACTL_STATETEST_ROUND"

// appendLoopEntry is the ID of the entry the append-loop child numbered round opens.
func appendLoopEntry(round int) string { return fmt.Sprintf("append-loop-%d", round) }

// HoldOperation is the operation a holding child names in its lock.
const HoldOperation = "statetest hold"

// HelperProcess plays a helper role when this process is a child that the
// suite started, and never returns then; otherwise it returns at once.
// Call it first in the backend's TestMain; reopen opens the store the
// parent named in the environment (Store.Env).
func HelperProcess(reopen func(ctx context.Context) (state.Backend, error)) {
	role := os.Getenv(roleEnv)
	if role == "" {
		return
	}
	// The parent holds the child's standard input open; when the parent
	// goes away, so does the child, lock and all.
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(3)
	}()
	if err := playRole(role, reopen); err != nil {
		fmt.Fprintf(os.Stderr, "statetest child (%s): %v\n", role, err)
		os.Exit(1)
	}
	os.Exit(0)
}

func playRole(role string, reopen func(ctx context.Context) (state.Backend, error)) error {
	op := map[string]string{RoleHold: HoldOperation, roleWriteLoop: "statetest write-loop", roleAppendLoop: "statetest append-loop"}[role]
	if op == "" {
		return fmt.Errorf("unknown role %q", role)
	}
	ctx := context.Background()
	b, err := reopen(ctx)
	if err != nil {
		return err
	}
	l, err := b.Lock(ctx, op, 10*time.Second)
	if err != nil {
		return err
	}
	fmt.Printf("locked %d %s\n", os.Getpid(), l.Info().ID)
	switch role {
	case RoleHold:
		for { // until killed, or until stdin closes
			time.Sleep(time.Hour)
		}
	case roleWriteLoop:
		for {
			s, err := b.Read(ctx)
			if err != nil {
				return err
			}
			s.Personas = crashPersonas(s.Serial + 1)
			if err := l.Write(ctx, s); err != nil {
				return err
			}
			fmt.Printf("wrote %d\n", s.Serial)
		}
	default: // roleAppendLoop
		round, _ := strconv.Atoi(os.Getenv(appendRoundEnv))
		e := sampleEntry(appendLoopEntry(round))
		if err := l.OpenJournal(ctx, e); err != nil {
			return err
		}
		fmt.Printf("opened %s\n", e.ID)
		for n := 0; ; n += appendBatch {
			steps := make([]state.JournalStep, appendBatch)
			for i := range steps {
				steps[i] = sampleStep(fmt.Sprintf("step-%06d@personas.mana.test", n+i), state.StepFailed)
				steps[i].Error = strings.Repeat("upstream answered 503 Service Unavailable; ", 20)
			}
			if err := l.AppendSteps(ctx, e.ID, steps); err != nil {
				return err
			}
			fmt.Printf("appended %d\n", n+appendBatch)
		}
	}
}

// children counts the children started, so that each append-loop child
// opens an entry of its own.
var children atomic.Int64

// Child is a re-executed test binary playing a helper role.
type Child struct {
	PID int
	// LockID is the ID of the lock the child took.
	LockID string

	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string
	stderr *syncBuffer
	once   sync.Once
}

// StartChild starts a child process playing role on store and waits until
// it holds the lock.
func StartChild(t *testing.T, store Store, role string) *Child {
	t.Helper()
	n := children.Add(1)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), store.Env()...), roleEnv+"="+role, fmt.Sprintf("%s=%d", appendRoundEnv, n))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &Child{cmd: cmd, stdin: stdin, lines: make(chan string, 1<<16), stderr: &syncBuffer{}}
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child %s: %v", os.Args[0], err)
	}
	c.PID = cmd.Process.Pid
	t.Cleanup(func() { c.Kill(t) })
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	f := c.Expect(t, "locked", 20*time.Second)
	if len(f) != 2 || f[0] != strconv.Itoa(c.PID) {
		t.Fatalf("child said locked %v, want its pid %d and a lock ID", f, c.PID)
	}
	c.LockID = f[1]
	return c
}

// Expect waits for the child's next output line starting with word and
// returns the words after it.
func (c *Child) Expect(t *testing.T, word string, timeout time.Duration) []string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case line, ok := <-c.lines:
			if !ok {
				t.Fatalf("child %d ended before saying %q (does the backend's TestMain call statetest.HelperProcess?); its stderr: %s", c.PID, word, c.stderr.String())
			}
			f := strings.Fields(line)
			if len(f) > 0 && f[0] == word {
				return f[1:]
			}
		case <-deadline:
			t.Fatalf("child %d did not say %q within %s; its stderr: %s", c.PID, word, timeout, c.stderr.String())
		}
	}
}

// killAfter waits for the child to say word n times, lets it run for
// pause, kills it, and returns the number it said last after word, its
// output up to its death included.
func (c *Child) killAfter(t *testing.T, word string, n int, pause time.Duration) int64 {
	var last int64
	for range n {
		fmt.Sscan(c.Expect(t, word, 20*time.Second)[0], &last)
	}
	time.Sleep(pause)
	c.Kill(t)
	for line := range c.lines {
		if f := strings.Fields(line); len(f) == 2 && f[0] == word {
			fmt.Sscan(f[1], &last)
		}
	}
	return last
}

// Kill ends the child with SIGKILL, as a crash or an OOM kill would, and
// waits for it to be gone. Killing twice is harmless.
func (c *Child) Kill(t *testing.T) {
	c.once.Do(func() {
		c.cmd.Process.Signal(syscall.SIGKILL)
		c.cmd.Wait()
		c.stdin.Close()
	})
}

// syncBuffer is a bytes.Buffer safe for the writer goroutine exec starts.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
