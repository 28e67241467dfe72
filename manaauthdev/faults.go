package manaauthdev

import (
	"context"
	"maps"
	"math"
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
// /api/v1/admin, and the runner's login when SetLoginFaults is on) at run
// time, and counts the requests the server saw on every path. The draws
// come from a seeded source, so a test that sends its requests one after
// the other sees the same faults on every run. All methods are safe for
// concurrent use; the zero rates mean no faults.
//
// A request meets the faults in this order: its latency (SetLatency plus
// SetLatencyJitter), a reset, a 429 (SetRateLimit, SetThrottleRate), an
// error status (SetErrorRate), a lost answer (SetLostAnswerRate).
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

	// rng2 draws what was added after rng's three draws per request
	// (jitter, throttling), so that rng's sequence, which seeded tests
	// were written against, stays the same.
	rng2         *rand.Rand
	jitterMin    time.Duration
	jitterMax    time.Duration
	throttleRate float64
	throttleWait time.Duration
	rateLimit    float64       // requests per second; 0: no limiter
	rateWait     time.Duration // announced in Retry-After; 0: until a request is allowed again
	bucket       float64       // requests the limiter allows now
	bucketAt     time.Time     // when bucket was last filled
	login        bool          // the runner's login meets the faults too

	stopAt  string        // lowercased address whose next sign-up stops the service; "" none
	stopped chan struct{} // closed when the service stopped
	down    bool          // stopped, and not restarted
}

func newFaults() *Faults {
	f := &Faults{}
	f.Seed(DefaultFaultSeed)
	f.counts = map[string]int{}
	f.failing = map[string]bool{}
	return f
}

// locked runs change under the lock.
func (f *Faults) locked(change func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change()
}

// Seed restarts the draws from seed.
func (f *Faults) Seed(seed uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seed = seed
	f.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	f.rng2 = rand.New(rand.NewPCG(seed^0xd1b54a32d192ed03, seed+0x632be59bd9b4e019))
}

// SetErrorRate answers the fraction rate (0 to 1) of admin requests with
// status (e.g. 503) and the middleware envelope, before anything else
// happens: nothing is written.
func (f *Faults) SetErrorRate(rate float64, status int) {
	f.locked(func() { f.errorRate, f.errorStatus = rate, status })
}

// SetLostAnswerRate makes the fraction rate of admin requests lose their
// answer: the request is handled (a write happens) but the client gets a
// 502 from "the gateway".
func (f *Faults) SetLostAnswerRate(rate float64) {
	f.locked(func() { f.lostRate = rate })
}

// SetResetRate resets the connection of the fraction rate of admin requests
// before they are handled: the client sees a reset and no answer.
func (f *Faults) SetResetRate(rate float64) {
	f.locked(func() { f.resetRate = rate })
}

// SetLatency delays every admin request by d before it is handled.
func (f *Faults) SetLatency(d time.Duration) {
	f.locked(func() { f.latency = d })
}

// SetLatencyJitter adds to every admin request's latency a delay drawn
// uniformly between min and max from the seeded source, so that a run's
// delays are the same on every run. min = max = 0 switches it off.
func (f *Faults) SetLatencyJitter(min, max time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if max < min {
		min, max = max, min
	}
	f.jitterMin, f.jitterMax = min, max
}

// SetThrottleRate answers the fraction rate (0 to 1) of admin requests,
// drawn from the seeded source, with 429 Too Many Requests and a
// Retry-After header of retryAfter (in whole seconds, rounded up), before
// anything is written.
func (f *Faults) SetThrottleRate(rate float64, retryAfter time.Duration) {
	f.locked(func() { f.throttleRate, f.throttleWait = rate, retryAfter })
}

// SetRateLimit puts a rate limiter in front of the admin API, as a gateway
// would: a token bucket of requestsPerSecond (by the wall clock, holding at
// most max(1, requestsPerSecond) requests, full at first). A request over
// the limit is answered 429 Too Many Requests, before anything is written,
// with Retry-After: retryAfter, or when retryAfter is 0 the seconds until
// the bucket allows a request again. requestsPerSecond <= 0 removes it.
func (f *Faults) SetRateLimit(requestsPerSecond float64, retryAfter time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rateLimit, f.rateWait = max(requestsPerSecond, 0), retryAfter
	f.bucket, f.bucketAt = max(1, requestsPerSecond), time.Now()
}

// SetLoginFaults makes POST /api/v1/auth/login (the runner's login) meet
// the same faults as the admin API; off, it never fails on purpose.
func (f *Faults) SetLoginFaults(on bool) {
	f.locked(func() { f.login = on })
}

func (f *Faults) loginFaulted() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.login
}

// FailWritesFor makes every write of that address fail with 500 Internal
// server error, without writing: POST of a persona with it (any letter
// case) and DELETE of the user who has it.
func (f *Faults) FailWritesFor(email string) {
	f.locked(func() { f.failing[strings.ToLower(email)] = true })
}

// StopAfterSignUp stops the service, as a crash would, in the middle of
// the next upsert that signs up email (any letter case): after the sign-up,
// before the kind stamp and the persona row (the real upsert runs them
// without a transaction). That request gets no answer (its
// connection is reset), nor does any later one, on any path, until
// Restart. The channel is closed once the service has stopped.
func (f *Faults) StopAfterSignUp(email string) <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopAt, f.stopped = strings.ToLower(email), make(chan struct{})
	return f.stopped
}

// Restart serves requests again after StopAfterSignUp stopped the service.
func (f *Faults) Restart() {
	f.locked(func() { f.down = false })
}

// stopsAfterSignUp reports whether the sign-up of email stops the
// service, and stops it.
func (f *Faults) stopsAfterSignUp(email string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopAt == "" || f.stopAt != strings.ToLower(email) {
		return false
	}
	f.stopAt, f.down = "", true
	close(f.stopped)
	return true
}

func (f *Faults) isDown() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.down
}

// Reset switches every fault off, zeroes the counters and restarts the
// draws from the seed.
func (f *Faults) Reset() {
	f.mu.Lock()
	f.stopAt, f.down = "", false
	f.errorRate, f.errorStatus, f.lostRate, f.resetRate, f.latency = 0, 0, 0, 0, 0
	f.jitterMin, f.jitterMax, f.throttleRate, f.throttleWait = 0, 0, 0, 0
	f.rateLimit, f.rateWait, f.login = 0, 0, false
	f.failing = map[string]bool{}
	f.counts = map[string]int{}
	seed := f.seed
	f.mu.Unlock()
	f.Seed(seed)
}

// ResetCounts zeroes the request counters only.
func (f *Faults) ResetCounts() {
	f.locked(func() { f.counts = map[string]int{} })
}

// Requests returns how many requests the server saw with that method and
// path pattern: PathHealth, PathSignUp, PathSignIn, PathLogin,
// PathPersonas, PathPersona (any id), PathUsers, PathOtherAdmin or
// PathOther.
func (f *Faults) Requests(method, pattern string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts[method+" "+pattern]
}

// Counts returns a copy of every counter, keyed "METHOD pattern".
func (f *Faults) Counts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.counts)
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
	delay       time.Duration // latency and jitter, before anything else
	reset       bool
	tooMany     bool          // 429
	retryAfter  time.Duration // of the 429
	errorStatus int
	lost        bool
}

// draw decides the faults of one request. It always draws three numbers
// from rng and two from rng2, so the sequences do not depend on which
// faults are on.
func (f *Faults) draw() fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	r1, r2, r3 := f.rng.Float64(), f.rng.Float64(), f.rng.Float64()
	r4, r5 := f.rng2.Float64(), f.rng2.Float64()
	out := fault{delay: f.latency}
	if f.jitterMax > 0 {
		out.delay += f.jitterMin + time.Duration(r5*float64(f.jitterMax-f.jitterMin))
	}
	out.reset = r1 < f.resetRate
	if r4 < f.throttleRate {
		out.tooMany, out.retryAfter = true, f.throttleWait
	} else if f.rateLimit > 0 {
		now := time.Now()
		f.bucket = min(max(1, f.rateLimit), f.bucket+now.Sub(f.bucketAt).Seconds()*f.rateLimit)
		f.bucketAt = now
		if f.bucket >= 1 {
			f.bucket--
		} else {
			out.tooMany, out.retryAfter = true, f.rateWait
			if out.retryAfter <= 0 {
				out.retryAfter = time.Duration((1 - f.bucket) / f.rateLimit * float64(time.Second))
			}
		}
	}
	if r2 < f.errorRate && f.errorStatus != 0 {
		out.errorStatus = f.errorStatus
	}
	out.lost = r3 < f.lostRate
	return out
}

// wait sleeps for d, or until ctx ends.
func wait(ctx context.Context, d time.Duration) error {
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

// retryAfterSeconds is d in whole seconds, rounded up, for a Retry-After header.
func retryAfterSeconds(d time.Duration) int {
	return int(math.Ceil(d.Seconds()))
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
