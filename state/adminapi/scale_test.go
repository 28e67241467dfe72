package adminapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mana/personactl/manaauthdev"
	"github.com/mana/personactl/manaauthdev/devtest"
	"github.com/mana/personactl/state/adminapi"
)

// seedPersonas stores n personas straight into the stand-in's store (going
// through the API would spend the time on password hashing), the first
// busy of them with 20 actions and some ratings, so that their detail
// answers are as large as mana-auth's get.
func seedPersonas(t testing.TB, inst *devtest.Instance, n, busy int) {
	t.Helper()
	ctx := context.Background()
	prompt := strings.Repeat("Du bist eine Persona, die Mana jeden Tag nutzt. ", 8) // ~400 characters, like the catalog's
	created := time.Now().UTC().Add(-time.Hour)
	for i := range n {
		id := manaauthdev.NewID()
		email := fmt.Sprintf("persona.%05d@mana.test", i)
		must(t, inst.Store.CreateUser(ctx, manaauthdev.User{
			ID: id, Name: fmt.Sprintf("Persona %d", i), Email: email, EmailVerified: true,
			Role: manaauthdev.RoleUser, AccessTier: manaauthdev.TierFounder, Kind: manaauthdev.KindPersona,
			CreatedAt: created, UpdatedAt: created,
		}, ""))
		mix, _ := json.Marshal(map[string]float64{"todo": 0.3, "journal": 0.3, "notes": 0.2, "mood": 0.2})
		must(t, inst.Store.UpsertPersona(ctx, manaauthdev.PersonaRow{
			UserID: id, Archetype: "adhd-student", SystemPrompt: fmt.Sprintf("%s (%d)", prompt, i),
			ModuleMix: mix, TickCadence: "daily", CreatedAt: created.Add(time.Duration(i) * time.Millisecond),
		}))
		if i < busy {
			hash := "sha256:" + strings.Repeat("ab", 32)
			for a := range 20 {
				must(t, inst.Store.AddAction(ctx, manaauthdev.Action{
					ID: fmt.Sprintf("act-%d-%d", i, a), PersonaID: id, TickID: "tick-" + id, ToolName: "journal.write",
					InputHash: &hash, Result: "ok", CreatedAt: created.Add(time.Duration(a) * time.Minute),
				}))
			}
			must(t, inst.Store.AddFeedback(ctx, manaauthdev.Feedback{ID: "fb-" + id, PersonaID: id, TickID: "t", Module: "todo", Rating: 3, CreatedAt: created}))
		}
	}
}

// heapSampler records the peak of the live heap objects while a read runs.
type heapSampler struct {
	stop chan struct{}
	done sync.WaitGroup
	peak uint64
}

const heapMetric = "/memory/classes/heap/objects:bytes"

func heapNow() uint64 {
	s := []metrics.Sample{{Name: heapMetric}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func startHeapSampler() *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), peak: heapNow()}
	h.done.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-h.stop:
				return
			case <-tick.C:
				h.peak = max(h.peak, heapNow())
			}
		}
	})
	return h
}

func (h *heapSampler) Stop() uint64 {
	close(h.stop)
	h.done.Wait()
	return max(h.peak, heapNow())
}

const mib = 1 << 20

// serverGauge serves a handler on 127.0.0.1 and measures, on the server's
// side, the requests being handled at once and the connections opened.
//
// With gate > 0, the first detail requests are held until gate of them are
// being handled at once (or until gateTimeout passes, when the client sends
// fewer): the peak then says how many the client sends at once, whatever
// the machine's load, instead of depending on how the requests happened to
// overlap.
type serverGauge struct {
	mu                sync.Mutex
	inFlight, maxSeen int
	conns             int
	gate              int
	open              chan struct{}
}

const gateTimeout = 20 * time.Second

func serveGauged(t testing.TB, h http.Handler, gate int) (string, *serverGauge) {
	g := &serverGauge{gate: gate, open: make(chan struct{})}
	if gate <= 0 {
		close(g.open)
	}
	timer := time.AfterFunc(gateTimeout, func() { g.openGate() })
	t.Cleanup(func() { timer.Stop() })
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.inFlight++
		g.maxSeen = max(g.maxSeen, g.inFlight)
		reached := g.inFlight >= g.gate
		g.mu.Unlock()
		if reached {
			g.openGate()
		}
		if strings.HasPrefix(r.URL.Path, manaauthdev.PathPersonas+"/") {
			select {
			case <-g.open:
			case <-r.Context().Done():
			}
		}
		defer func() {
			g.mu.Lock()
			g.inFlight--
			g.mu.Unlock()
		}()
		h.ServeHTTP(w, r)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			g.mu.Lock()
			g.conns++
			g.mu.Unlock()
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL, g
}

func (g *serverGauge) openGate() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.open:
	default:
		close(g.open)
	}
}

func (g *serverGauge) peak() (inFlight, conns int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.maxSeen, g.conns
}

// TestManyPersonasWithBoundedMemory reads 10,000 personas (10,001
// requests; 2,000 under the race detector, to stay quick) with the client's
// own transport and checks the in-flight bound, the reuse of connections and
// the memory the read takes. The stand-in is served through a gauge that
// counts, on the server's side, the requests handled at once (holding the
// first ones until Parallelism are in, so that the peak does not depend on
// timing) and the connections opened (ConnState). The heap is measured for the
// whole process, the in-process stand-in included, with the collector made
// eager so that the peak is close to what is live.
func TestManyPersonasWithBoundedMemory(t *testing.T) {
	const parallelism = 10
	n := 10_000
	if raceEnabled {
		n = 2_000
	}
	inst := start(t)
	seedPersonas(t, inst, n, 50)
	url, gauge := serveGauged(t, inst.Server, parallelism)
	c := newClient(t, adminapi.Options{BaseURL: url, Token: inst.AdminToken, Parallelism: parallelism})
	defer debug.SetGCPercent(debug.SetGCPercent(25))

	runtime.GC()
	base := heapNow()
	sampler := startHeapSampler()
	began := time.Now()
	got, err := c.Personas(context.Background())
	took := time.Since(began)
	peak := sampler.Stop()
	if err != nil {
		t.Fatal(errText(t, err))
	}
	runtime.GC()
	retained := heapNow() - base
	runtime.KeepAlive(got)

	if len(got) != n {
		t.Fatalf("%d personas, want %d", len(got), n)
	}
	for i := 1; i < len(got); i++ {
		if got[i-1].Values.Email >= got[i].Values.Email {
			t.Fatalf("not sorted at %d: %s, %s", i, got[i-1].Values.Email, got[i].Values.Email)
		}
	}
	if got[0].Actions != 20 || got[0].Feedback != 1 || got[n-1].Actions != 0 {
		t.Errorf("counts: first %d actions %d feedback, last %d actions; want 20, 1, 0", got[0].Actions, got[0].Feedback, got[n-1].Actions)
	}
	inFlight, conns := gauge.peak()
	if inFlight != parallelism {
		t.Errorf("the server handled %d requests at once at the peak, want %d: the requests it held until %d arrived", inFlight, parallelism, parallelism)
	}
	// Connections are kept alive between requests: a read that reuses them
	// opens about one per request in flight, one that does not opens one
	// per request. The count is not pinned to Parallelism: net/http itself
	// drops a connection whose write loop has not reported within 50 ms
	// (maxWriteWaitBeforeConnReuse), which a loaded machine makes happen
	// once in a few thousand requests, and the next request dials anew.
	if perConn := (n + 1) / max(conns, 1); perConn < 100 {
		t.Errorf("%d connections opened for %d requests (%d requests each): connections are not reused", conns, n+1, perConn)
	}
	f := inst.Server.Faults()
	if d := f.Requests("GET", manaauthdev.PathPersona); d != n {
		t.Errorf("%d detail requests, want %d", d, n)
	}
	t.Logf("read %d personas in %v (%.0f/s) over %d connections, %d requests at once at most; heap: peak %.1f MiB above the %.1f MiB before the read, %.1f MiB retained (%d bytes a persona, the result itself)",
		n, took.Round(time.Millisecond), float64(n)/took.Seconds(), conns, inFlight,
		float64(peak-base)/mib, float64(base)/mib, float64(retained)/mib, retained/uint64(n))
	// The result holds each persona's values (about 1 KiB here, the prompt
	// being 400 bytes); keeping each detail answer would add at least 700.
	if perPersona := retained / uint64(n); perPersona > 1536 {
		t.Errorf("the result keeps %d bytes a persona", perPersona)
	}
	if peak-base > 48*mib {
		t.Errorf("the read took the heap %.1f MiB above where it was", float64(peak-base)/mib)
	}
}

// BenchmarkPersonas10k reads 10,000 personas from the stand-in over
// loopback HTTP with the default parallelism; it reports the peak heap
// above the heap before the reads (the stand-in's share included).
func BenchmarkPersonas10k(b *testing.B) {
	const n = 10_000
	inst := devtest.Start(b)
	seedPersonas(b, inst, n, 50)
	c, err := adminapi.New(adminapi.Options{BaseURL: inst.URL, Token: inst.AdminToken})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	runtime.GC()
	base := heapNow()
	sampler := startHeapSampler()
	for b.Loop() {
		got, err := c.Personas(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != n {
			b.Fatalf("%d personas, want %d", len(got), n)
		}
	}
	peak := sampler.Stop()
	b.ReportMetric(float64(peak-base)/mib, "peak-heap-MiB")
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "personas/s")
}
