package file

import (
	"testing"
	"time"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/state"
)

// fuzzState is a small valid state, as personactl writes it.
func fuzzState() *state.State {
	p := catalog.Persona{Name: "Anna", Email: "persona.anna@mana.test", Archetype: "adhd-student", SystemPrompt: "Du bist Anna und vergisst Dinge.", ModuleMix: map[string]float64{"todo": 0.5, "journal": 0.5}, TickCadence: "daily"}
	return &state.State{Version: state.FormatVersion, Lineage: "L", Serial: 3, Personas: []state.RecordedPersona{
		{Email: p.Email, UserID: "u1", Values: p, AppliedAt: time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC), Credentials: "pbkdf2-sha256$180000$abc"},
	}}
}

// FuzzDecodeState: whatever bytes a state file holds, reading it never
// panics; what it accepts is written back the same and read back equal.
func FuzzDecodeState(f *testing.F) {
	good, err := encodeState(fuzzState())
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{string(good), "", "{}", `{"version":1}`, `{"version":1,"lineage":"L","serial":1,"personas":[{"email":"a@mana.test"},{"email":"A@mana.test"}]}`, `{"version":99}`, "[]", "null", `{"version":1,"lineage":"L","serial":1,"personas":null}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := decodeState("fuzz.state.json", "fuzz.state.json.backup", data)
		if err != nil {
			if s != nil {
				t.Fatalf("an error and a state: %v", err)
			}
			return
		}
		again, err := encodeState(s)
		if err != nil {
			t.Fatalf("a state that was read cannot be written: %v", err)
		}
		s2, err := decodeState("fuzz.state.json", "", again)
		if err != nil {
			t.Fatalf("what was written cannot be read: %v\n%s", err, again)
		}
		third, err := encodeState(s2)
		if err != nil || string(third) != string(again) {
			t.Fatalf("round trip changed the state (%v):\n%s\n%s", err, again, third)
		}
	})
}

// FuzzParseJournal: whatever a journal file holds, reading it never
// panics; what it accepts is rewritten and read back with the same entries.
func FuzzParseJournal(f *testing.F) {
	started := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	j := &journal{byID: map[string]*state.JournalEntry{}}
	j.add(&state.JournalEntry{ID: "e1", Operation: "apply", Who: "ops", Host: "ci", Started: started, Plan: []byte(`{"changes":[]}`),
		Before: []state.BeforeImage{state.BeforeImageOf(state.LivePersona{UserID: "u1", Values: fuzzState().Personas[0].Values})},
		Steps:  []state.JournalStep{{Email: "persona.anna@mana.test", Action: "update", UserID: "u1", Outcome: state.StepDone, Finished: started}}})
	j.add(&state.JournalEntry{ID: "e2", Operation: "destroy", Started: started, Closed: started.Add(time.Minute), Outcome: state.OutcomeComplete})
	good, err := j.encode()
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{string(good), string(good[:len(good)/2]), "", "\n\n", `{"type":"steps","id":"nope","steps":[]}` + "\n", `{"type":"close","id":"e1"}` + "\n", "{\n  \"version\": 1,\n  \"entries\": []\n}\n", "not json\n"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := parseJournal("fuzz.journal", data, func(string) {})
		if err != nil {
			if j != nil {
				t.Fatalf("an error and a journal: %v", err)
			}
			return
		}
		again, err := j.encode()
		if err != nil {
			t.Fatalf("a journal that was read cannot be written: %v", err)
		}
		j2, err := parseJournal("fuzz.journal", again, func(msg string) { t.Errorf("rewritten journal warns: %s", msg) })
		if err != nil {
			t.Fatalf("what was written cannot be read: %v\n%s", err, again)
		}
		if len(j.entries) != len(j2.entries) {
			t.Fatalf("round trip kept %d of %d entries", len(j2.entries), len(j.entries))
		}
		for i := range j.entries {
			a, b := *j.entries[i], *j2.entries[i]
			if a.ID != b.ID || a.Outcome != b.Outcome || len(a.Steps) != len(b.Steps) || !a.Closed.Equal(b.Closed) {
				t.Fatalf("entry %d changed:\n%+v\n%+v", i, a, b)
			}
		}
	})
}
