// Package plan owns the 3-way diff at the heart of personactl: from the
// desired catalog, the recorded state and the live personas it computes what
// apply would do, and it renders that plan as text, JSON or Markdown.
//
// It never performs I/O, reads no clock and uses no randomness: a plan is a
// pure function of its Input and Options, ordered by email, so the same
// snapshots always give the same plan, byte for byte. Even the guard rails
// (CheckGuards) take the time they compare against from the caller.
//
// Who owns which type: package catalog owns the desired persona
// (catalog.Persona) and its fields; package state owns the snapshots a plan
// is computed from, the live persona (state.LivePersona) and the recorded one
// (state.RecordedPersona), as Terraform's plans package takes its states
// from the states package; this package owns only what a plan adds: Input
// (the snapshots together), Options, Plan, Change, Drift, FieldChange,
// History, Summary, Guards and the plan file's encoding. apply executes a
// Plan and builds the next recorded state with Change.RecordedPersona.
//
// One term is used for an address held by a Mana user who is not a persona:
// "taken by a Mana user who is not a persona" (Input.Taken).
package plan

import (
	"fmt"
	"time"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/state"
)

// Action is what apply does to one persona. Like Terraform's, it is data:
// the rune is the sign the text rendering shows.
type Action rune

// The actions a plan can hold.
const (
	NoOp    Action = 0
	Create  Action = '+'
	Update  Action = '~'
	Delete  Action = '-'
	Replace Action = '±' // delete, then create
	Forget  Action = '/' // drop from the recorded state only
)

// String is the action's name as the JSON rendering and plan files spell it.
func (a Action) String() string {
	switch a {
	case Create:
		return "create"
	case Update:
		return "update"
	case Delete:
		return "delete"
	case Replace:
		return "replace"
	case Forget:
		return "forget"
	default:
		return "no-op"
	}
}

// Sign is the marker the text rendering puts before a persona's block.
func (a Action) Sign() string {
	switch a {
	case Replace:
		return "-/+"
	case NoOp:
		return " "
	default:
		return string(a)
	}
}

// Writes reports whether the action sends a request to the admin API.
func (a Action) Writes() bool { return a == Create || a == Update || a == Delete || a == Replace }

// ParseAction is the inverse of Action.String.
func ParseAction(s string) (Action, bool) {
	for _, a := range []Action{NoOp, Create, Update, Delete, Replace, Forget} {
		if a.String() == s {
			return a, true
		}
	}
	return 0, false
}

// MarshalText spells the action by name, for plan files and JSON.
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText reads an action spelled by name.
func (a *Action) UnmarshalText(b []byte) error {
	v, ok := ParseAction(string(b))
	if !ok {
		return fmt.Errorf("unknown action %q", b)
	}
	*a = v
	return nil
}

// DriftKind says how the live side moved away from the recorded state.
type DriftKind string

// The drift notes of the 3-way table.
const (
	// ChangedOutside: live differs from what personactl last applied.
	ChangedOutside DriftKind = "changed_outside"
	// DeletedOutside: personactl applied the persona, and it is gone.
	DeletedOutside DriftKind = "deleted_outside"
	// Unmanaged: a live persona that is not in the catalog and was never applied.
	Unmanaged DriftKind = "unmanaged"
	// DeletedByRun: personactl applied the persona, and a personactl run that
	// was interrupted before it recorded its work deleted it (Drift.Run says
	// which run).
	DeletedByRun DriftKind = "deleted_by_interrupted_run"
	// Credentials: the persona's password came from another seed secret than
	// the one in effect, so the persona runner cannot log in as it.
	Credentials DriftKind = "credentials"
)

// Describe is the drift note as a person reads it.
func (k DriftKind) Describe() string {
	switch k {
	case ChangedOutside:
		return "changed outside personactl"
	case DeletedOutside:
		return "deleted outside personactl"
	case Unmanaged:
		return "unmanaged (not in the catalog, never applied by personactl)"
	case DeletedByRun:
		return "deleted by an interrupted personactl run"
	case Credentials:
		return "credentials drifted: its password came from another seed secret, so the persona runner cannot log in as it"
	}
	return string(k)
}

// Unfinished is a user an interrupted run's create left half made: Run
// describes the run for people, as Input.Interrupted does.
type Unfinished struct {
	Run    string
	UserID string
}

// Input is the three snapshots a plan is computed from, and what the caller
// learnt about them.
type Input struct {
	Desired  []catalog.Persona
	Recorded []state.RecordedPersona
	Live     []state.LivePersona
	// Taken are addresses taken by a Mana user who is not a persona. A create
	// for one of them is an error that blocks the plan.
	Taken []string
	// Undetermined are addresses the users search could not tell about: it
	// answers 500 for any account that has signed in, persona or person (and
	// the persona runner signs in every tick). A create for one of them is an
	// error that blocks the plan, unless --replace names it and the state
	// records the user it was (then that user is deleted first, which
	// mana-auth refuses for anyone who is not a persona).
	Undetermined []string
	// Unfinished maps an address to the interrupted run whose create left
	// a user there half made (signed up, not yet a persona) and to that
	// user: the create completes it, with a note. The caller fills it when
	// it checks the addresses; an address in it is in neither Taken nor
	// Undetermined.
	Unfinished map[string]Unfinished
	// Interrupted maps an address to the interrupted run that deleted it,
	// described for people ("the interrupted destroy of 2026-11-29T10:00:00Z
	// (journal 1a2b…)"); the caller fills it from the open journals.
	Interrupted map[string]string
	// Secret is the fingerprint of the seed secret in effect for this run,
	// computed with the same salt as the recorded fingerprints
	// (state.RecordedPersona.Credentials), or "" when no secret is in effect:
	// then credentials are not checked.
	Secret string
	// SameSecret tells, for each fingerprint the state records other than
	// Secret, whether it was made from the seed secret in effect (the same
	// secret fingerprinted with other rounds) or from another one. A
	// recorded fingerprint missing from it could not be compared (an
	// unknown scheme, a damaged value): its credentials are unknown, not
	// drifted.
	SameSecret map[string]bool
	// MissingCatalog is the catalog's path when no file is there (a destroy
	// reads a catalog only when there is one): the personas this setup
	// manages are then the recorded ones only, which the plan says.
	MissingCatalog string
	// Workspace, Lineage and Serial identify the recorded state the plan was
	// computed against, so that a saved plan can tell when it went stale.
	Workspace string
	Lineage   string
	Serial    int64
}

// Options are the user's choices that shape a plan.
type Options struct {
	// Destroy plans the deletion of the personas this setup manages: every
	// live persona in the catalog or the recorded state. The other live
	// personas are left, and a note names them.
	Destroy bool `json:"destroy,omitempty"`
	// All, with Destroy, deletes every live persona, managed here or not,
	// as the old cleanup script did.
	All bool `json:"all,omitempty"`
	// RefreshOnly shows drift only and plans no writes to mana-auth.
	RefreshOnly bool `json:"refresh_only,omitempty"`
	// Prune deletes live personas that are neither in the catalog nor recorded.
	Prune bool `json:"prune,omitempty"`
	// Replace names personas to delete and re-create (the only way to apply a name).
	Replace []string `json:"replace,omitempty"`
	// Targets, when not empty, are the only addresses planned: every other
	// address is left out of the plan entirely, and the plan warns that it
	// is partial. A destroy's targets narrow the managed set (with All,
	// the live set): a target outside it deletes nothing.
	//
	// Both lists are compared as Addresses, and a plan records them so. An
	// empty Targets plans every persona, so a caller refuses an empty or
	// blank address the user gave (Check) rather than dropping it.
	Targets []string `json:"targets,omitempty"`
}

// FieldUserID names the user id in a drift note: a persona deleted and
// created again outside personactl has the same values but another id.
const FieldUserID catalog.Field = "user_id"

// FieldChange is one field's value before and after.
type FieldChange struct {
	Field  catalog.Field `json:"name"`
	Before any           `json:"before"`
	After  any           `json:"after"`
	// NotApplied says why the change is shown but will not be made.
	NotApplied string `json:"not_applied,omitempty"`
}

// Drift is how the live persona moved away from the recorded state.
type Drift struct {
	Kind DriftKind `json:"kind"`
	// Fields are recorded -> live for ChangedOutside.
	Fields []FieldChange `json:"fields,omitempty"`
	// Run names the interrupted run that deleted the persona, for DeletedByRun.
	Run string `json:"run,omitempty"`
	// Also lists the kinds that hold besides Kind: a persona changed outside
	// personactl whose credentials drifted too has Kind ChangedOutside and
	// Also [Credentials].
	Also []DriftKind `json:"also,omitempty"`
}

// Has reports whether the drift is of kind k, first or also.
func (d *Drift) Has(k DriftKind) bool {
	if d == nil {
		return false
	}
	if d.Kind == k {
		return true
	}
	for _, a := range d.Also {
		if a == k {
			return true
		}
	}
	return false
}

// Describe is the drift note as a person reads it, every kind it has.
func (d *Drift) Describe() string {
	note := d.Kind.Describe()
	if d.Kind == DeletedByRun && d.Run != "" {
		note = "deleted by " + d.Run
	}
	for _, a := range d.Also {
		note += "; " + a.Describe()
	}
	return note
}

// History is what deleting a persona destroys.
type History struct {
	Actions7d    int        `json:"actions_7d"`
	Actions      int        `json:"recent_actions"`
	Feedback     int        `json:"feedback"`
	LastActiveAt *time.Time `json:"last_active_at"`
}

// Change is the plan for one persona.
type Change struct {
	Email  string `json:"email"`
	Action Action `json:"action"`
	// UserID is the live persona's id, or the recorded one when it is gone.
	UserID string `json:"user_id,omitempty"`
	// Before is the live persona (nil when there is none); After is the
	// desired one (nil for delete and forget).
	Before *catalog.Persona `json:"before,omitempty"`
	After  *catalog.Persona `json:"after,omitempty"`
	// Fields are the differences between Before and After.
	Fields []FieldChange `json:"fields,omitempty"`
	Drift  *Drift        `json:"drift,omitempty"`
	// History is set for deletes and replaces: what they destroy.
	History *History `json:"history,omitempty"`
	// NotInCatalog marks a destroy's deletes of personas the catalog does not have.
	NotInCatalog bool      `json:"not_in_catalog,omitempty"`
	Reasons      []Finding `json:"reasons,omitempty"`
	// Record says apply records this persona in the state although nothing is
	// written to mana-auth (a no-op that the state does not have yet).
	Record bool `json:"record,omitempty"`
	// Credentials is the seed secret fingerprint the state records for this
	// persona once the change is applied: Input.Secret for a create or a
	// replace (the password is derived from the secret in effect), the
	// recorded one otherwise (an update never changes a password), "" when
	// unknown. Change.RecordedPersona puts it in the record.
	Credentials string `json:"credentials,omitempty"`
	// Attention says the persona needs a decision from the user: a name that
	// only --replace can apply, or credentials from another seed secret.
	Attention bool `json:"attention,omitempty"`
}

// Summary counts a plan's changes, the same numbers every rendering shows.
type Summary struct {
	Create    int `json:"create"`
	Update    int `json:"update"`
	Replace   int `json:"replace"`
	Delete    int `json:"delete"`
	Forget    int `json:"forget"`
	Unchanged int `json:"unchanged"`
	Drifted   int `json:"drifted"`
	Unmanaged int `json:"unmanaged"`
	// Record counts unchanged personas the state does not record yet.
	Record int `json:"record"`
	// Attention counts personas that need a decision (Plan.NeedsAttention).
	Attention int `json:"attention"`
}

// Plan is a computed plan: data that renderers read, a plan file stores and
// apply executes.
type Plan struct {
	Options   Options `json:"options"`
	Workspace string  `json:"workspace"`
	Lineage   string  `json:"lineage"`
	Serial    int64   `json:"serial"`
	// Changes holds one entry per email of catalog ∪ recorded ∪ live, by email.
	Changes []Change `json:"changes"`
	// Warnings do not stop an apply; Errors do. Notes say what the plan did
	// not check or cannot know (credentials not checked, or unknown).
	Warnings []Finding `json:"warnings,omitempty"`
	Errors   []Finding `json:"errors,omitempty"`
	Notes    []Finding `json:"notes,omitempty"`
	// Live holds, by email, a fingerprint of every live persona a change of
	// the plan writes to or records, so that a saved plan can tell when
	// live moved on.
	Live map[string]string `json:"live"`
	// Secret is Input.Secret when the plan was computed: the seed secret the
	// plan's creates and replaces are recorded with, so that a saved plan
	// applied under another secret is stale.
	Secret string `json:"secret_fingerprint,omitempty"`
}

// Summary counts the plan's changes.
func (p *Plan) Summary() Summary {
	var s Summary
	for _, c := range p.Changes {
		switch c.Action {
		case Create:
			s.Create++
		case Update:
			s.Update++
		case Replace:
			s.Replace++
		case Delete:
			s.Delete++
		case Forget:
			s.Forget++
		default:
			s.Unchanged++
			if c.Record {
				s.Record++
			}
		}
		if c.Drift != nil {
			if c.Drift.Kind == Unmanaged {
				s.Unmanaged++
			} else {
				s.Drifted++
			}
		}
		if c.Attention {
			s.Attention++
		}
	}
	return s
}

// Differs is the rule for `plan --detailed-exitcode` (exit 2) and the CI
// drift check: with --refresh-only, whether there is drift; otherwise,
// whether there is anything to apply (HasChanges) or anything that needs a
// decision (NeedsAttention): a catalog name that only --replace can apply,
// or credentials from another seed secret. Catalog and live still differ in
// both cases, so a CI check must not call it "No changes.".
func (p *Plan) Differs() bool {
	if p.Options.RefreshOnly {
		return p.HasDrift()
	}
	return p.HasChanges() || len(p.NeedsAttention()) > 0
}

// NeedsAttention lists, by email, the personas that need a decision before
// catalog and live can match, although applying the plan does not change
// them: a name that differs from live and needs --replace, or a password
// from another seed secret (credential drift).
func (p *Plan) NeedsAttention() []string {
	var out []string
	for _, c := range p.Changes {
		if c.Attention {
			out = append(out, c.Email)
		}
	}
	return out
}

// HasChanges reports whether applying the plan would change anything
// besides recording personas that already match: a request to mana-auth, or
// a persona dropped from the state. It is not the --detailed-exitcode rule:
// a plan can have no changes and still differ (see Differs).
func (p *Plan) HasChanges() bool {
	for _, c := range p.Changes {
		if c.Action != NoOp {
			return true
		}
	}
	return false
}

// HasDrift reports whether live moved away from the recorded state, holds
// personas personactl never applied, or holds personas whose credentials
// drifted: the rule for `drift` and `plan --refresh-only --detailed-exitcode`.
func (p *Plan) HasDrift() bool {
	for _, c := range p.Changes {
		if c.Drift != nil {
			return true
		}
	}
	return false
}

// Writes counts the changes that send a request to mana-auth.
func (p *Plan) Writes() int {
	n := 0
	for _, c := range p.Changes {
		if c.Action.Writes() {
			n++
		}
	}
	return n
}

// NeedsStateWrite reports whether apply has to write the recorded state:
// something changes, or a persona that already matches is not recorded yet.
func (p *Plan) NeedsStateWrite() bool {
	for _, c := range p.Changes {
		if c.Action != NoOp || c.Record {
			return true
		}
	}
	return false
}
