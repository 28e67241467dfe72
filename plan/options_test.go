package plan

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/state"
)

func emailsOf(p *Plan) []string {
	var out []string
	for _, c := range p.Changes {
		out = append(out, c.Email)
	}
	return out
}

func TestTargetsPlanOnlyThoseAddresses(t *testing.T) {
	ben := persona("persona.ben@mana.test", prompt)
	mia := anna2()
	in := Input{
		Desired:  []catalog.Persona{annaEdited, ben, mia},
		Recorded: []state.RecordedPersona{rec("u1", anna), rec("u3", mia)},
		Live:     []state.LivePersona{live("u1", anna), live("u3", mia)},
		Secret:   currentSecret,
	}
	tests := []struct {
		name     string
		opts     Options
		emails   []string
		actions  []Action
		warnings []string
		errors   []string
	}{
		{"one target among three", Options{Targets: []string{anna.Email}}, []string{anna.Email}, []Action{Update},
			[]string{"Only 1 of 3 personas were planned (--target); the rest may differ"}, nil},
		{"a target in no source is a warning", Options{Targets: []string{ben.Email, "persona.nobody@mana.test"}}, []string{ben.Email}, []Action{Create},
			[]string{"--target=persona.nobody@mana.test: no persona with that address in the catalog, the recorded state or live", "Only 1 of 3 personas"}, nil},
		{"destroy only the targets", Options{Destroy: true, Targets: []string{mia.Email}}, []string{mia.Email}, []Action{Delete},
			[]string{"Only 1 of 3 personas"}, nil},
		{"--replace outside the targets is an error", Options{Targets: []string{ben.Email}, Replace: []string{anna.Email}}, []string{ben.Email}, []Action{Create},
			[]string{"Only 1 of 3 personas"}, []string{"--replace=persona.anna@mana.test is not among the --target addresses"}},
		{"every address targeted", Options{Targets: []string{mia.Email, anna.Email, ben.Email}}, []string{anna.Email, ben.Email, mia.Email}, []Action{Update, Create, NoOp},
			[]string{"Only 3 of 3 personas"}, nil},
		{"targets compare without letter case, each once", Options{Targets: []string{strings.ToUpper(anna.Email), anna.Email, "Persona.Anna@Mana.Test"}}, []string{anna.Email}, []Action{Update},
			[]string{"Only 1 of 3 personas"}, nil},
		{"--replace compares without letter case too", Options{Targets: []string{strings.ToUpper(ben.Email)}, Replace: []string{strings.ToUpper(anna.Email), anna.Email}}, []string{ben.Email}, []Action{Create},
			[]string{"Only 1 of 3 personas"}, []string{"--replace=persona.anna@mana.test is not among the --target addresses"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Compute(in, tt.opts)
			if got := emailsOf(p); !reflect.DeepEqual(got, tt.emails) {
				t.Fatalf("planned %v, want only %v", got, tt.emails)
			}
			for i, c := range p.Changes {
				if c.Action != tt.actions[i] {
					t.Errorf("%s: %s, want %s", c.Email, c.Action, tt.actions[i])
				}
			}
			for _, w := range tt.warnings {
				if !slices.ContainsFunc(Messages(p.Warnings), func(s string) bool { return strings.Contains(s, w) }) {
					t.Errorf("warnings %q lack %q", Messages(p.Warnings), w)
				}
			}
			if len(Messages(p.Warnings)) != len(tt.warnings) {
				t.Errorf("warnings %q, want %d", Messages(p.Warnings), len(tt.warnings))
			}
			if len(Messages(p.Errors)) != len(tt.errors) {
				t.Fatalf("errors %q, want %q", Messages(p.Errors), tt.errors)
			}
			for i, e := range tt.errors {
				if !strings.Contains(Messages(p.Errors)[i], e) {
					t.Errorf("error %q does not say %q", Messages(p.Errors)[i], e)
				}
			}
			if len(p.Live) > len(p.Changes) {
				t.Errorf("the plan keeps fingerprints of %d live personas it does not plan", len(p.Live)-len(p.Changes))
			}
		})
	}
}

// TestOptionsRefuseBlankAddresses: an empty --target would narrow nothing
// (the run would plan, or destroy, every persona), so an empty or blank
// address in --target or --replace is refused, each flag named; so are
// --destroy with --prune and --all without --destroy, which do other than
// they seem to.
func TestOptionsRefuseBlankAddresses(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want []string // what the error says; none: no error
	}{
		{"no addresses", Options{}, nil},
		{"addresses", Options{Targets: []string{anna.Email, "PERSONA.BEN@MANA.TEST"}, Replace: []string{anna.Email}}, nil},
		{"an empty --target", Options{Targets: []string{""}}, []string{`--target=""`, "empty", "unset"}},
		{"a blank --target among addresses", Options{Destroy: true, Targets: []string{anna.Email, " \t"}}, []string{`--target=" \t"`, "blank"}},
		{"an empty --replace", Options{Replace: []string{anna.Email, ""}}, []string{`--replace=""`}},
		{"both, reported together", Options{Targets: []string{"\n"}, Replace: []string{" "}}, []string{`--target="\n"`, `--replace=" "`}},
		{"a destroy of every live persona", Options{Destroy: true, All: true}, nil},
		{"--destroy --prune points to --all", Options{Destroy: true, Prune: true}, []string{"--destroy --prune", "use --all"}},
		{"--all without --destroy", Options{All: true}, []string{"--all", "add --destroy"}},
		{"--all without --destroy beside a blank --target", Options{All: true, Targets: []string{""}}, []string{"add --destroy", `--target=""`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Check()
			if (err != nil) != (len(tt.want) > 0) {
				t.Fatalf("Check() = %v, want an error saying %q", err, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestAPlanRecordsItsAddressesNormalised: a saved plan and the JSON plan
// show the addresses as they were compared, lower case, each once, sorted.
func TestAPlanRecordsItsAddressesNormalised(t *testing.T) {
	in := Input{Desired: []catalog.Persona{anna}, Live: []state.LivePersona{live("u1", anna)}, Secret: currentSecret}
	p := Compute(in, Options{Targets: []string{"Persona.Ben@Mana.Test", strings.ToUpper(anna.Email), anna.Email}, Replace: []string{strings.ToUpper(anna.Email)}})
	if want := []string{anna.Email, "persona.ben@mana.test"}; !reflect.DeepEqual(p.Options.Targets, want) {
		t.Errorf("targets %q, want %q", p.Options.Targets, want)
	}
	if want := []string{anna.Email}; !reflect.DeepEqual(p.Options.Replace, want) {
		t.Errorf("replace %q, want %q", p.Options.Replace, want)
	}
	if len(p.Changes) != 1 || p.Changes[0].Action != Replace {
		t.Errorf("changes %+v, want a replace of %s", p.Changes, anna.Email)
	}
}

// TestDiffersIsTheDetailedExitcodeRule: exit 2 when there is anything to
// apply or anything needing a decision; "No changes." only when neither.
func TestDiffersIsTheDetailedExitcodeRule(t *testing.T) {
	renamed := with(anna, func(p *catalog.Persona) { p.Name = "Anna Maria" })
	oldSecret := withCredentials(rec("u1", anna), "fp-old")
	tests := []struct {
		name       string
		in         Input
		opts       Options
		hasChanges bool
		attention  []string
		differs    bool
		last       string
	}{
		{"converged", Input{Desired: []catalog.Persona{anna}, Recorded: []state.RecordedPersona{rec("u1", anna)}, Live: []state.LivePersona{live("u1", anna)}, Secret: currentSecret}, Options{},
			false, nil, false, "No changes."},
		{"only to be recorded", Input{Desired: []catalog.Persona{anna}, Live: []state.LivePersona{live("u1", anna)}, Secret: currentSecret}, Options{},
			false, nil, false, "No changes. 1 persona(s) already match and are recorded in the state at the next apply."},
		{"a name only --replace can apply", Input{Desired: []catalog.Persona{renamed}, Recorded: []state.RecordedPersona{rec("u1", anna)}, Live: []state.LivePersona{live("u1", anna)}, Secret: currentSecret}, Options{},
			false, []string{anna.Email}, true, "Nothing to apply; 1 persona needs attention (see above)."},
		{"a name with --replace is a change, not a question", Input{Desired: []catalog.Persona{renamed}, Recorded: []state.RecordedPersona{rec("u1", anna)}, Live: []state.LivePersona{live("u1", anna)}, Secret: currentSecret}, Options{Replace: []string{anna.Email}},
			true, nil, true, "Plan: 0 to create, 0 to update, 1 to replace, 0 to delete."},
		{"a name beside a create", Input{Desired: []catalog.Persona{renamed, anna2()}, Recorded: []state.RecordedPersona{rec("u1", anna)}, Live: []state.LivePersona{live("u1", anna)}, Secret: currentSecret}, Options{},
			true, []string{anna.Email}, true, "Plan: 1 to create, 0 to update, 0 to delete. 1 persona needs attention (see above)."},
		{"credential drift", Input{Desired: []catalog.Persona{anna}, Recorded: []state.RecordedPersona{oldSecret}, Live: []state.LivePersona{live("u1", anna)}, Secret: currentSecret, SameSecret: map[string]bool{"fp-old": false}}, Options{},
			false, []string{anna.Email}, true, "Nothing to apply; 1 persona needs attention (see above)."},
		{"credential drift, refresh only", Input{Desired: []catalog.Persona{anna}, Recorded: []state.RecordedPersona{oldSecret}, Live: []state.LivePersona{live("u1", anna)}, Secret: currentSecret, SameSecret: map[string]bool{"fp-old": false}}, Options{RefreshOnly: true},
			false, []string{anna.Email}, true, "Drift: 0 changed outside personactl, 0 deleted outside personactl, 0 unmanaged, 1 with credentials from another seed secret."},
		{"credentials not checked without a secret", Input{Desired: []catalog.Persona{anna}, Recorded: []state.RecordedPersona{oldSecret}, Live: []state.LivePersona{live("u1", anna)}}, Options{},
			false, nil, false, "No changes."},
		{"refresh only, converged", Input{Desired: []catalog.Persona{anna}, Recorded: []state.RecordedPersona{rec("u1", anna)}, Live: []state.LivePersona{live("u1", anna)}, Secret: currentSecret}, Options{RefreshOnly: true},
			false, nil, false, "No changes. Live personas match the recorded state."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Compute(tt.in, tt.opts)
			if got := p.HasChanges(); got != tt.hasChanges {
				t.Errorf("HasChanges = %v, want %v", got, tt.hasChanges)
			}
			if got := p.NeedsAttention(); !reflect.DeepEqual(got, tt.attention) {
				t.Errorf("NeedsAttention = %v, want %v", got, tt.attention)
			}
			if got := p.Differs(); got != tt.differs {
				t.Errorf("Differs = %v, want %v (the --detailed-exitcode rule)", got, tt.differs)
			}
			if got := SummaryLine(p); got != tt.last {
				t.Errorf("last line %q, want %q", got, tt.last)
			}
			if got := p.Summary().Attention; got != len(tt.attention) {
				t.Errorf("summary attention = %d, want %d", got, len(tt.attention))
			}
		})
	}
}

func TestCredentialDrift(t *testing.T) {
	oldSecret := withCredentials(rec("u1", anna), "fp-old")
	unknown := withCredentials(rec("u1", anna), "")
	tests := []struct {
		name     string
		in       Input
		opts     Options
		action   Action
		drift    bool   // credentials drift reported
		also     bool   // as a second kind beside changed_outside
		records  string // Change.Credentials: what apply records
		note     string // a plan note containing this
		warnings int
	}{
		{"same secret", Input{Desired: []catalog.Persona{anna}, Recorded: []state.RecordedPersona{rec("u1", anna)}, Live: []state.LivePersona{live("u1", anna)}, Secret: currentSecret}, Options{},
			NoOp, false, false, currentSecret, "", 0},
		{"another secret", Input{Desired: []catalog.Persona{anna}, Recorded: []state.RecordedPersona{oldSecret}, Live: []state.LivePersona{live("u1", anna)}, Secret: currentSecret, SameSecret: map[string]bool{"fp-old": false}}, Options{},
			NoOp, true, false, "fp-old", "", 1},
		{"another secret, and edited by hand", Input{Desired: []catalog.Persona{anna}, Recorded: []state.RecordedPersona{oldSecret}, Live: []state.LivePersona{live("u1", annaHand)}, Secret: currentSecret, SameSecret: map[string]bool{"fp-old": false}}, Options{},
			Update, true, true, "fp-old", "", 1},
		{"another secret, replaced: recorded with the new one", Input{Desired: []catalog.Persona{anna}, Recorded: []state.RecordedPersona{oldSecret}, Live: []state.LivePersona{live("u1", anna)}, Secret: currentSecret, SameSecret: map[string]bool{"fp-old": false}}, Options{Replace: []string{anna.Email}},
			Replace, true, false, currentSecret, "", 0},
		{"no secret in effect", Input{Desired: []catalog.Persona{anna}, Recorded: []state.RecordedPersona{oldSecret}, Live: []state.LivePersona{live("u1", anna)}}, Options{},
			NoOp, false, false, "fp-old", "credentials were not checked", 0},
		{"the same secret with other rounds", Input{Desired: []catalog.Persona{anna}, Recorded: []state.RecordedPersona{oldSecret}, Live: []state.LivePersona{live("u1", anna)}, Secret: currentSecret, SameSecret: map[string]bool{"fp-old": true}}, Options{},
			NoOp, false, false, "fp-old", "", 0},
		{"a fingerprint that cannot be compared", Input{Desired: []catalog.Persona{anna}, Recorded: []state.RecordedPersona{oldSecret}, Live: []state.LivePersona{live("u1", anna)}, Secret: currentSecret}, Options{},
			NoOp, false, false, "fp-old", "is unknown", 0},
		{"no fingerprint recorded", Input{Desired: []catalog.Persona{anna}, Recorded: []state.RecordedPersona{unknown}, Live: []state.LivePersona{live("u1", anna)}, Secret: currentSecret}, Options{},
			NoOp, false, false, "", "run `personactl verify` to check and record it", 0},
		{"not recorded at all", Input{Desired: []catalog.Persona{anna}, Live: []state.LivePersona{live("u1", anna)}, Secret: currentSecret}, Options{},
			NoOp, false, false, "", "is unknown", 0},
		{"re-created by hand: the fingerprint was another user's", Input{Desired: []catalog.Persona{anna}, Recorded: []state.RecordedPersona{oldSecret}, Live: []state.LivePersona{live("u2", anna)}, Secret: currentSecret, SameSecret: map[string]bool{"fp-old": false}}, Options{},
			NoOp, false, false, "", "is unknown", 0},
		{"a create records the secret in effect", Input{Desired: []catalog.Persona{anna}, Secret: currentSecret}, Options{},
			Create, false, false, currentSecret, "", 0},
		{"an update keeps the recorded fingerprint", Input{Desired: []catalog.Persona{annaEdited}, Recorded: []state.RecordedPersona{withCredentials(rec("u1", anna), currentSecret)}, Live: []state.LivePersona{live("u1", anna)}, Secret: currentSecret}, Options{},
			Update, false, false, currentSecret, "", 0},
		{"a destroy asks nothing about credentials", Input{Desired: []catalog.Persona{anna}, Recorded: []state.RecordedPersona{oldSecret}, Live: []state.LivePersona{live("u1", anna)}, Secret: currentSecret, SameSecret: map[string]bool{"fp-old": false}}, Options{Destroy: true},
			Delete, false, false, "fp-old", "", 0},
		{"removed from the catalog: no longer the runner's", Input{Recorded: []state.RecordedPersona{oldSecret}, Live: []state.LivePersona{live("u1", anna)}, Secret: currentSecret, SameSecret: map[string]bool{"fp-old": false}}, Options{},
			Delete, false, false, "fp-old", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Compute(tt.in, tt.opts)
			c := p.Changes[0]
			if c.Action != tt.action {
				t.Fatalf("action %s, want %s", c.Action, tt.action)
			}
			if got := c.Drift.Has(Credentials); got != tt.drift {
				t.Errorf("credentials drift = %v, want %v (drift %+v)", got, tt.drift, c.Drift)
			}
			if tt.also && (c.Drift.Kind != ChangedOutside || !slices.Contains(c.Drift.Also, Credentials)) {
				t.Errorf("drift %+v, want changed_outside also credentials", c.Drift)
			}
			if tt.drift && !p.HasDrift() {
				t.Error("credential drift does not count as drift")
			}
			if c.Credentials != tt.records {
				t.Errorf("apply would record fingerprint %q, want %q", c.Credentials, tt.records)
			}
			if r, ok := c.RecordedPersona("u-new"); ok && r.Credentials != tt.records {
				t.Errorf("RecordedPersona has fingerprint %q, want %q", r.Credentials, tt.records)
			}
			if len(Messages(p.Warnings)) != tt.warnings {
				t.Errorf("warnings %q, want %d", Messages(p.Warnings), tt.warnings)
			}
			if tt.warnings > 0 && !(strings.Contains(Messages(p.Warnings)[0], "restore the PERSONA_SEED_SECRET") && strings.Contains(Messages(p.Warnings)[0], "--replace=EMAIL") && strings.Contains(Messages(p.Warnings)[0], "30 minutes")) {
				t.Errorf("the warning does not name both ways out and the lockout: %q", Messages(p.Warnings)[0])
			}
			switch {
			case tt.note == "" && len(Messages(p.Notes)) > 0:
				t.Errorf("unexpected notes %q", Messages(p.Notes))
			case tt.note != "" && (len(Messages(p.Notes)) != 1 || !strings.Contains(Messages(p.Notes)[0], tt.note)):
				t.Errorf("notes %q, want one saying %q", Messages(p.Notes), tt.note)
			}
		})
	}
}

func TestUnknownAndUncheckedCredentialsAreOneNote(t *testing.T) {
	var desired []catalog.Persona
	var lives []state.LivePersona
	for i := 0; i < 25; i++ {
		p := persona("persona.p"+itoa(i)+"@mana.test", prompt)
		desired = append(desired, p)
		lives = append(lives, live("u"+itoa(i), p))
	}
	for _, tt := range []struct{ secret, want string }{
		{"", "credentials were not checked"},
		{currentSecret, "can log in as 25 personas is unknown"},
	} {
		p := Compute(Input{Desired: desired, Live: lives, Secret: tt.secret}, Options{})
		if len(Messages(p.Notes)) != 1 || !strings.Contains(Messages(p.Notes)[0], tt.want) {
			t.Fatalf("secret %q: notes %q, want one for all 25 personas saying %q", tt.secret, Messages(p.Notes), tt.want)
		}
		if tt.secret != "" && !strings.Contains(Messages(p.Notes)[0], "and 15 more") {
			t.Errorf("note %q does not abbreviate the list of 25", Messages(p.Notes)[0])
		}
	}
}

func TestAddressTheSearchCannotTellAbout(t *testing.T) {
	in := Input{Desired: []catalog.Persona{anna}, Recorded: []state.RecordedPersona{rec("u1", anna)}, Undetermined: []string{anna.Email}, Secret: currentSecret}
	p := Compute(in, Options{})
	if len(Messages(p.Errors)) != 1 {
		t.Fatalf("errors %q, want one", Messages(p.Errors))
	}
	for _, want := range []string{"cannot tell who holds this address", "500 for any account that has signed in", "--live", "users.kind", "--replace=persona.anna@mana.test", "refuses a user who is not a persona"} {
		if !strings.Contains(Messages(p.Errors)[0], want) {
			t.Errorf("error %q does not say %q", Messages(p.Errors)[0], want)
		}
	}
	p = Compute(in, Options{Replace: []string{anna.Email}})
	c := p.Changes[0]
	if len(Messages(p.Errors)) != 0 || c.Action != Replace || c.UserID != "u1" || c.Credentials != currentSecret {
		t.Errorf("with --replace: errors %q, %s of %q recording %q; want a replace of the recorded user u1", Messages(p.Errors), c.Action, c.UserID, c.Credentials)
	}
	noRecord := Input{Desired: []catalog.Persona{anna}, Undetermined: []string{anna.Email}}
	p = Compute(noRecord, Options{})
	if len(Messages(p.Errors)) != 1 || strings.Contains(Messages(p.Errors)[0], "--replace") || !strings.Contains(Messages(p.Errors)[0], "--live") {
		t.Errorf("no recorded user to delete: errors %q, want one naming only --live", Messages(p.Errors))
	}
}

func TestDeletedByAnInterruptedRun(t *testing.T) {
	run := "the interrupted destroy of 2026-11-29T10:00:00Z (journal 1a2b)"
	for _, opts := range []Options{{}, {RefreshOnly: true}, {Destroy: true}} {
		p := Compute(Input{Desired: []catalog.Persona{anna}, Recorded: []state.RecordedPersona{rec("u1", anna)}, Interrupted: map[string]string{anna.Email: run}}, opts)
		c := p.Changes[0]
		if c.Drift == nil || c.Drift.Kind != DeletedByRun || c.Drift.Run != run {
			t.Errorf("%+v: drift %+v, want deleted by the interrupted run", opts, c.Drift)
		}
		if !strings.Contains(strings.Join(Messages(c.Reasons), " "), "deleted by "+run) || strings.Contains(strings.Join(Messages(c.Reasons), " "), "outside personactl") {
			t.Errorf("%+v: reasons %q, want the run named, not 'outside personactl'", opts, Messages(c.Reasons))
		}
	}
}

// TestComputeDoesNotDependOnInputOrder: the snapshots come sorted from the
// backends, but the catalog is in file order; the plan is the same.
func TestComputeDoesNotDependOnInputOrder(t *testing.T) {
	in := bench10k()
	in.Desired, in.Recorded, in.Live = in.Desired[:300], in.Recorded[:280], in.Live[20:300]
	want := Compute(in, Options{}).Hash()
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 3; i++ {
		shuffled := in
		shuffled.Desired = slices.Clone(in.Desired)
		shuffled.Recorded = slices.Clone(in.Recorded)
		shuffled.Live = slices.Clone(in.Live)
		r.Shuffle(len(shuffled.Desired), func(i, j int) { shuffled.Desired[i], shuffled.Desired[j] = shuffled.Desired[j], shuffled.Desired[i] })
		r.Shuffle(len(shuffled.Recorded), func(i, j int) {
			shuffled.Recorded[i], shuffled.Recorded[j] = shuffled.Recorded[j], shuffled.Recorded[i]
		})
		r.Shuffle(len(shuffled.Live), func(i, j int) { shuffled.Live[i], shuffled.Live[j] = shuffled.Live[j], shuffled.Live[i] })
		if got := Compute(shuffled, Options{}).Hash(); got != want {
			t.Fatal("shuffled snapshots give another plan")
		}
	}
}
