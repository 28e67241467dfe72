package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// benchPersona is one persona of a generated catalog, in the catalog's
// field names. The bare loops decode catalogs into it too: what
// encoding/json does with no positions, no checks and no messages.
type benchPersona struct {
	Name         string             `json:"name"`
	Email        string             `json:"email"`
	Archetype    string             `json:"archetype"`
	SystemPrompt string             `json:"systemPrompt"`
	ModuleMix    map[string]float64 `json:"moduleMix"`
	TickCadence  string             `json:"tickCadence"`
}

// benchCatalog is a catalog file's shape.
type benchCatalog struct {
	Schema   string         `json:"$schema,omitempty"`
	Personas []benchPersona `json:"personas"`
}

// personaEmail is the address of the i-th persona of the generated
// catalogs; pendingEmail of the i-th persona that is not live yet.
func personaEmail(i int) string { return fmt.Sprintf("persona.p%05d@mana.test", i) }
func pendingEmail(i int) string { return fmt.Sprintf("persona.new%05d@mana.test", i) }

// personaAt is a valid persona shaped like Mana's: a prompt of a few
// hundred characters with umlauts, four modules, one of the cadences.
func personaAt(i int, email string) benchPersona {
	return benchPersona{
		Name:         fmt.Sprintf("Persona %d", i),
		Email:        email,
		Archetype:    []string{"adhd-student", "night-shift-nurse", "retired-gardener"}[i%3],
		SystemPrompt: fmt.Sprintf("Du bist Persona %d, 28, Studentin der Sozialen Arbeit. ", i) + strings.Repeat("Du schreibst kurz, oft umgangssprachlich, manchmal hektisch; vergisst Dinge. ", 4),
		ModuleMix:    map[string]float64{"todo": 0.3, "journal": 0.3, "notes": 0.2, "mood": 0.2},
		TickCadence:  []string{"daily", "weekdays", "hourly"}[i%3],
	}
}

// catalogOf returns n personas, then pending personas that are not live.
func catalogOf(n, pending int) benchCatalog {
	c := benchCatalog{Personas: make([]benchPersona, 0, n+pending)}
	for i := range n {
		c.Personas = append(c.Personas, personaAt(i, personaEmail(i)))
	}
	for i := range pending {
		c.Personas = append(c.Personas, personaAt(n+i, pendingEmail(i)))
	}
	return c
}

// writeCatalog writes c to path as JSON, indented as people write catalogs.
func writeCatalog(path string, c benchCatalog) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the catalog for %s: %w", path, err)
	}
	return os.WriteFile(path, data, 0o644)
}

// readCatalog decodes a JSON catalog with encoding/json's plain Unmarshal.
func readCatalog(path string) (benchCatalog, error) {
	var c benchCatalog
	data, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	return c, json.Unmarshal(data, &c)
}
