package state

import (
	"strings"
	"testing"
	"time"

	"github.com/mana/personactl/catalog"
)

func TestNextKeepsTheTimeOfUnchangedPersonas(t *testing.T) {
	then := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	now := then.Add(48 * time.Hour)
	a := catalog.Persona{Email: "a@mana.test", Archetype: "x", ModuleMix: map[string]float64{"todo": 1}}
	b := catalog.Persona{Email: "b@mana.test", Archetype: "x"}
	prev := &State{Lineage: "L", Serial: 4, Personas: []RecordedPersona{{Email: a.Email, UserID: "u1", Values: a, AppliedAt: then}, {Email: b.Email, UserID: "u2", Values: b, AppliedAt: then}}}
	bEdited := b
	bEdited.Archetype = "y"
	next := prev.Next([]RecordedPersona{{Email: b.Email, UserID: "u2", Values: bEdited}, {Email: a.Email, UserID: "u1", Values: a}, {Email: "c@mana.test", UserID: "u3"}}, now)
	if next.Lineage != "L" || next.Serial != 4 || len(next.Personas) != 3 {
		t.Fatalf("next = %+v", next)
	}
	want := map[string]time.Time{"a@mana.test": then, "b@mana.test": now, "c@mana.test": now}
	for i, p := range next.Personas {
		if i > 0 && next.Personas[i-1].Email >= p.Email {
			t.Errorf("personas out of order: %s after %s", p.Email, next.Personas[i-1].Email)
		}
		if !p.AppliedAt.Equal(want[p.Email]) {
			t.Errorf("%s applied at %s, want %s", p.Email, p.AppliedAt, want[p.Email])
		}
	}
}

// TestRemove: addresses in any letter case; an unknown one drops nothing.
func TestRemove(t *testing.T) {
	s := &State{Personas: []RecordedPersona{{Email: "a@mana.test"}, {Email: "b@mana.test"}, {Email: "c@mana.test"}}}
	if n, err := s.Remove("B@mana.test", "nobody@mana.test"); err == nil || n != 0 || len(s.Personas) != 3 || !strings.Contains(err.Error(), "nobody@mana.test") {
		t.Fatalf("Remove with an unknown address = %d, %v; left %d; want an error naming it and nothing dropped", n, err, len(s.Personas))
	}
	if n, err := s.Remove("B@mana.test", "c@mana.test"); err != nil || n != 2 || len(s.Personas) != 1 || s.Personas[0].Email != "a@mana.test" {
		t.Fatalf("Remove = %d, %v; left %+v", n, err, s.Personas)
	}
}
