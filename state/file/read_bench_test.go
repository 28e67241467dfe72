package file

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/state"
)

// BenchmarkRead10k reads a state of 10,000 personas as plan does.
func BenchmarkRead10k(b *testing.B) {
	s := &state.State{Version: state.FormatVersion, Lineage: "L", Serial: 1}
	for i := range 10000 {
		email := fmt.Sprintf("persona.%05d@mana.test", i)
		s.Personas = append(s.Personas, state.RecordedPersona{
			Email:  email,
			UserID: fmt.Sprintf("u%05d", i),
			Values: catalog.Persona{
				Name: "Persona", Email: email, Archetype: "adhd-student",
				SystemPrompt: "Du bist eine Testperson, die Mana jeden Tag ein wenig anders benutzt, vergisst Dinge und kommt wieder.",
				ModuleMix:    map[string]float64{"todo": 0.4, "journal": 0.3, "habits": 0.3},
				TickCadence:  "daily",
			},
			AppliedAt:         time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC),
			SecretFingerprint: "pbkdf2-sha256$180000$abcdefabcdef$0123456789abcdef",
		})
	}
	data, err := encodeState(s)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "s.json")
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := decodeState(path, "", data); err != nil {
			b.Fatal(err)
		}
	}
}
