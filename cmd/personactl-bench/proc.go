package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// measure is one side of a row: what one run cost.
type measure struct {
	Wall time.Duration // from start to exit
	CPU  time.Duration // user + system time of the process
	RSS  int64         // the process's peak resident set, in bytes, from the OS
	// Requests counts, by "METHOD pattern", what the server saw during the run.
	Requests map[string]int
}

// total is the number of requests the server counted.
func (m measure) total() int {
	n := 0
	for _, v := range m.Requests {
		n += v
	}
	return n
}

// proc is one child process run.
type proc struct {
	path string
	args []string
	env  []string
	job  string // the child job (childEnv) of a lower bound; "" for personactl
	// self is this program, which starts the process for us (see
	// launchMain) so that its peak RSS is its own: Linux carries a
	// process's resident high-water mark across fork and exec, so a child
	// of this program, which holds mana-auth-dev's data, would report at
	// least this program's size.
	self string
}

// launched is what the launcher reports about the process it ran.
type launched struct {
	Wall   time.Duration `json:"wall"`
	CPU    time.Duration `json:"cpu"`
	MaxRSS int64         `json:"max_rss"`
	Err    string        `json:"err,omitempty"`
}

// run starts the process (through the launcher), waits for it and
// measures it; a failure returns what it printed on standard error.
func (p proc) run(ctx context.Context) (measure, []byte, error) {
	cmd := exec.CommandContext(ctx, p.self, append([]string{p.job, p.path}, p.args...)...)
	cmd.Env = append([]string{childEnv + "=launch"}, p.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	r, w, err := os.Pipe()
	if err != nil {
		return measure{}, nil, err
	}
	defer r.Close()
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		w.Close()
		return measure{}, nil, fmt.Errorf("starting %s: %w", p.path, err)
	}
	w.Close()
	report, _ := io.ReadAll(r)
	waitErr := cmd.Wait()
	var l launched
	if err := json.Unmarshal(report, &l); err != nil {
		return measure{}, stdout.Bytes(), fmt.Errorf("%s %s: the launcher reported nothing (%v): %s", p.path, strings.Join(p.args, " "), waitErr, lastLines(stderr.String(), 5))
	}
	m := measure{Wall: l.Wall, CPU: l.CPU, RSS: l.MaxRSS}
	if l.Err != "" || waitErr != nil {
		return m, stdout.Bytes(), fmt.Errorf("%s %s: %s%v: %s", p.path, strings.Join(p.args, " "), l.Err, waitErr, lastLines(stderr.String(), 5))
	}
	return m, stdout.Bytes(), nil
}

// launchMain runs the command in args[1:] with this process's standard
// streams, as the child job args[0] ("" for none), and reports its wall time, CPU time and peak RSS on file
// descriptor 3, as JSON. This process is small, so the peak RSS the
// kernel reports for its child is the child's own.
func launchMain(args []string) int {
	report := os.NewFile(3, "report")
	var l launched
	defer func() { json.NewEncoder(report).Encode(l) }()
	if len(args) < 2 {
		l.Err = "nothing to launch"
		return 2
	}
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, childEnv+"=") })
	if args[0] != "" {
		env = append(env, childEnv+"="+args[0])
	}
	cmd := exec.Command(args[1], args[2:]...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, os.Stdout, os.Stderr
	start := time.Now()
	err := cmd.Run()
	l.Wall = time.Since(start)
	if cmd.ProcessState != nil {
		l.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		l.MaxRSS = peakRSS(cmd.ProcessState)
	}
	if err != nil {
		l.Err = err.Error()
		return 1
	}
	return 0
}

// lastLines keeps the end of a long output.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// median of a non-empty list.
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
