package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// measure is one side of a row: what one run cost.
type measure struct {
	Wall time.Duration // from start to exit (in-process jobs: the median operation)
	CPU  time.Duration // user + system time of the process (in-process jobs: per operation)
	RSS  int64         // the process's peak resident set, in bytes, from the OS
	// Requests counts, by "METHOD pattern", what the server saw during the
	// run; nil where no server was involved.
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
}

// run starts the process, waits for it and measures it; a failure returns
// what it printed on standard error.
func (p proc) run(ctx context.Context) (measure, []byte, error) {
	cmd := exec.CommandContext(ctx, p.path, p.args...)
	cmd.Env = p.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	m := measure{Wall: time.Since(start)}
	if cmd.ProcessState != nil {
		m.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		m.RSS = peakRSS(cmd.ProcessState)
	}
	if err != nil {
		return m, stdout.Bytes(), fmt.Errorf("%s %s: %v: %s", p.path, strings.Join(p.args, " "), err, lastLines(stderr.String(), 5))
	}
	return m, stdout.Bytes(), nil
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
