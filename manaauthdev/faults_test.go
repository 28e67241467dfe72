package manaauthdev_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mana/personactl/manaauthdev"
	"github.com/mana/personactl/manaauthdev/devtest"
)

type answer struct {
	status int
	body   string
}

func call(t *testing.T, inst *devtest.Instance, method, path string, body any) (answer, error) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, inst.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+inst.AdminToken)
	// A new connection each time: a reset must not be retried on another.
	req.Close = true
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, string(raw)}, err
}

func mustCall(t *testing.T, inst *devtest.Instance, method, path string, body any) answer {
	t.Helper()
	a, err := call(t, inst, method, path, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return a
}

func personaBody(email string) map[string]any {
	return map[string]any{
		"email": email, "name": "Faulty", "password": "a-long-password", "archetype": "a",
		"systemPrompt": "p", "moduleMix": map[string]any{"todo": 1}, "tickCadence": "daily",
	}
}

func TestErrorRateAnswersBeforeAnythingIsWritten(t *testing.T) {
	inst := devtest.Start(t)
	inst.Server.Faults().SetErrorRate(1, http.StatusServiceUnavailable)
	a := mustCall(t, inst, http.MethodPost, manaauthdev.PathPersonas, personaBody("persona.e@mana.test"))
	if a.status != 503 || a.body != `{"statusCode":503,"message":"Service Unavailable"}` {
		t.Errorf("POST with error rate 1: %d %s", a.status, a.body)
	}
	if a := mustCall(t, inst, http.MethodGet, manaauthdev.PathHealth, nil); a.status != 200 {
		t.Errorf("GET /health is outside the admin API and must not fail: %d", a.status)
	}
	inst.Server.Faults().Reset()
	if a := mustCall(t, inst, http.MethodGet, manaauthdev.PathPersonas, nil); a.body != `{"personas":[]}` {
		t.Errorf("after the failed POST: %s, want nothing written", a.body)
	}
}

func TestLostAnswerWritesButAnswersBadGateway(t *testing.T) {
	inst := devtest.Start(t)
	inst.Server.Faults().SetLostAnswerRate(1)
	a := mustCall(t, inst, http.MethodPost, manaauthdev.PathPersonas, personaBody("persona.lost@mana.test"))
	if a.status != http.StatusBadGateway {
		t.Errorf("POST with lost answers: %d %s, want 502", a.status, a.body)
	}
	inst.Server.Faults().Reset()
	if a := mustCall(t, inst, http.MethodGet, manaauthdev.PathPersonas, nil); !strings.Contains(a.body, "persona.lost@mana.test") {
		t.Errorf("after the lost answer: %s, want the persona written", a.body)
	}
}

func TestResetDropsTheConnectionWithoutWriting(t *testing.T) {
	inst := devtest.Start(t)
	inst.Server.Faults().SetResetRate(1)
	if a, err := call(t, inst, http.MethodPost, manaauthdev.PathPersonas, personaBody("persona.reset@mana.test")); err == nil {
		t.Fatalf("POST with resets: answered %d %s, want a connection error", a.status, a.body)
	}
	inst.Server.Faults().Reset()
	if a := mustCall(t, inst, http.MethodGet, manaauthdev.PathPersonas, nil); a.body != `{"personas":[]}` {
		t.Errorf("after the reset: %s, want nothing written", a.body)
	}
}

func TestLatencyDelaysAdminRequests(t *testing.T) {
	inst := devtest.Start(t)
	inst.Server.Faults().SetLatency(150 * time.Millisecond)
	start := time.Now()
	mustCall(t, inst, http.MethodGet, manaauthdev.PathPersonas, nil)
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("GET took %v with 150ms latency", d)
	}
}

func TestFailWritesForOneAddress(t *testing.T) {
	inst := devtest.Start(t)
	const internal = `{"statusCode":500,"message":"Internal server error"}`
	id := func(a answer) string {
		var out struct{ UserID string }
		json.Unmarshal([]byte(a.body), &out)
		return out.UserID
	}
	existing := id(mustCall(t, inst, http.MethodPost, manaauthdev.PathPersonas, personaBody("persona.doomed@mana.test")))
	f := inst.Server.Faults()
	f.FailWritesFor("Persona.Doomed@mana.test")
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{http.MethodPost, manaauthdev.PathPersonas, personaBody("persona.doomed@mana.test")},
		{http.MethodDelete, manaauthdev.PathPersonas + "/" + existing, nil},
	} {
		if a := mustCall(t, inst, c.method, c.path, c.body); a.status != 500 || a.body != internal {
			t.Errorf("%s %s for the failing address: %d %s", c.method, c.path, a.status, a.body)
		}
	}
	if a := mustCall(t, inst, http.MethodPost, manaauthdev.PathPersonas, personaBody("persona.fine@mana.test")); a.status != 200 {
		t.Errorf("POST of another address: %d %s", a.status, a.body)
	}
	if a := mustCall(t, inst, http.MethodGet, manaauthdev.PathPersonas+"/"+existing, nil); a.status != 200 {
		t.Errorf("reading the failing address: %d, want reads to work", a.status)
	}
	f.Reset()
	if a := mustCall(t, inst, http.MethodDelete, manaauthdev.PathPersonas+"/"+existing, nil); a.status != 200 {
		t.Errorf("DELETE after Reset: %d %s", a.status, a.body)
	}
}

func TestRequestCounts(t *testing.T) {
	inst := devtest.Start(t)
	f := inst.Server.Faults()
	mustCall(t, inst, http.MethodGet, manaauthdev.PathPersonas, nil)
	mustCall(t, inst, http.MethodGet, manaauthdev.PathPersonas, nil)
	mustCall(t, inst, http.MethodGet, manaauthdev.PathUsers+"?search=x", nil)
	mustCall(t, inst, http.MethodGet, manaauthdev.PathHealth, nil)
	if n := f.WriteRequests(); n != 0 {
		t.Errorf("WriteRequests after reads only = %d", n)
	}
	mustCall(t, inst, http.MethodPost, manaauthdev.PathPersonas, personaBody("persona.count@mana.test"))
	mustCall(t, inst, http.MethodDelete, manaauthdev.PathPersonas+"/nope", nil)
	mustCall(t, inst, http.MethodPut, manaauthdev.PathPersonas+"/nope", map[string]any{})
	mustCall(t, inst, http.MethodPost, "/api/v1/admin/other", map[string]any{})
	want := map[string]int{
		"GET " + manaauthdev.PathPersonas:    2,
		"GET " + manaauthdev.PathUsers:       1,
		"GET " + manaauthdev.PathHealth:      1,
		"POST " + manaauthdev.PathPersonas:   1,
		"DELETE " + manaauthdev.PathPersona:  1,
		"PUT " + manaauthdev.PathPersona:     1,
		"POST " + manaauthdev.PathOtherAdmin: 1,
	}
	if got := f.Counts(); !reflect.DeepEqual(got, want) {
		t.Errorf("Counts() = %v\n  want %v", got, want)
	}
	if n := f.Requests(http.MethodGet, manaauthdev.PathPersonas); n != 2 {
		t.Errorf("Requests(GET, list) = %d", n)
	}
	if n := f.WriteRequests(); n != 4 {
		t.Errorf("WriteRequests = %d, want 4 (POST, DELETE, PUT, POST elsewhere under /api/v1/admin)", n)
	}
	f.ResetCounts()
	if n := len(f.Counts()); n != 0 {
		t.Errorf("%d counters after ResetCounts", n)
	}
}

func TestFaultDrawsRepeatFromTheSeed(t *testing.T) {
	statuses := func(seed uint64) []int {
		inst := devtest.Start(t)
		inst.Server.Faults().Seed(seed)
		inst.Server.Faults().SetErrorRate(0.5, http.StatusServiceUnavailable)
		var out []int
		for range 30 {
			out = append(out, mustCall(t, inst, http.MethodGet, manaauthdev.PathPersonas, nil).status)
		}
		return out
	}
	a, b := statuses(7), statuses(7)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("same seed, different faults:\n  %v\n  %v", a, b)
	}
	var ok, failed int
	for _, s := range a {
		switch s {
		case 200:
			ok++
		case 503:
			failed++
		}
	}
	if ok == 0 || failed == 0 || ok+failed != len(a) {
		t.Errorf("rate 0.5 gave %d answers of 200 and %d of 503 out of %d", ok, failed, len(a))
	}
	if reflect.DeepEqual(a, statuses(8)) {
		t.Errorf("another seed drew the same faults")
	}
}

func TestFaultsAreSafeForConcurrentUse(t *testing.T) {
	inst := devtest.Start(t)
	f := inst.Server.Faults()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for range 20 {
				call(t, inst, http.MethodGet, manaauthdev.PathPersonas, nil)
			}
		}()
		go func() {
			defer wg.Done()
			for j := range 20 {
				f.SetErrorRate(float64(j%2), 503)
				f.SetLostAnswerRate(float64((i+j)%3) / 3)
				f.FailWritesFor("x@y.z")
				_ = f.Counts()
				_ = f.WriteRequests()
			}
		}()
	}
	wg.Wait()
	if n := f.Requests(http.MethodGet, manaauthdev.PathPersonas); n != 160 {
		t.Errorf("counted %d list requests, want 160", n)
	}
}

func TestThrottleAnswers429WithRetryAfterBeforeAnythingIsWritten(t *testing.T) {
	inst := devtest.Start(t)
	f := inst.Server.Faults()
	f.SetThrottleRate(1, 1500*time.Millisecond)
	req, _ := http.NewRequest(http.MethodPost, inst.URL+manaauthdev.PathPersonas, strings.NewReader(`{"email":"persona.t@mana.test"}`))
	req.Header.Set("Authorization", "Bearer "+inst.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" || string(body) != `{"statusCode":429,"message":"Too Many Requests"}` {
		t.Errorf("throttled POST: %d Retry-After %q %s; want 429, Retry-After 2 (1.5 s rounded up)", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	f.Reset()
	if a := mustCall(t, inst, http.MethodGet, manaauthdev.PathPersonas, nil); a.body != `{"personas":[]}` {
		t.Errorf("after the throttled POST: %s, want nothing written", a.body)
	}
}

func TestThrottleDrawsRepeatFromTheSeedAndLeaveTheOtherDrawsAlone(t *testing.T) {
	statuses := func(throttle bool) []int {
		inst := devtest.Start(t)
		f := inst.Server.Faults()
		f.Seed(11)
		f.SetErrorRate(0.3, http.StatusServiceUnavailable)
		if throttle {
			f.SetThrottleRate(0.3, time.Second)
		}
		var out []int
		for range 40 {
			out = append(out, mustCall(t, inst, http.MethodGet, manaauthdev.PathPersonas, nil).status)
		}
		return out
	}
	a, b, plain := statuses(true), statuses(true), statuses(false)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("same seed, different throttling:\n  %v\n  %v", a, b)
	}
	throttled := 0
	for i := range a {
		switch {
		case a[i] == 429:
			throttled++
		case a[i] != plain[i]:
			t.Errorf("request %d: %d with throttling, %d without: throttling moved the other faults", i, a[i], plain[i])
		}
	}
	if throttled == 0 || throttled == len(a) {
		t.Errorf("rate 0.3 throttled %d of %d requests", throttled, len(a))
	}
}

func TestRateLimiterLetsTheBurstThroughThenAnswers429(t *testing.T) {
	inst := devtest.Start(t)
	f := inst.Server.Faults()
	retryAfter := func() (int, string) {
		req, _ := http.NewRequest(http.MethodGet, inst.URL+manaauthdev.PathPersonas, nil)
		req.Header.Set("Authorization", "Bearer "+inst.AdminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	// One request per 1000 s: the first passes, the next waits ~1000 s.
	f.SetRateLimit(0.001, 0)
	if s, _ := retryAfter(); s != 200 {
		t.Fatalf("first request under the limit: %d", s)
	}
	if s, ra := retryAfter(); s != 429 || !within(ra, 990, 1000) {
		t.Errorf("second request: %d Retry-After %q, want 429 and about 1000 s", s, ra)
	}
	// A fixed Retry-After is announced as given.
	f.SetRateLimit(0.001, 7*time.Second)
	retryAfter()
	if s, ra := retryAfter(); s != 429 || ra != "7" {
		t.Errorf("with Retry-After 7s: %d %q", s, ra)
	}
	// A limit far above what a test sends lets everything through.
	f.SetRateLimit(1e6, 0)
	for i := range 20 {
		if s, _ := retryAfter(); s != 200 {
			t.Fatalf("request %d under a limit of 1e6/s: %d", i, s)
		}
	}
	f.SetRateLimit(0, 0)
	if s, _ := retryAfter(); s != 200 {
		t.Errorf("after removing the limiter: %d", s)
	}
	if n := f.Requests(http.MethodGet, manaauthdev.PathPersonas); n != 25 {
		t.Errorf("counted %d requests, want 25 (the refused ones too)", n)
	}
}

func TestLatencyJitterDelaysAdminRequests(t *testing.T) {
	inst := devtest.Start(t)
	inst.Server.Faults().SetLatencyJitter(100*time.Millisecond, 150*time.Millisecond)
	start := time.Now()
	mustCall(t, inst, http.MethodGet, manaauthdev.PathPersonas, nil)
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("GET took %v with a jitter of 100-150ms", d)
	}
}

// within reports whether the header value is a whole number in [lo, hi].
func within(header string, lo, hi int) bool {
	n, err := strconv.Atoi(header)
	return err == nil && lo <= n && n <= hi
}

// TestStopAfterSignUpLeavesAPlainUser: the service stops between the
// upsert's sign-up and its stamp, as the real one can (no transaction):
// no answer, then none to anyone until it restarts; a plain user of kind
// human, unverified and without a persona row, holds the address; the
// next upsert completes it.
func TestStopAfterSignUpLeavesAPlainUser(t *testing.T) {
	for name, opts := range stores {
		t.Run(name, func(t *testing.T) {
			inst := devtest.Start(t, opts...)
			f := inst.Server.Faults()
			stopped := f.StopAfterSignUp("Persona.Half@mana.test")
			if a := mustCall(t, inst, http.MethodPost, manaauthdev.PathPersonas, personaBody("persona.other@mana.test")); a.status != 200 {
				t.Fatalf("POST of another address: %d %s", a.status, a.body)
			}
			if a, err := call(t, inst, http.MethodPost, manaauthdev.PathPersonas, personaBody("persona.half@mana.test")); err == nil {
				t.Fatalf("POST that stops the service: answered %d %s, want no answer", a.status, a.body)
			}
			select {
			case <-stopped:
			default:
				t.Fatal("the service did not say it stopped")
			}
			for _, path := range []string{manaauthdev.PathPersonas, manaauthdev.PathHealth} {
				if a, err := call(t, inst, http.MethodGet, path, nil); err == nil {
					t.Errorf("GET %s while stopped: answered %d, want no answer", path, a.status)
				}
			}
			f.Restart()
			ctx := context.Background()
			u, err := inst.Store.UserByEmail(ctx, "persona.half@mana.test")
			if err != nil {
				t.Fatalf("the sign-up before the stop: %v", err)
			}
			if u.Kind != manaauthdev.KindHuman || u.EmailVerified {
				t.Errorf("user after the stop: kind %s, verified %v; want a plain unverified human (not stamped)", u.Kind, u.EmailVerified)
			}
			if _, err := inst.Store.Persona(ctx, u.ID); !errors.Is(err, manaauthdev.ErrNotFound) {
				t.Errorf("persona row after the stop: %v, want none", err)
			}
			a := mustCall(t, inst, http.MethodPost, manaauthdev.PathPersonas, personaBody("persona.half@mana.test"))
			if a.status != 200 || !strings.Contains(a.body, u.ID) {
				t.Errorf("the next upsert: %d %s; want the same user %s completed", a.status, a.body, u.ID)
			}
		})
	}
}
