package plan

import (
	"fmt"
	"io"
	"testing"

	"github.com/mana/personactl/catalog"
)

// bench10k is a 10,000-persona situation: every tenth persona's prompt
// changed, every hundredth edited by hand, the rest unchanged.
func bench10k() Input {
	var in Input
	for i := 0; i < 10000; i++ {
		email := "persona.p" + itoa(i) + "@mana.test"
		p := persona(email, "Du bist eine Persona mit einem mittellangen Prompt, der sich selten ändert.")
		l := p
		if i%10 == 0 {
			p.SystemPrompt += " Neu ist dieser Satz."
		}
		if i%100 == 0 {
			l = with(l, func(q *catalog.Persona) { q.TickCadence = "hourly" })
		}
		in.Desired = append(in.Desired, p)
		in.Recorded = append(in.Recorded, rec("u"+itoa(i), p))
		in.Live = append(in.Live, live("u"+itoa(i), l))
	}
	return in
}

func BenchmarkCompute10k(b *testing.B) {
	in := bench10k()
	b.ReportAllocs()
	for b.Loop() {
		Compute(in, Options{})
	}
}

func BenchmarkRenderText10k(b *testing.B) {
	p := Compute(bench10k(), Options{})
	b.ReportAllocs()
	for b.Loop() {
		if err := RenderText(io.Discard, p, TextOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// tenPercentChanged is 10,000 converged personas of which every tenth has a
// new sentence in its prompt in the catalog: what a large catalog change
// looks like in review. The addresses sort in the order they are made, as
// the backends return them and as an exported catalog lists them.
func tenPercentChanged() Input {
	in := Input{Workspace: "default", Lineage: "L", Serial: 9, SecretFingerprint: currentSecret}
	for i := 0; i < 10000; i++ {
		email := fmt.Sprintf("persona.p%05d@mana.test", i)
		l := persona(email, "Du bist eine Persona mit einem mittellangen Prompt, der sich selten ändert.")
		d := l
		if i%10 == 0 {
			d.SystemPrompt += " Neu ist dieser Satz."
		}
		in.Desired = append(in.Desired, d)
		in.Recorded = append(in.Recorded, rec("u"+itoa(i), l))
		in.Live = append(in.Live, live("u"+itoa(i), l))
	}
	return in
}

// BenchmarkComputeRender10kTenPercent is what `personactl plan` spends
// between reading its inputs and printing: Compute and the text rendering of
// 10,000 personas with 10% changed (target: < 50 ms).
func BenchmarkComputeRender10kTenPercent(b *testing.B) {
	in := tenPercentChanged()
	b.ReportAllocs()
	for b.Loop() {
		p := Compute(in, Options{})
		if err := RenderText(io.Discard, p, TextOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
