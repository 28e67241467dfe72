package statetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mana/personactl/state"
)

// BenchSteps is how many steps one run of BenchJournal records: an apply
// of 10,000 personas.
const BenchSteps = 10_000

// BenchJournal measures recording BenchSteps steps through a state.Journal
// on the backend newBackend opens, from 10 goroutines (an apply's default
// parallelism), and reports ns/step and the bytes written per step, as
// written (called before and after each run) counts them.
//
//   - burst: the goroutines record as fast as they can; the run then closes
//     the journal, which waits for every step to be durable;
//   - durable-each: each goroutine waits for its step to be durable before
//     the next, the worst case for the disk: group commit is what keeps it
//     from one sync per step.
func BenchJournal(b *testing.B, newBackend func(b *testing.B) state.Backend, written func(b *testing.B) int64) {
	for _, mode := range []string{"burst", "durable-each"} {
		b.Run(mode, func(b *testing.B) {
			be := newBackend(b)
			ctx := context.Background()
			l, err := be.Lock(ctx, "bench", 0)
			if err != nil {
				b.Fatal(err)
			}
			defer l.Release()
			var bytes int64
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				id := fmt.Sprintf("bench-%s-%d-%d", mode, i, time.Now().UnixNano())
				if err := l.OpenJournal(ctx, state.JournalEntry{ID: id, Operation: "apply", Started: time.Now().UTC()}); err != nil {
					b.Fatal(err)
				}
				before := written(b)
				b.StartTimer()
				j := state.NewJournal(l, id, state.JournalOptions{})
				var wg sync.WaitGroup
				const workers = 10
				for w := range workers {
					wg.Go(func() {
						for k := w; k < BenchSteps; k += workers {
							j.Record(state.JournalStep{Email: fmt.Sprintf("persona-%05d@personas.mana.test", k), Action: "create",
								UserID: fmt.Sprintf("u-%05d", k), Result: state.StepDone, Finished: time.Now().UTC()})
							if mode == "durable-each" {
								if err := j.Flush(ctx); err != nil {
									b.Error(err)
									return
								}
							}
						}
					})
				}
				wg.Wait()
				if err := j.Flush(ctx); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				bytes += written(b) - before
				if err := j.Close(ctx, state.OutcomeComplete); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*BenchSteps), "ns/step")
			b.ReportMetric(float64(bytes)/float64(b.N*BenchSteps), "B-written/step")
			b.ReportMetric(0, "ns/op")
		})
	}
}
