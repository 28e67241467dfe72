package plan

import (
	"testing"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/state"
)

// TestChangesDigestIsTheWritesAlone: two plans with the same writes share a
// digest, whatever else differs (drift notes, forgets, records, warnings,
// the state's serial); another value written, another user deleted or
// another action gives another digest.
func TestChangesDigestIsTheWritesAlone(t *testing.T) {
	anna := persona("persona.anna@mana.test", "prompt")
	annaEdited := with(anna, func(p *catalog.Persona) { p.Archetype = "night-owl" })
	ben := persona("persona.ben@mana.test", "prompt")
	gone := persona("persona.gone@mana.test", "prompt")
	base := Compute(Input{Desired: []catalog.Persona{annaEdited}, Recorded: []state.RecordedPersona{rec("u1", anna)}, Live: []state.LivePersona{live("u1", anna)}, Serial: 1}, Options{})
	same := []*Plan{
		// a forget and a drift note beside it, another serial
		Compute(Input{Desired: []catalog.Persona{annaEdited}, Recorded: []state.RecordedPersona{rec("u1", anna), rec("u9", gone)}, Live: []state.LivePersona{live("u1", anna)}, Serial: 7}, Options{}),
		// a persona to record in the state only
		Compute(Input{Desired: []catalog.Persona{annaEdited, ben}, Recorded: []state.RecordedPersona{rec("u1", anna)}, Live: []state.LivePersona{live("u1", anna), live("u2", ben)}, Serial: 1}, Options{}),
	}
	for i, p := range same {
		if p.ChangesDigest() != base.ChangesDigest() {
			t.Errorf("same writes %d: digest differs", i)
		}
	}
	other := map[string]*Plan{
		"another value":  Compute(Input{Desired: []catalog.Persona{with(anna, func(p *catalog.Persona) { p.Archetype = "early-bird" })}, Recorded: []state.RecordedPersona{rec("u1", anna)}, Live: []state.LivePersona{live("u1", anna)}}, Options{}),
		"another user":   Compute(Input{Desired: []catalog.Persona{annaEdited}, Recorded: []state.RecordedPersona{rec("u3", anna)}, Live: []state.LivePersona{live("u3", anna)}}, Options{}),
		"another action": Compute(Input{Desired: []catalog.Persona{annaEdited}, Recorded: []state.RecordedPersona{rec("u1", anna)}, Live: []state.LivePersona{live("u1", anna)}}, Options{Replace: []string{anna.Email}}),
		"a create more":  Compute(Input{Desired: []catalog.Persona{annaEdited, ben}, Recorded: []state.RecordedPersona{rec("u1", anna)}, Live: []state.LivePersona{live("u1", anna)}}, Options{}),
		"nothing":        Compute(Input{Desired: []catalog.Persona{anna}, Recorded: []state.RecordedPersona{rec("u1", anna)}, Live: []state.LivePersona{live("u1", anna)}}, Options{}),
	}
	for name, p := range other {
		if p.ChangesDigest() == base.ChangesDigest() {
			t.Errorf("%s: same digest as the base plan", name)
		}
		if len(DigestDifference(base, p)) == 0 {
			t.Errorf("%s: DigestDifference names no address", name)
		}
	}
}
