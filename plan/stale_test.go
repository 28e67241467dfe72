package plan

import (
	"strings"
	"testing"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/state"
)

// TestStaleChecksEveryChangeAgainstLive applies a saved plan to a world that
// moved on in one way each, and expects the plan refused with a reason that
// names the persona and what moved.
func TestStaleChecksEveryChangeAgainstLive(t *testing.T) {
	ben := persona("persona.ben@mana.test", prompt)
	base := Input{
		Desired:   []catalog.Persona{annaEdited, ben},
		Recorded:  []state.RecordedPersona{rec("u1", anna), rec("u9", persona("persona.gone@mana.test", prompt))},
		Live:      []state.LivePersona{live("u1", anna), live("u5", persona("persona.extra@mana.test", prompt))},
		Workspace: "default", Lineage: "L", Serial: 3, SecretFingerprint: currentSecret,
	}
	p := Compute(base, Options{Prune: true})
	// The plan: update anna, create ben, delete extra (pruned), forget gone.
	tests := []struct {
		name string
		edit func(in *Input)
		want []string // every reason must contain one of these, in order
	}{
		{"nothing moved", func(in *Input) {}, nil},
		{"the state's serial moved", func(in *Input) { in.Serial = 4 }, []string{"serial 3 when planned, now lineage L serial 4"}},
		{"another workspace", func(in *Input) { in.Workspace = "staging" }, []string{"workspace default, not staging"}},
		{"the updated persona was edited live", func(in *Input) {
			in.Live = []state.LivePersona{live("u1", annaHand), in.Live[1]}
		}, []string{"persona.anna@mana.test: live persona u1 changed since the plan was made"}},
		{"the updated persona was re-created with the same values", func(in *Input) {
			in.Live = []state.LivePersona{live("u8", anna), in.Live[1]}
		}, []string{"persona.anna@mana.test: planned as an update of live persona u1, but the live persona at the address is u8 now"}},
		{"the deleted persona is gone already", func(in *Input) {
			in.Live = in.Live[:1]
		}, []string{"persona.extra@mana.test: planned as a delete of live persona u5, but no live persona has the address now"}},
		{"the created address became a persona", func(in *Input) {
			in.Live = append(in.Live, live("u7", ben))
		}, []string{"persona.ben@mana.test: planned as a create, but live persona u7 has the address now"}},
		{"the created address was taken by a person", func(in *Input) { in.Taken = []string{ben.Email} }, []string{"persona.ben@mana.test is now taken by a Mana user who is not a persona"}},
		{"the created address cannot be told about", func(in *Input) { in.Undetermined = []string{ben.Email} }, []string{"persona.ben@mana.test: the users search cannot tell who holds this address now"}},
		{"the forgotten persona is live again", func(in *Input) {
			in.Live = append(in.Live, live("u9", persona("persona.gone@mana.test", prompt)))
		}, []string{"persona.gone@mana.test: planned to be forgotten as gone, but live persona u9 has the address again"}},
		{"another seed secret", func(in *Input) { in.SecretFingerprint = "fp-other" }, []string{"the seed secret in effect is not the one the plan was made with"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base
			in.Live = append([]state.LivePersona(nil), base.Live...)
			tt.edit(&in)
			why := p.Stale(in)
			if len(why) != len(tt.want) {
				t.Fatalf("stale reasons %q, want %d", why, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(why[i], w) {
					t.Errorf("reason %q does not say %q", why[i], w)
				}
			}
		})
	}
}

func TestStaleRecordOnlyMustStillMatch(t *testing.T) {
	in := Input{Desired: []catalog.Persona{anna}, Live: []state.LivePersona{live("u1", anna)}}
	p := Compute(in, Options{})
	if c := p.Changes[0]; c.Action != NoOp || !c.Record {
		t.Fatalf("want a record-only no-op, got %s record=%v", c.Action, c.Record)
	}
	if why := p.Stale(in); len(why) != 0 {
		t.Fatalf("fresh plan is stale: %q", why)
	}
	moved := in
	moved.Live = []state.LivePersona{live("u1", annaHand)}
	if why := p.Stale(moved); len(why) != 1 || !strings.Contains(why[0], "persona.anna@mana.test: live persona u1 changed") {
		t.Errorf("a record-only persona edited live: stale reasons %q", why)
	}
}

func TestStaleReplaceOfAPersonaNotLive(t *testing.T) {
	in := Input{Desired: []catalog.Persona{anna}, Recorded: []state.RecordedPersona{rec("u1", anna)}, Undetermined: []string{anna.Email}}
	p := Compute(in, Options{Replace: []string{anna.Email}})
	if why := p.Stale(in); len(why) != 0 {
		t.Fatalf("fresh plan is stale: %q", why)
	}
	appeared := in
	appeared.Live = []state.LivePersona{live("u3", anna)}
	if why := p.Stale(appeared); len(why) != 1 || !strings.Contains(why[0], "live persona u3 has the address now") {
		t.Errorf("stale reasons %q", why)
	}
	taken := in
	taken.Taken = []string{anna.Email}
	if why := p.Stale(taken); len(why) != 1 || !strings.Contains(why[0], "taken by a Mana user who is not a persona") {
		t.Errorf("stale reasons %q", why)
	}
}
