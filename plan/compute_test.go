package plan

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/state"
)

func persona(email, prompt string) catalog.Persona {
	name := strings.TrimPrefix(strings.Split(email, "@")[0], "persona.")
	return catalog.Persona{
		Name:         strings.ToUpper(name[:1]) + name[1:],
		Email:        email,
		Archetype:    "adhd-student",
		SystemPrompt: prompt,
		ModuleMix:    map[string]float64{"todo": 0.5, "journal": 0.5},
		TickCadence:  "daily",
	}
}

func with(p catalog.Persona, edit func(*catalog.Persona)) catalog.Persona {
	p.ModuleMix = copyMix(p.ModuleMix)
	edit(&p)
	return p
}

func copyMix(m map[string]float64) map[string]float64 {
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func live(id string, p catalog.Persona) state.LivePersona {
	last := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	return state.LivePersona{UserID: id, Values: p, CreatedAt: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), History: state.History{Actions7d: 3, Actions: 7, Feedback: 2, LastActiveAt: &last}}
}

// currentSecret stands for the fingerprint of the seed secret in effect; rec
// records every persona with it unless a test says otherwise.
const currentSecret = "fp-current"

func rec(id string, p catalog.Persona) state.RecordedPersona {
	return state.RecordedPersona{Email: p.Email, UserID: id, Values: p, SecretFingerprint: currentSecret}
}

const prompt = "Du bist Anna, 28, Studentin der Sozialen Arbeit mit ADHS."

var (
	anna       = persona("persona.anna@mana.test", prompt)
	annaEdited = with(anna, func(p *catalog.Persona) { p.Archetype = "night-owl" })
	annaHand   = with(anna, func(p *catalog.Persona) { p.TickCadence = "hourly" })
)

// TestThreeWayTable checks every row of the 3-way table of Compute.
func TestThreeWayTable(t *testing.T) {
	tests := []struct {
		name      string
		desired   []catalog.Persona
		recorded  []state.RecordedPersona
		live      []state.LivePersona
		opts      Options
		action    Action
		drift     DriftKind
		record    bool
		warnings  int
		errors    int
		driftHint []catalog.Field
		noChange  bool // only warnings and errors are checked: no change is expected
	}{
		{"catalog only: create", []catalog.Persona{anna}, nil, nil, Options{}, Create, "", false, 0, 0, nil, false},
		{"catalog and recorded, not live: create, deleted outside", []catalog.Persona{anna}, []state.RecordedPersona{rec("u1", anna)}, nil, Options{}, Create, DeletedOutside, false, 0, 0, nil, false},
		{"live equals catalog, not recorded: no-op recorded at next apply", []catalog.Persona{anna}, nil, []state.LivePersona{live("u1", anna)}, Options{}, NoOp, "", true, 0, 0, nil, false},
		{"live equals catalog and recorded: no-op", []catalog.Persona{anna}, []state.RecordedPersona{rec("u1", anna)}, []state.LivePersona{live("u1", anna)}, Options{}, NoOp, "", false, 0, 0, nil, false},
		{"live equals catalog, recorded differs: no-op, changed outside", []catalog.Persona{anna}, []state.RecordedPersona{rec("u1", annaHand)}, []state.LivePersona{live("u1", anna)}, Options{}, NoOp, ChangedOutside, true, 0, 0, []catalog.Field{catalog.FieldTickCadence}, false},
		{"live differs, not recorded: update", []catalog.Persona{annaEdited}, nil, []state.LivePersona{live("u1", anna)}, Options{}, Update, "", false, 0, 0, nil, false},
		{"live differs, recorded equals live: update", []catalog.Persona{annaEdited}, []state.RecordedPersona{rec("u1", anna)}, []state.LivePersona{live("u1", anna)}, Options{}, Update, "", false, 0, 0, nil, false},
		{"live differs from both: update, changed outside", []catalog.Persona{annaEdited}, []state.RecordedPersona{rec("u1", anna)}, []state.LivePersona{live("u1", annaHand)}, Options{}, Update, ChangedOutside, false, 0, 0, []catalog.Field{catalog.FieldTickCadence}, false},
		{"recorded and live, not in catalog: delete", nil, []state.RecordedPersona{rec("u1", anna)}, []state.LivePersona{live("u1", anna)}, Options{}, Delete, "", false, 0, 0, nil, false},
		{"recorded only: forget, deleted outside", nil, []state.RecordedPersona{rec("u1", anna)}, nil, Options{}, Forget, DeletedOutside, false, 0, 0, nil, false},
		{"live only: unmanaged, nothing", nil, nil, []state.LivePersona{live("u1", anna)}, Options{}, NoOp, Unmanaged, false, 0, 0, nil, false},
		{"live only with --prune: delete", nil, nil, []state.LivePersona{live("u1", anna)}, Options{Prune: true}, Delete, Unmanaged, false, 0, 0, nil, false},
		{"name differs alone: unchanged with a warning", []catalog.Persona{with(anna, func(p *catalog.Persona) { p.Name = "Anna Maria" })}, []state.RecordedPersona{rec("u1", anna)}, []state.LivePersona{live("u1", anna)}, Options{}, NoOp, "", false, 1, 0, nil, false},
		{"name and archetype differ: update with a warning", []catalog.Persona{with(annaEdited, func(p *catalog.Persona) { p.Name = "Anna Maria" })}, []state.RecordedPersona{rec("u1", anna)}, []state.LivePersona{live("u1", anna)}, Options{}, Update, "", false, 1, 0, nil, false},
		{"name differs with --replace: replace", []catalog.Persona{with(anna, func(p *catalog.Persona) { p.Name = "Anna Maria" })}, []state.RecordedPersona{rec("u1", anna)}, []state.LivePersona{live("u1", anna)}, Options{Replace: []string{anna.Email}}, Replace, "", false, 0, 0, nil, false},
		{"--replace of an address not in the catalog: error", nil, nil, nil, Options{Replace: []string{anna.Email}}, NoOp, "", false, 0, 1, nil, true},
		{"re-created outside with the same values: no-op, changed outside, recorded", []catalog.Persona{anna}, []state.RecordedPersona{rec("u1", anna)}, []state.LivePersona{live("u9", anna)}, Options{}, NoOp, ChangedOutside, true, 0, 0, []catalog.Field{FieldUserID}, false},
		{"--destroy of a managed persona: delete", []catalog.Persona{anna}, []state.RecordedPersona{rec("u1", anna)}, []state.LivePersona{live("u1", anna)}, Options{Destroy: true}, Delete, "", false, 0, 0, nil, false},
		{"--refresh-only: live changed, state records it", []catalog.Persona{annaEdited}, []state.RecordedPersona{rec("u1", anna)}, []state.LivePersona{live("u1", annaHand)}, Options{RefreshOnly: true}, NoOp, ChangedOutside, true, 0, 0, []catalog.Field{catalog.FieldTickCadence}, false},
		{"moduleMix key order never matters", []catalog.Persona{with(anna, func(p *catalog.Persona) { p.ModuleMix = map[string]float64{"journal": 0.5, "todo": 0.5} })}, []state.RecordedPersona{rec("u1", anna)}, []state.LivePersona{live("u1", anna)}, Options{}, NoOp, "", false, 0, 0, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Compute(Input{Desired: tt.desired, Recorded: tt.recorded, Live: tt.live}, tt.opts)
			if len(Messages(p.Warnings)) != tt.warnings || len(Messages(p.Errors)) != tt.errors {
				t.Fatalf("warnings %q errors %q, want %d and %d", Messages(p.Warnings), Messages(p.Errors), tt.warnings, tt.errors)
			}
			if tt.noChange {
				if len(p.Changes) != 0 {
					t.Errorf("got %d changes, want none", len(p.Changes))
				}
				return
			}
			if len(p.Changes) != 1 {
				t.Fatalf("got %d changes, want 1", len(p.Changes))
			}
			c := p.Changes[0]
			if c.Action != tt.action {
				t.Errorf("action = %s, want %s", c.Action, tt.action)
			}
			var kind DriftKind
			if c.Drift != nil {
				kind = c.Drift.Kind
			}
			if kind != tt.drift {
				t.Errorf("drift = %q, want %q", kind, tt.drift)
			}
			if c.Record != tt.record {
				t.Errorf("record = %v, want %v", c.Record, tt.record)
			}
			if tt.driftHint != nil {
				var got []catalog.Field
				for _, f := range c.Drift.Fields {
					got = append(got, f.Field)
				}
				if !reflect.DeepEqual(got, tt.driftHint) {
					t.Errorf("drift fields = %v, want %v", got, tt.driftHint)
				}
			}
		})
	}
}

func TestCreateOverAPersonsAddressBlocksThePlan(t *testing.T) {
	p := Compute(Input{Desired: []catalog.Persona{anna}, Taken: []string{anna.Email}}, Options{})
	if len(Messages(p.Errors)) != 1 || !strings.Contains(Messages(p.Errors)[0], "not a persona") {
		t.Fatalf("errors = %q, want one naming the address as a non-persona's", Messages(p.Errors))
	}
}

// TestDestroyDeletesWhatThisSetupManages: a destroy deletes the live
// personas in the catalog or the recorded state and names every other one
// it leaves; --all deletes every live persona, marking those the catalog
// does not have; --target narrows the managed set (with --all, the live
// set), and a target outside it deletes nothing.
func TestDestroyDeletesWhatThisSetupManages(t *testing.T) {
	ben := persona("persona.ben@mana.test", prompt)   // in the catalog only
	mia := persona("persona.mia@mana.test", prompt)   // recorded only
	zoe := persona("persona.zoe@mana.test", prompt)   // live only: another setup's
	gone := persona("persona.gone@mana.test", prompt) // recorded, deleted since
	in := Input{
		Desired:  []catalog.Persona{anna, ben},
		Recorded: []state.RecordedPersona{rec("u1", anna), rec("u3", mia), rec("u9", gone)},
		Live:     []state.LivePersona{live("u1", anna), live("u2", ben), live("u3", mia), live("u4", zoe)},
	}
	noCatalog := in
	noCatalog.Desired, noCatalog.MissingCatalog = nil, "catalog.json"
	const leftZoe = "1 persona not managed here (in neither this catalog nor this recorded state) was left: persona.zoe@mana.test; `--all` deletes it too"
	type want struct {
		action       Action
		notInCatalog bool
	}
	tests := []struct {
		name    string
		in      Input
		opts    Options
		changes map[string]want
		notes   []string
	}{
		{"managed via the catalog, the state or both: deleted; the unmanaged one left and named", in, Options{Destroy: true},
			map[string]want{anna.Email: {Delete, false}, ben.Email: {Delete, false}, mia.Email: {Delete, true}, zoe.Email: {NoOp, false}, gone.Email: {Forget, false}},
			[]string{leftZoe}},
		{"--all: every live persona, marking those not in the catalog", in, Options{Destroy: true, All: true},
			map[string]want{anna.Email: {Delete, false}, ben.Email: {Delete, false}, mia.Email: {Delete, true}, zoe.Email: {Delete, true}, gone.Email: {Forget, false}},
			nil},
		{"--target inside the managed set", in, Options{Destroy: true, Targets: []string{mia.Email}},
			map[string]want{mia.Email: {Delete, true}}, nil},
		{"--target outside the managed set deletes nothing", in, Options{Destroy: true, Targets: []string{zoe.Email}},
			map[string]want{zoe.Email: {NoOp, false}}, []string{leftZoe}},
		{"--all with --target narrows the live set", in, Options{Destroy: true, All: true, Targets: []string{zoe.Email}},
			map[string]want{zoe.Email: {Delete, true}}, nil},
		{"no catalog: the recorded personas only, said", noCatalog, Options{Destroy: true},
			map[string]want{anna.Email: {Delete, true}, ben.Email: {NoOp, false}, mia.Email: {Delete, true}, zoe.Email: {NoOp, false}, gone.Email: {Forget, false}},
			[]string{"there is no catalog at catalog.json, so this destroy deletes only the personas the recorded state holds", "2 personas not managed here (in neither this catalog nor this recorded state) were left: persona.ben@mana.test, persona.zoe@mana.test; `--all` deletes them too"}},
		{"no catalog with --all: every live persona", noCatalog, Options{Destroy: true, All: true},
			map[string]want{anna.Email: {Delete, true}, ben.Email: {Delete, true}, mia.Email: {Delete, true}, zoe.Email: {Delete, true}, gone.Email: {Forget, false}},
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Compute(tt.in, tt.opts)
			got := map[string]want{}
			for _, c := range p.Changes {
				got[c.Email] = want{c.Action, c.NotInCatalog}
				if c.Action == Delete && c.History == nil {
					t.Errorf("%s: delete without the history it destroys", c.Email)
				}
			}
			if !reflect.DeepEqual(got, tt.changes) {
				t.Errorf("changes %v, want %v", got, tt.changes)
			}
			if len(p.Notes) != len(tt.notes) {
				t.Fatalf("notes %q, want %d", Messages(p.Notes), len(tt.notes))
			}
			for i, n := range tt.notes {
				if got := p.Notes[i].Message(); !strings.HasPrefix(got, n) {
					t.Errorf("note %q, want %q", got, n)
				}
			}
			if len(p.Errors) > 0 {
				t.Errorf("errors %q", Messages(p.Errors))
			}
		})
	}
}

func TestChangesAreOrderedByEmail(t *testing.T) {
	var desired []catalog.Persona
	for _, n := range []string{"zoe", "anna", "mia", "ben"} {
		desired = append(desired, persona("persona."+n+"@mana.test", prompt))
	}
	p := Compute(Input{Desired: desired}, Options{})
	for i := 1; i < len(p.Changes); i++ {
		if p.Changes[i-1].Email >= p.Changes[i].Email {
			t.Fatalf("changes out of order: %s before %s", p.Changes[i-1].Email, p.Changes[i].Email)
		}
	}
}

func TestRecordedKeepsTheLiveName(t *testing.T) {
	renamed := with(annaEdited, func(p *catalog.Persona) { p.Name = "Anna Maria" })
	p := Compute(Input{Desired: []catalog.Persona{renamed}, Live: []state.LivePersona{live("u1", anna)}}, Options{})
	got, ok := p.Changes[0].Recorded()
	if !ok || got.Name != "Anna" || got.Archetype != "night-owl" {
		t.Errorf("recorded after update = %+v, want the live name and the new archetype", got)
	}
	p = Compute(Input{Desired: []catalog.Persona{renamed}, Live: []state.LivePersona{live("u1", anna)}}, Options{Replace: []string{anna.Email}})
	if got, _ := p.Changes[0].Recorded(); got.Name != "Anna Maria" {
		t.Errorf("recorded after replace has name %q, want the catalog's", got.Name)
	}
}

// unreadable is a live persona whose detail was too large to read: the
// list's email, user id and count of the week's actions alone.
func unreadable(id, email string) state.LivePersona {
	return state.LivePersona{UserID: id, Values: catalog.Persona{Email: email}, History: state.History{Actions7d: 4}, Unreadable: true}
}

// TestUnreadableLivePersona: a live persona too large to read is named with
// its user id and left alone (its values are unknown, so neither an update
// nor a record of them could be right), the rest of the plan goes on, and a
// destroy that covers it deletes it by the user id the list gave.
func TestUnreadableLivePersona(t *testing.T) {
	big := unreadable("u-big", anna.Email)
	benEdited := with(anna2(), func(p *catalog.Persona) { p.Archetype = "night-owl" })
	in := Input{
		Desired:           []catalog.Persona{anna, benEdited},
		Recorded:          []state.RecordedPersona{rec("u-big", anna), rec("u2", anna2())},
		Live:              []state.LivePersona{big, live("u2", anna2())},
		SecretFingerprint: currentSecret,
	}
	moved := in
	moved.Recorded = []state.RecordedPersona{rec("u-old", anna), rec("u2", anna2())}
	unmanaged := in
	unmanaged.Desired, unmanaged.Recorded = []catalog.Persona{benEdited}, []state.RecordedPersona{rec("u2", anna2())}
	for _, tt := range []struct {
		name   string
		in     Input
		opts   Options
		action Action
		warned bool
		other  Action // what becomes of the readable persona
	}{
		{"apply", in, Options{}, NoOp, true, Update},
		{"refresh", moved, Options{RefreshOnly: true}, NoOp, true, NoOp},
		{"destroy", in, Options{Destroy: true}, Delete, false, Delete},
		{"destroy another", in, Options{Destroy: true, Targets: []string{"persona.mia@mana.test"}}, NoOp, false, Delete},
		{"destroy leaves it unmanaged", unmanaged, Options{Destroy: true}, NoOp, true, Delete},
		{"destroy --all --target", unmanaged, Options{Destroy: true, All: true, Targets: []string{anna.Email}}, Delete, false, NoOp},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := Compute(tt.in, tt.opts)
			got := map[string]Change{}
			for _, c := range p.Changes {
				got[c.Email] = c
			}
			c := got[anna.Email]
			if c.Action != tt.action || c.Record || len(c.Fields) > 0 {
				t.Errorf("the unreadable persona: %s, record %v, fields %v; want %s, nothing recorded, no fields", c.Action, c.Record, c.Fields, tt.action)
			}
			if c.Action == Delete && c.UserID != "u-big" {
				t.Errorf("its delete targets user %q, want the listed u-big", c.UserID)
			}
			if c.Drift.Has(ChangedOutside) && (len(c.Drift.Fields) != 1 || c.Drift.Fields[0].Field != FieldUserID) {
				t.Errorf("drift from values nobody read: %+v", c.Drift.Fields)
			}
			if other := got["persona.mia@mana.test"]; other.Action != tt.other {
				t.Errorf("the readable persona: %s, want %s", other.Action, tt.other)
			}
			var warning *Finding
			for i, f := range p.Warnings {
				if f.Code == CodeLiveUnreadable {
					warning = &p.Warnings[i]
				}
			}
			switch {
			case !tt.warned && warning != nil:
				t.Errorf("warned of a persona the plan deletes or leaves out: %s", warning.Message())
			case tt.warned && warning == nil:
				t.Errorf("no warning names the unreadable persona; warnings %v", Messages(p.Warnings))
			case tt.warned && !strings.Contains(warning.Message(), "persona.anna@mana.test (user u-big)") ||
				tt.warned && !strings.Contains(warning.Message(), "personactl destroy --all --target=persona.anna@mana.test"):
				t.Errorf("the warning does not name it, its user id and the way out: %s", warning.Message())
			}
			if tt.name == "apply" && !reflect.DeepEqual(p.NeedsAttention(), []string{anna.Email}) {
				t.Errorf("needs attention: %v, want the unreadable persona (catalog and live may differ)", p.NeedsAttention())
			}
		})
	}
}
