package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/mana/personactl/catalog"
)

// personaEmail is the address of the i-th persona of the generated
// catalogs; pendingEmail of the i-th persona that is not live yet.
func personaEmail(i int) string { return fmt.Sprintf("persona.p%05d@mana.test", i) }
func pendingEmail(i int) string { return fmt.Sprintf("persona.new%05d@mana.test", i) }

// personaAt is a valid persona shaped like Mana's: a prompt of a few
// hundred characters with umlauts, four modules, one of the cadences.
func personaAt(i int, email string) catalog.Persona {
	return catalog.Persona{
		Name:         fmt.Sprintf("Persona %d", i),
		Email:        email,
		Archetype:    []string{"adhd-student", "night-shift-nurse", "retired-gardener"}[i%3],
		SystemPrompt: fmt.Sprintf("Du bist Persona %d, 28, Studentin der Sozialen Arbeit. ", i) + strings.Repeat("Du schreibst kurz, oft umgangssprachlich, manchmal hektisch; vergisst Dinge. ", 4),
		ModuleMix:    map[string]float64{"todo": 0.3, "journal": 0.3, "notes": 0.2, "mood": 0.2},
		TickCadence:  []string{"daily", "weekdays", "hourly"}[i%3],
	}
}

// catalogOf returns n personas, then pending personas that are not live.
func catalogOf(n, pending int) []catalog.Persona {
	c := make([]catalog.Persona, 0, n+pending)
	for i := range n {
		c = append(c, personaAt(i, personaEmail(i)))
	}
	for i := range pending {
		c = append(c, personaAt(n+i, pendingEmail(i)))
	}
	return c
}

// writeCatalog writes personas to path as a JSON catalog, as personactl
// export writes one.
func writeCatalog(path string, personas []catalog.Persona) error {
	var buf bytes.Buffer
	if err := catalog.Encode(&buf, personas, "json"); err != nil {
		return fmt.Errorf("writing the catalog %s: %w", path, err)
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
