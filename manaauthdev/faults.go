package manaauthdev

import (
	"context"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// DefaultFaultSeed seeds the fault draws of a new Server.
const DefaultFaultSeed = 1

// Faults switches on failures of the admin API (every path under
// /api/v1/admin) at run time, and counts the requests the server saw on
// every path. The draws come from a seeded source, so a test that sends
// its requests one after the other sees the same faults on every run. All
// methods are safe for concurrent use; the zero rates mean no faults.
type Faults struct {
	mu          sync.Mutex
	seed        uint64
	rng         *rand.Rand
	errorRate   float64
	errorStatus int
	lostRate    float64
	resetRate   float64
	latency     time.Duration
	failing     map[string]bool // lowercased addresses
	counts      map[string]int  // "METHOD pattern" → requests
}

func newFaults() *Faults {
	f := &Faults{}
	f.Seed(DefaultFaultSeed)
	f.counts = map[string]int{}
	f.failing = map[string]bool{}
	return f
}

// Seed restarts the draws from seed.
func (f *Faults) Seed(seed uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seed = seed
	f.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// SetErrorRate answers the fraction rate (0 to 1) of admin requests with
// status (e.g. 503) and the middleware envelope, before anything else
// happens: nothing is written.
func (f *Faults) SetErrorRate(rate float64, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errorRate, f.errorStatus = rate, status
}

// SetLostAnswerRate makes the fraction rate of admin requests lose their
// answer: the request is handled (a write happens) but the client gets a
// 502 from "the gateway".
func (f *Faults) SetLostAnswerRate(rate float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lostRate = rate
}

// SetResetRate resets the connection of the fraction rate of admin requests
// before they are handled: the client sees a reset and no answer.
func (f *Faults) SetResetRate(rate float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resetRate = rate
}

// SetLatency delays every admin request by d before it is handled.
func (f *Faults) SetLatency(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latency = d
}

// FailWritesFor makes every write of that address fail with 500 Internal
// server error, without writing: POST of a persona with it (any letter
// case) and DELETE of the user who has it.
func (f *Faults) FailWritesFor(email string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing[strings.ToLower(email)] = true
}

// Reset switches every fault off, zeroes the counters and restarts the
// draws from the seed.
func (f *Faults) Reset() {
	f.mu.Lock()
	f.errorRate, f.errorStatus, f.lostRate, f.resetRate, f.latency = 0, 0, 0, 0, 0
	f.failing = map[string]bool{}
	f.counts = map[string]int{}
	seed := f.seed
	f.mu.Unlock()
	f.Seed(seed)
}

// ResetCounts zeroes the request counters only.
func (f *Faults) ResetCounts() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counts = map[string]int{}
}

// Requests returns how many requests the server saw with that method and
// path pattern: PathHealth, PathSignUp, PathSignIn, PathPersonas,
// PathPersona (any id), PathUsers, PathOtherAdmin or PathOther.
func (f *Faults) Requests(method, pattern string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts[method+" "+pattern]
}

// Counts returns a copy of every counter, keyed "METHOD pattern".
func (f *Faults) Counts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]int, len(f.counts))
	for k, v := range f.counts {
		out[k] = v
	}
	return out
}

// WriteRequests counts the requests under /api/v1/admin with a method that
// writes (POST, PUT, PATCH, DELETE), whatever their answer.
func (f *Faults) WriteRequests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for k, v := range f.counts {
		method, pattern, _ := strings.Cut(k, " ")
		switch method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			if strings.HasPrefix(pattern, PathAdmin) {
				n += v
			}
		}
	}
	return n
}

func (f *Faults) count(method, pattern string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counts[method+" "+pattern]++
}

// fault is what one request drew.
type fault struct {
	reset       bool
	errorStatus int
	lost        bool
}

// draw decides the faults of one admin request. It always draws three
// numbers, so the sequence does not depend on which faults are on.
func (f *Faults) draw() fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	r1, r2, r3 := f.rng.Float64(), f.rng.Float64(), f.rng.Float64()
	var out fault
	out.reset = r1 < f.resetRate
	if r2 < f.errorRate && f.errorStatus != 0 {
		out.errorStatus = f.errorStatus
	}
	out.lost = r3 < f.lostRate
	return out
}

// wait sleeps for the configured latency, or until ctx ends.
func (f *Faults) wait(ctx context.Context) error {
	f.mu.Lock()
	d := f.latency
	f.mu.Unlock()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *Faults) writeFails(email string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failing[strings.ToLower(email)]
}

// resetConnection drops the client's connection without an answer: with a
// TCP reset when the connection can be taken over, else by aborting the
// handler.
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		tcp.SetLinger(0)
	}
	conn.Close()
}
