package catalog

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// measureCPU runs b's loop body and reports, beside wall time, the CPU
// time the process spent per operation ("cpu-ns/op"): on a machine shared
// with other work, wall time says more about the neighbours than about the
// code, while CPU time stays comparable between the benchmarks of one run.
func measureCPU(b *testing.B, op func()) {
	before, ok := processCPU()
	for b.Loop() {
		op()
	}
	if after, _ := processCPU(); ok {
		b.ReportMetric(float64((after-before)/time.Nanosecond)/float64(b.N), "cpu-ns/op")
	}
}

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

// catalog10k returns a catalog of 10,000 personas as JSON and as YAML.
func catalog10k(b *testing.B) (jsonData, yamlData []byte) {
	b.Helper()
	cat := catalogOf(10_000)
	jsonData, err := json.MarshalIndent(cat, "", "  ")
	if err != nil {
		b.Fatal(err)
	}
	yamlData, err = yaml.Marshal(cat)
	if err != nil {
		b.Fatal(err)
	}
	return jsonData, yamlData
}

// BenchmarkLoad10k measures Load on a catalog of 10,000 personas, from a
// file, as JSON and as YAML. Its targets are set against the lower bounds
// that BenchmarkDecode10k measures in the same run: JSON at most 2 times
// encoding/json's Unmarshal into a struct of the catalog's shape, YAML at
// most 1.5 times yaml.v3's decoding into a yaml.Node.
func BenchmarkLoad10k(b *testing.B) {
	jsonData, yamlData := catalog10k(b)
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
			measureCPU(b, func() {
				c, err := Load(path, Options{Strict: true})
				if err != nil {
					b.Fatal(err)
				}
				if len(c.Personas) != 10_000 {
					b.Fatalf("%d personas", len(c.Personas))
				}
			})
		})
	}
}

// catalogShape is the catalog as a plain struct, for the lower bound: what
// encoding/json does with no positions, no checks and no messages.
type catalogShape struct {
	Schema      string `json:"$schema"`
	Description string `json:"description"`
	Personas    []struct {
		Name         string             `json:"name"`
		Email        string             `json:"email"`
		Archetype    string             `json:"archetype"`
		SystemPrompt string             `json:"systemPrompt"`
		ModuleMix    map[string]float64 `json:"moduleMix"`
		TickCadence  string             `json:"tickCadence"`
	} `json:"personas"`
}

// BenchmarkDecode10k measures the lower bounds of BenchmarkLoad10k on the
// same bytes, read from memory: encoding/json's Unmarshal into a struct of
// the catalog's shape, and yaml.v3's decoding into a yaml.Node (the first
// thing Load does with YAML).
func BenchmarkDecode10k(b *testing.B) {
	jsonData, yamlData := catalog10k(b)
	b.Run("json-unmarshal", func(b *testing.B) {
		b.SetBytes(int64(len(jsonData)))
		measureCPU(b, func() {
			var c catalogShape
			if err := json.Unmarshal(jsonData, &c); err != nil {
				b.Fatal(err)
			}
			if len(c.Personas) != 10_000 {
				b.Fatalf("%d personas", len(c.Personas))
			}
		})
	})
	b.Run("yaml-node", func(b *testing.B) {
		b.SetBytes(int64(len(yamlData)))
		measureCPU(b, func() {
			var n yaml.Node
			if err := yaml.Unmarshal(yamlData, &n); err != nil {
				b.Fatal(err)
			}
			if len(n.Content) != 1 {
				b.Fatal("no document")
			}
		})
	})
}
