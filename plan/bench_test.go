package plan

import (
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
