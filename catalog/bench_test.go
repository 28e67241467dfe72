package catalog

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// catalogOf returns a valid catalog of n personas shaped like Mana's: a
// prompt of a few hundred characters with umlauts, four modules, a cadence.
func catalogOf(n int) map[string]any {
	personas := make([]map[string]any, n)
	for i := range personas {
		personas[i] = map[string]any{
			"name":         fmt.Sprintf("Persona %d", i),
			"email":        fmt.Sprintf("persona.%d@mana.test", i),
			"archetype":    "adhd-student",
			"systemPrompt": fmt.Sprintf("Du bist Persona %d, 28, Studentin der Sozialen Arbeit. ", i) + strings.Repeat("Du schreibst kurz, oft umgangssprachlich, manchmal hektisch; vergisst Dinge. ", 4),
			"moduleMix":    map[string]float64{"todo": 0.3, "journal": 0.3, "notes": 0.2, "mood": 0.2},
			"tickCadence":  []string{"daily", "weekdays", "hourly"}[i%3],
		}
	}
	return map[string]any{"$schema": "./catalog.schema.json", "personas": personas}
}

// BenchmarkLoad10k measures Load on a catalog of 10,000 personas, from a
// file, as JSON and as YAML.
func BenchmarkLoad10k(b *testing.B) {
	cat := catalogOf(10_000)
	jsonData, err := json.MarshalIndent(cat, "", "  ")
	if err != nil {
		b.Fatal(err)
	}
	yamlData, err := yaml.Marshal(cat)
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	for _, tt := range []struct {
		file string
		data []byte
	}{{"catalog.json", jsonData}, {"catalog.yaml", yamlData}} {
		path := filepath.Join(dir, tt.file)
		if err := os.WriteFile(path, tt.data, 0o644); err != nil {
			b.Fatal(err)
		}
		b.Run(filepath.Ext(tt.file)[1:], func(b *testing.B) {
			b.SetBytes(int64(len(tt.data)))
			for b.Loop() {
				c, err := Load(path, Options{Strict: true})
				if err != nil {
					b.Fatal(err)
				}
				if len(c.Personas) != 10_000 {
					b.Fatalf("%d personas", len(c.Personas))
				}
			}
		})
	}
}
