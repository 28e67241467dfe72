package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/state"
)

// reseal returns a plan file around body with the checksum Decode expects,
// the way someone editing a plan file with care would recompute it.
func reseal(t testing.TB, body []byte) []byte {
	t.Helper()
	var p Plan
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("edited plan body does not parse: %v", err)
	}
	b, err := json.MarshalIndent(saved{Kind: savedKind, FormatVersion: SavedFormatVersion, SHA256: p.Hash(), Plan: body}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func bodyOf(t testing.TB, file []byte) []byte {
	t.Helper()
	var s saved
	if err := json.Unmarshal(file, &s); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, s.Plan); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDecode(t *testing.T) {
	in := Input{Desired: []catalog.Persona{annaEdited, anna2()}, Recorded: []state.RecordedPersona{rec("u1", anna)}, Live: []state.LivePersona{live("u1", anna)}, Workspace: "default", Lineage: "L", Serial: 3, SecretFingerprint: currentSecret}
	p := Compute(in, Options{})
	file, err := Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	body := bodyOf(t, file)
	tests := []struct {
		name string
		file []byte
		want string // "" means accepted
	}{
		{"as written", file, ""},
		{"reformatted, same content", reseal(t, bytes.ReplaceAll(body, []byte(`,"`), []byte(",\n\t\""))), ""},
		{"not JSON", []byte("plan: yes"), "not a personactl plan file"},
		{"another kind of file", []byte(`{"version":1,"lineage":"L","serial":3,"personas":[]}`), "not a personactl plan file"},
		{"an older format", bytes.Replace(file, []byte(`"format_version": "3"`), []byte(`"format_version": "2"`), 1), `plan file format "2" is not "3"`},
		{"a newer format", bytes.Replace(file, []byte(`"format_version": "3"`), []byte(`"format_version": "4"`), 1), `plan file format "4"`},
		{"one value changed, checksum not", bytes.Replace(file, []byte(`"night-owl"`), []byte(`"early-bird"`), 1), "corrupted or was edited"},
		{"checksum removed", bytes.Replace(file, []byte(`"sha256": "`+p.Hash()+`"`), []byte(`"sha256": ""`), 1), "corrupted or was edited"},
		{"cut short", file[:len(file)/2], "not a personactl plan file"},
		{"an unknown field, resealed", reseal(t, bytes.Replace(body, []byte(`{"options"`), []byte(`{"force":true,"options"`), 1)), "corrupted or was edited"},
		{"values for another address, resealed", reseal(t, bytes.Replace(body, []byte(`"email":"persona.anna@mana.test","archetype":"night-owl"`), []byte(`"email":"lena@example.com","archetype":"night-owl"`), 1)), "not consistent"},
		{"changes out of order, resealed", reseal(t, swapChanges(t, body)), "not consistent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(tt.file)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if got.Hash() != p.Hash() {
					t.Error("the plan read back is not the plan written")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one saying %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), "personactl plan") {
				t.Errorf("error %q does not say how to make a new plan", err)
			}
			if tt.want == "corrupted or was edited" && !errors.Is(err, ErrCorruptPlan) {
				t.Errorf("error %v is not ErrCorruptPlan", err)
			}
		})
	}
}

func swapChanges(t testing.TB, body []byte) []byte {
	var p Plan
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	p.Changes[0], p.Changes[1] = p.Changes[1], p.Changes[0]
	b, err := json.Marshal(&p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAnEditedPlanCannotTurnAPersonIntoAPersona is the regression test of a
// plan file edited with care (checksum recomputed) so that an update, or a
// create, writes to a person's address: the checksum cannot catch it; the
// check against live must.
func TestAnEditedPlanCannotTurnAPersonIntoAPersona(t *testing.T) {
	const person = "lena.person@example.com"
	in := Input{Desired: []catalog.Persona{annaEdited}, Recorded: []state.RecordedPersona{rec("u1", anna)}, Live: []state.LivePersona{live("u1", anna)}, Workspace: "default", Lineage: "L", Serial: 3, SecretFingerprint: currentSecret}
	p := Compute(in, Options{})
	if p.Changes[0].Action != Update {
		t.Fatalf("setup: %s, want an update", p.Changes[0].Action)
	}
	file, err := Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	body := bodyOf(t, file)
	// The person's address is taken by a Mana user who is not a persona:
	// the fresh read says so for every address the saved plan creates.
	fresh := in
	fresh.Taken = []string{person}

	edits := map[string][]byte{
		"the update's address": bytes.ReplaceAll(body, []byte(anna.Email), []byte(person)),
		"the update turned into a create": bytes.Replace(
			bytes.ReplaceAll(body, []byte(anna.Email), []byte(person)),
			[]byte(`"action":"update","user_id":"u1"`), []byte(`"action":"create"`), 1),
	}
	for name, edited := range edits {
		t.Run(name, func(t *testing.T) {
			if bytes.Equal(edited, body) {
				t.Fatal("the edit changed nothing")
			}
			got, err := Decode(reseal(t, edited))
			if err != nil {
				t.Fatalf("a consistently edited plan file is refused by Decode (%v); the test needs it to reach Stale", err)
			}
			why := got.Stale(fresh)
			if len(why) == 0 {
				t.Fatal("the edited plan is not stale: applying it would write to a person's address")
			}
			if !strings.Contains(strings.Join(why, "\n"), person) {
				t.Errorf("stale reasons %q do not name %s", why, person)
			}
		})
	}
}

// FuzzDecode feeds the plan-file reader arbitrary bytes, and arbitrary plan
// bodies sealed with a correct checksum (so that the fuzzer reaches past the
// checksum). Whatever Decode accepts must encode and decode again to the
// same plan, render in every format, and go through Stale and CheckGuards,
// all without a panic.
func FuzzDecode(f *testing.F) {
	for _, sc := range scenarios() {
		p := Compute(sc.in, sc.opts)
		file, err := Encode(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(file)
		f.Add(bodyOf(f, file))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if p, err := Decode(data); err == nil {
			exercise(t, p)
		}
		var body Plan
		if json.Unmarshal(data, &body) != nil {
			return
		}
		file, err := Encode(&body)
		if err != nil {
			return
		}
		if p, err := Decode(file); err == nil {
			exercise(t, p)
		}
	})
}

func exercise(t *testing.T, p *Plan) {
	file, err := Encode(p)
	if err != nil {
		t.Fatalf("a decoded plan does not encode: %v", err)
	}
	again, err := Decode(file)
	if err != nil {
		t.Fatalf("a decoded plan, encoded again, is refused: %v", err)
	}
	if again.Hash() != p.Hash() {
		t.Fatal("a decoded plan changes in an encode/decode round trip")
	}
	if err := RenderText(io.Discard, p, TextOptions{Color: true}); err != nil {
		t.Fatal(err)
	}
	if err := RenderJSON(io.Discard, p); err != nil {
		t.Fatal(err)
	}
	if err := RenderMarkdown(io.Discard, p, MarkdownOptions{Limit: 2000}); err != nil {
		t.Fatal(err)
	}
	_ = p.Stale(Input{})
	_ = p.CheckGuards(Guards{Limit: true})
	_ = p.Differs()
	_ = p.Summary()
}
