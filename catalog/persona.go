// Package catalog owns the desired side of personactl: loading the persona
// catalog from JSON or YAML, validating it, describing it as a JSON Schema and
// deriving persona passwords. It sits at the bottom of the import graph and
// never talks to the network.
package catalog

import (
	"maps"
	"math"
	"slices"
)

// Cadences lists the tick cadences the runner knows, in the order people read them.
var cadences = []string{"daily", "weekdays", "hourly"}

// Cadences returns the tick cadences a persona may have.
func Cadences() []string { return slices.Clone(cadences) }

// DefaultCadence is the cadence of a persona whose catalog entry names none.
const DefaultCadence = "daily"

// Persona is one persona's desired values: what personactl makes live.
type Persona struct {
	Name         string             `json:"name"`
	Email        string             `json:"email"`
	Archetype    string             `json:"archetype"`
	SystemPrompt string             `json:"systemPrompt"`
	ModuleMix    map[string]float64 `json:"moduleMix"`
	TickCadence  string             `json:"tickCadence"`
}

// Catalog is a loaded, validated catalog.
type Catalog struct {
	// Path is where the catalog was read from ("-" for standard input).
	Path        string
	Schema      string
	Description string
	// Personas are in file order; Load guarantees unique lowercase emails.
	Personas []Persona
	// Warnings are findings that do not stop a run unless Strict is set.
	Warnings []Diagnostic
	// Missing says there was no file at Path, so the catalog is empty: a
	// run that needs no catalog (a destroy) read none.
	Missing bool
}

// Field names a persona field as the catalog and the admin API spell it.
type Field string

// The persona fields personactl compares and applies, in display order.
const (
	FieldName         Field = "name"
	FieldArchetype    Field = "archetype"
	FieldSystemPrompt Field = "systemPrompt"
	FieldModuleMix    Field = "moduleMix"
	FieldTickCadence  Field = "tickCadence"
)

// ComparedFields are the fields a plan compares, in the order it shows them.
func ComparedFields() []Field {
	return []Field{FieldName, FieldArchetype, FieldSystemPrompt, FieldModuleMix, FieldTickCadence}
}

// Differences lists the fields whose values differ between p and q, in
// ComparedFields order. moduleMix is compared as a map of numbers (key order
// never matters; the admin API returns jsonb keys reordered), and an empty
// tickCadence counts as the default.
func Differences(p, q Persona) []Field {
	var out []Field
	if p.Name != q.Name {
		out = append(out, FieldName)
	}
	if p.Archetype != q.Archetype {
		out = append(out, FieldArchetype)
	}
	if p.SystemPrompt != q.SystemPrompt {
		out = append(out, FieldSystemPrompt)
	}
	if !MixEqual(p.ModuleMix, q.ModuleMix) {
		out = append(out, FieldModuleMix)
	}
	if cadenceOrDefault(p.TickCadence) != cadenceOrDefault(q.TickCadence) {
		out = append(out, FieldTickCadence)
	}
	return out
}

func cadenceOrDefault(c string) string {
	if c == "" {
		return DefaultCadence
	}
	return c
}

// MixEqual reports whether two module mixes hold the same keys with the same
// weights. Weights within 1e-9 of each other are equal, so a value that went
// through a JSON round trip in another language still matches.
func MixEqual(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		vb, ok := b[k]
		if !ok || math.Abs(va-vb) > 1e-9 {
			return false
		}
	}
	return true
}

// MixKeys returns the union of both mixes' keys, sorted.
func MixKeys(a, b map[string]float64) []string {
	keys := slices.Collect(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
