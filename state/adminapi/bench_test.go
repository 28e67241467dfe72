package adminapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/mana/personactl/manaauthdev"
	"github.com/mana/personactl/manaauthdev/devtest"
	"github.com/mana/personactl/state/adminapi"
)

// keepAlive is the transport both sides of BenchmarkRead10k use: what the
// client builds for itself at the default parallelism.
func keepAlive(parallelism int) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxConnsPerHost = parallelism
	t.MaxIdleConnsPerHost = parallelism
	t.MaxIdleConns = parallelism
	return t
}

// bareRead issues the requests a read of every persona needs, the list and
// each detail, parallelism at a time, reading each answer whole and
// decoding only the list's user ids: the lower bound of a read.
func bareRead(b *testing.B, hc *http.Client, base, token string, parallelism int) int {
	get := func(path string) []byte {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
		}
		return body
	}
	var list struct {
		Personas []struct {
			UserID string `json:"userId"`
		} `json:"personas"`
	}
	if err := json.Unmarshal(get(manaauthdev.PathPersonas), &list); err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, parallelism)
	for _, p := range list.Personas {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			get(manaauthdev.PathPersonas + "/" + p.UserID)
		})
	}
	wg.Wait()
	return len(list.Personas)
}

// BenchmarkRead10k reads 10,000 personas from one mana-auth-dev process over
// loopback HTTP, as personactl does (Client.Personas) and as the bare loop
// of the same requests does, with the same keep-alive transport and
// parallelism. Requests are counted at the server; the ratio of the two
// ns/op is personactl's overhead over its lower bound.
func BenchmarkRead10k(b *testing.B) {
	const n, parallelism = 10_000, adminapi.DefaultParallelism
	inst := devtest.Start(b)
	seedPersonas(b, inst, n, 50)
	f := inst.Server.Faults()

	b.Run("bare", func(b *testing.B) {
		hc := &http.Client{Transport: keepAlive(parallelism)}
		defer hc.CloseIdleConnections()
		f.ResetCounts()
		for b.Loop() {
			if got := bareRead(b, hc, inst.URL, inst.AdminToken, parallelism); got != n {
				b.Fatalf("%d personas, want %d", got, n)
			}
		}
		b.ReportMetric(float64(f.Requests("GET", manaauthdev.PathPersonas)+f.Requests("GET", manaauthdev.PathPersona))/float64(b.N), "requests/op")
	})
	b.Run("personactl", func(b *testing.B) {
		c, err := adminapi.New(adminapi.Options{BaseURL: inst.URL, Token: inst.AdminToken, Parallelism: parallelism})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		f.ResetCounts()
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
		b.ReportMetric(float64(f.Requests("GET", manaauthdev.PathPersonas)+f.Requests("GET", manaauthdev.PathPersona))/float64(b.N), "requests/op")
		b.ReportMetric(float64(peak-base)/mib, "peak-heap-MiB")
	})
}

// BenchmarkRead10kRatio alternates the bare loop and personactl's read in
// every iteration, so that both meet the same machine load, and reports
// each one's seconds and their ratio (the target: at most 1.3).
func BenchmarkRead10kRatio(b *testing.B) {
	const n, parallelism = 10_000, adminapi.DefaultParallelism
	inst := devtest.Start(b)
	seedPersonas(b, inst, n, 50)
	f := inst.Server.Faults()
	hc := &http.Client{Transport: keepAlive(parallelism)}
	defer hc.CloseIdleConnections()
	c, err := adminapi.New(adminapi.Options{BaseURL: inst.URL, Token: inst.AdminToken, Parallelism: parallelism})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	var bare, ours time.Duration
	var bareReqs, ourReqs int
	for b.Loop() {
		f.ResetCounts()
		began := time.Now()
		bareRead(b, hc, inst.URL, inst.AdminToken, parallelism)
		bare += time.Since(began)
		bareReqs += f.Requests("GET", manaauthdev.PathPersonas) + f.Requests("GET", manaauthdev.PathPersona)
		f.ResetCounts()
		began = time.Now()
		got, err := c.Personas(context.Background())
		ours += time.Since(began)
		ourReqs += f.Requests("GET", manaauthdev.PathPersonas) + f.Requests("GET", manaauthdev.PathPersona)
		if err != nil || len(got) != n {
			b.Fatalf("%d personas, %v", len(got), err)
		}
	}
	if bareReqs != ourReqs {
		b.Errorf("the bare loop sent %d requests, personactl %d: not the same work", bareReqs, ourReqs)
	}
	b.ReportMetric(bare.Seconds()/float64(b.N), "bare-s")
	b.ReportMetric(ours.Seconds()/float64(b.N), "personactl-s")
	b.ReportMetric(ours.Seconds()/bare.Seconds(), "ratio")
	b.ReportMetric(float64(ourReqs)/float64(b.N), "requests/op")
}
