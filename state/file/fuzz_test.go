package file

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/state"
)

// fuzzState is a small valid state, as personactl writes it.
func fuzzState() *state.State {
	p := catalog.Persona{Name: "Anna", Email: "persona.anna@mana.test", Archetype: "adhd-student", SystemPrompt: "Du bist Anna und vergisst Dinge.", ModuleMix: map[string]float64{"todo": 0.5, "journal": 0.5}, TickCadence: "daily"}
	return &state.State{Version: state.FormatVersion, Lineage: "L", Serial: 3, Personas: []state.RecordedPersona{
		{Email: p.Email, UserID: "u1", Values: p, AppliedAt: time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC), SecretFingerprint: "pbkdf2-sha256$180000$abc"},
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

// encode renders the whole journal as JSON Lines, as the writers would
// leave it: a header, then per entry its open record, its steps in one
// record, and its close record.
func (j *journal) encode() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	recs := []record{{Type: recHeader, Version: journalVersion}}
	for _, e := range j.entries {
		open := record{Type: recOpen, ID: e.ID, Operation: e.Operation, Who: e.Who, Host: e.Host, Started: e.Started, Plan: string(e.Plan)}
		for _, l := range e.Before {
			open.Before = append(open.Before, imageOf(l))
		}
		recs = append(recs, open)
		if len(e.Steps) > 0 {
			recs = append(recs, record{Type: recSteps, ID: e.ID, Steps: e.Steps})
		}
		if !e.Closed.IsZero() {
			recs = append(recs, record{Type: recClose, ID: e.ID, Closed: e.Closed, Outcome: e.Outcome})
		}
	}
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			return nil, fmt.Errorf("entry %s: %w", r.ID, err)
		}
	}
	return buf.Bytes(), nil
}

// prune drops the oldest closed entries beyond keep, as closing an entry
// does; open entries stay.
func (j *journal) prune(keep int) {
	drop := j.beyond(keep)
	kept := j.entries[:0]
	for _, e := range j.entries {
		if drop[e.ID] {
			delete(j.byID, e.ID)
		} else {
			kept = append(kept, e)
		}
	}
	j.entries = kept
}

// FuzzParseJournal: whatever a journal file holds, reading it never
// panics; what it accepts is rewritten and read back with the same entries.
func FuzzParseJournal(f *testing.F) {
	started := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	j := &journal{byID: map[string]*state.JournalEntry{}}
	j.add(&state.JournalEntry{ID: "e1", Operation: "apply", Who: "ops", Host: "ci", Started: started, Plan: []byte(`{"changes":[]}`),
		Before: []state.LivePersona{{UserID: "u1", Values: fuzzState().Personas[0].Values}},
		Steps:  []state.JournalStep{{Email: "persona.anna@mana.test", Action: "update", UserID: "u1", Result: state.StepDone, Finished: started}}})
	j.add(&state.JournalEntry{ID: "e2", Operation: "destroy", Started: started, Closed: started.Add(time.Minute), Outcome: state.OutcomeComplete})
	good, err := j.encode()
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{string(good), string(good[:len(good)/2]), "", "\n\n", `{"type":"steps","id":"nope","steps":[]}` + "\n", `{"type":"close","id":"e1"}` + "\n", "not json\n"} {
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

// repeatsKey reports whether a top-level object in line names a key twice;
// encoding/json reads the last one, the prefix scan the first.
func repeatsKey(line []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(line))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return false
		}
		k, _ := t.(string)
		if seen[strings.ToLower(k)] {
			return true
		}
		seen[strings.ToLower(k)] = true
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return false
		}
	}
	return false
}

// FuzzCloseEntry: for any journal parseJournal reads, the scan that
// closing and reading open runs rely on sees the same entries, and closing
// an open entry without decoding the others gives what decoding, closing
// and re-encoding the whole journal would.
func FuzzCloseEntry(f *testing.F) {
	started := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	j := &journal{byID: map[string]*state.JournalEntry{}}
	j.add(&state.JournalEntry{ID: "e0", Operation: "apply", Started: started.Add(-time.Hour), Closed: started.Add(-time.Minute), Outcome: state.OutcomeComplete,
		Steps: []state.JournalStep{{Email: "persona.ben@mana.test", Action: "create", UserID: "u0", Result: state.StepDone, Finished: started}}})
	j.add(&state.JournalEntry{ID: "e1", Operation: "apply", Who: "ops", Host: "ci", Started: started, Plan: []byte(`{"changes":[{"email":"a\"b"}]}`),
		Before: []state.LivePersona{{UserID: "u1", Values: fuzzState().Personas[0].Values}},
		Steps:  []state.JournalStep{{Email: "persona.anna@mana.test", Action: "update", UserID: "u1", Result: state.StepDone, Finished: started}}})
	good, err := j.encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"id":"e1","type":"open"}` + "\n" + `{"type":"steps","id":"e1","steps":[{"email":"x"}]}` + "\n"))
	f.Add([]byte(`{"type":"open","id":"e\u0031","plan":"p"}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		full, err := parseJournal("fuzz.journal", data, func(string) {})
		if err != nil {
			return
		}
		for _, line := range bytes.Split(data, []byte("\n")) {
			if repeatsKey(line) {
				return
			}
		}
		skel, _, err := scanJournal("fuzz.journal", data, func(string) {})
		if err != nil {
			t.Fatalf("parseJournal reads the journal, scanJournal refuses it: %v", err)
		}
		if len(skel.entries) != len(full.entries) {
			t.Fatalf("scan sees %d entries, parse %d", len(skel.entries), len(full.entries))
		}
		var open string
		for i, e := range full.entries {
			s := skel.entries[i]
			if s.ID != e.ID || !s.Closed.Equal(e.Closed) || s.Outcome != e.Outcome {
				t.Fatalf("entry %d: scan %+v, parse %+v", i, *s, *e)
			}
			if e.Closed.IsZero() && open == "" {
				open = e.ID
			}
		}
		if open == "" {
			return
		}
		closed := started.Add(time.Hour)
		out, err := closeEntry("fuzz.journal", data, func(string) {}, open, nil, closed, state.OutcomeComplete, 1)
		if err != nil {
			t.Fatalf("closing open entry %q: %v", open, err)
		}
		got, err := parseJournal("fuzz.journal", out, func(msg string) { t.Errorf("closed journal warns: %s", msg) })
		if err != nil {
			t.Fatalf("the closed journal cannot be read: %v\n%s", err, out)
		}
		want := full
		e := want.byID[open]
		e.Closed, e.Outcome, e.Plan, e.Before = closed, state.OutcomeComplete, nil, nil
		want.prune(1)
		if len(got.entries) != len(want.entries) {
			t.Fatalf("closed journal has %d entries, want %d", len(got.entries), len(want.entries))
		}
		for i := range want.entries {
			a, b := *want.entries[i], *got.entries[i]
			if a.ID != b.ID || a.Operation != b.Operation || a.Who != b.Who || a.Host != b.Host || !a.Started.Equal(b.Started) ||
				!a.Closed.Equal(b.Closed) || a.Outcome != b.Outcome || len(a.Steps) != len(b.Steps) || len(b.Plan) != len(a.Plan) || len(b.Before) != len(a.Before) {
				t.Fatalf("entry %d:\nwant %+v\ngot  %+v", i, a, b)
			}
		}
	})
}

// FuzzWriteJSONString: the journal's own string encoder writes what
// encoding/json reads back as the same text.
func FuzzWriteJSONString(f *testing.F) {
	for _, seed := range []string{"", `{"a":"b\"c"}`, "line\nbreak\ttab\r\x00\x1f", "Grüße \u2028 \\ /", "<&>"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		if !utf8.Valid(s) {
			return // OpenJournal refuses a plan that is not UTF-8
		}
		var b bytes.Buffer
		writeJSONString(&b, s)
		var got string
		if err := json.Unmarshal(b.Bytes(), &got); err != nil {
			t.Fatalf("%q encoded as %s, which does not decode: %v", s, b.Bytes(), err)
		}
		if got != string(s) {
			t.Fatalf("%q encoded as %s decodes as %q", s, b.Bytes(), got)
		}
	})
}

// TestWriteOpenReadsBackAsEncoded: the open record written a piece at a
// time reads back as the entry, plan and before-images included.
func TestWriteOpenReadsBackAsEncoded(t *testing.T) {
	started := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	e := state.JournalEntry{ID: "e1", Operation: "apply", Who: "o<p>s", Host: "ci", Started: started,
		Plan:   []byte("{\"changes\":[{\"email\":\"a\\\"b\",\"note\":\"tab\\there\"}]}\n\x01"),
		Before: []state.LivePersona{{UserID: "u1", Values: fuzzState().Personas[0].Values}, {UserID: "u2"}},
		Steps:  []state.JournalStep{{Email: "persona.anna@mana.test", Action: "update", UserID: "u1", Result: state.StepDone, Finished: started}}}
	var b bytes.Buffer
	if err := writeOpen(&b, e); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b.Bytes(), openPrefix) || bytes.Count(b.Bytes(), []byte("\n")) != 2 {
		t.Fatalf("not two lines, the first an open record:\n%s", b.Bytes())
	}
	j, err := parseJournal("fuzz.journal", b.Bytes(), func(msg string) { t.Error(msg) })
	if err != nil {
		t.Fatal(err)
	}
	got := j.byID["e1"]
	if got == nil || string(got.Plan) != string(e.Plan) || got.Who != e.Who || len(got.Before) != 2 || got.Before[0].Values.SystemPrompt != e.Before[0].Values.SystemPrompt || len(got.Steps) != 1 {
		t.Fatalf("read back %+v", got)
	}
}
