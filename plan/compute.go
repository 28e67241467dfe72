package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/state"
)

// Compute returns the plan that makes live match the catalog: the 3-way table
// of cli.md applied to every email of catalog ∪ recorded ∪ live, in email order.
func Compute(in Input, opts Options) *Plan {
	desired := make(map[string]*catalog.Persona, len(in.Desired))
	for i := range in.Desired {
		desired[in.Desired[i].Email] = &in.Desired[i]
	}
	recorded := make(map[string]*state.RecordedPersona, len(in.Recorded))
	for i := range in.Recorded {
		recorded[in.Recorded[i].Email] = &in.Recorded[i]
	}
	live := make(map[string]*state.LivePersona, len(in.Live))
	for i := range in.Live {
		live[in.Live[i].Values.Email] = &in.Live[i]
	}
	notPersona := make(map[string]bool, len(in.NotPersonas))
	for _, e := range in.NotPersonas {
		notPersona[e] = true
	}
	replace := make(map[string]bool, len(opts.Replace))
	for _, e := range opts.Replace {
		replace[e] = true
	}

	p := &Plan{
		Options:   opts,
		Workspace: in.Workspace,
		Lineage:   in.Lineage,
		Serial:    in.Serial,
		Live:      make(map[string]string, len(in.Live)),
	}
	for email, l := range live {
		p.Live[email] = Fingerprint(l)
	}
	for _, email := range unionEmails(desired, recorded, live) {
		d, r, l := desired[email], recorded[email], live[email]
		c := Change{Email: email, Action: NoOp, Drift: drift(d, r, l)}
		switch {
		case l != nil:
			c.UserID = l.UserID
			before := l.Values
			c.Before = &before
		case r != nil:
			c.UserID = r.UserID
		}
		switch {
		case opts.Destroy:
			planDestroy(&c, d, r, l)
		case opts.RefreshOnly:
			planRefresh(&c, r, l)
		case d != nil:
			planDesired(p, &c, d, r, l, replace[email], notPersona[email])
		default:
			planUndesired(&c, r, l, opts.Prune)
		}
		p.Changes = append(p.Changes, c)
	}
	if !opts.Destroy && !opts.RefreshOnly {
		checkReplaceTargets(p, opts.Replace, desired, live)
	}
	return p
}

func unionEmails(desired map[string]*catalog.Persona, recorded map[string]*state.RecordedPersona, live map[string]*state.LivePersona) []string {
	seen := make(map[string]bool, len(desired)+len(recorded)+len(live))
	var emails []string
	add := func(e string) {
		if !seen[e] {
			seen[e] = true
			emails = append(emails, e)
		}
	}
	for e := range desired {
		add(e)
	}
	for e := range recorded {
		add(e)
	}
	for e := range live {
		add(e)
	}
	sort.Strings(emails)
	return emails
}

// drift is the drift note of the 3-way table: how live moved away from what
// personactl recorded, or a live persona it never managed.
func drift(d *catalog.Persona, r *state.RecordedPersona, l *state.LivePersona) *Drift {
	switch {
	case r != nil && l == nil:
		return &Drift{Kind: DeletedOutside}
	case r != nil && l != nil:
		fields := fieldChanges(r.Values, l.Values, catalog.Differences(r.Values, l.Values))
		if r.UserID != l.UserID {
			// Deleted and created again by hand: the same values, but the
			// persona's history is gone and every recorded id is wrong.
			fields = append([]FieldChange{{Field: FieldUserID, Before: r.UserID, After: l.UserID}}, fields...)
		}
		if len(fields) > 0 {
			return &Drift{Kind: ChangedOutside, Fields: fields}
		}
	case r == nil && l != nil && d == nil:
		return &Drift{Kind: Unmanaged}
	}
	return nil
}

func planDestroy(c *Change, d *catalog.Persona, r *state.RecordedPersona, l *state.LivePersona) {
	switch {
	case l != nil:
		c.Action = Delete
		c.History = history(l)
		c.NotInCatalog = d == nil
	case r != nil:
		c.Action = Forget
		c.Reasons = append(c.Reasons, "recorded, but already deleted outside personactl")
	}
}

// planRefresh plans only the state's catch-up with live: nothing is written
// to mana-auth.
func planRefresh(c *Change, r *state.RecordedPersona, l *state.LivePersona) {
	switch {
	case r != nil && l == nil:
		c.Action = Forget
		c.Reasons = append(c.Reasons, "deleted outside personactl")
	case r != nil && !recordedMatches(r, l):
		c.Record = true
	}
}

func planDesired(p *Plan, c *Change, d *catalog.Persona, r *state.RecordedPersona, l *state.LivePersona, replace, notPersona bool) {
	after := *d
	c.After = &after
	if l == nil {
		c.Action = Create
		c.UserID = "" // a recorded id belongs to the persona that is gone
		c.Fields = fieldChanges(catalog.Persona{}, *d, catalog.ComparedFields())
		for i := range c.Fields {
			c.Fields[i].Before = nil
		}
		if r != nil {
			c.Reasons = append(c.Reasons, "deleted outside personactl since the last apply; it will be created again")
		}
		if notPersona {
			p.Errors = append(p.Errors, fmt.Sprintf("%s belongs to a Mana user who is not a persona: creating it would turn that account into a persona, and a later destroy would delete it with all its data; choose another address in the catalog", d.Email))
			c.Reasons = append(c.Reasons, "address taken by a user who is not a persona")
		}
		return
	}
	diffs := catalog.Differences(l.Values, *d)
	c.Fields = fieldChanges(l.Values, *d, diffs)
	if replace {
		c.Action = Replace
		c.History = history(l)
		c.Reasons = append(c.Reasons, "--replace given: deleted and created again")
		return
	}
	nameDiffers := false
	for i := range c.Fields {
		if c.Fields[i].Field == catalog.FieldName {
			nameDiffers = true
			c.Fields[i].NotApplied = "mana-auth cannot rename a persona; --replace=" + d.Email + " deletes and re-creates it"
		}
	}
	if nameDiffers {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%s: name is %q live but %q in the catalog; mana-auth cannot rename a persona, so the name is not applied; pass --replace=%s to delete and re-create it (destroys %s)", d.Email, l.Values.Name, d.Name, d.Email, history(l).Describe()))
	}
	if len(c.Fields) > 1 || (len(c.Fields) == 1 && !nameDiffers) {
		c.Action = Update
		return
	}
	c.Action = NoOp
	c.Record = r == nil || !recordedMatches(r, l)
}

// recordedMatches reports whether the state records exactly the live persona.
func recordedMatches(r *state.RecordedPersona, l *state.LivePersona) bool {
	return r.UserID == l.UserID && len(catalog.Differences(r.Values, l.Values)) == 0
}

func planUndesired(c *Change, r *state.RecordedPersona, l *state.LivePersona, prune bool) {
	switch {
	case r != nil && l != nil:
		c.Action = Delete
		c.History = history(l)
		c.Reasons = append(c.Reasons, "removed from the catalog")
	case r != nil:
		c.Action = Forget
		c.Reasons = append(c.Reasons, "removed from the catalog and already deleted outside personactl")
	case prune:
		c.Action = Delete
		c.History = history(l)
		c.NotInCatalog = true
		c.Reasons = append(c.Reasons, "unmanaged, and --prune given")
	}
}

func checkReplaceTargets(p *Plan, replace []string, desired map[string]*catalog.Persona, live map[string]*state.LivePersona) {
	for _, e := range replace {
		switch {
		case desired[e] == nil:
			p.Errors = append(p.Errors, fmt.Sprintf("--replace=%s: no persona with that address in the catalog; check the spelling, or remove the flag", e))
		case live[e] == nil:
			p.Warnings = append(p.Warnings, fmt.Sprintf("--replace=%s: the persona does not exist live, so it is simply created", e))
		}
	}
	sort.Strings(p.Errors)
	sort.Strings(p.Warnings)
}

func history(l *state.LivePersona) *History {
	return &History{Actions7d: l.Actions7d, Actions: l.Actions, Feedback: l.Feedback, LastActiveAt: l.LastActiveAt}
}

// Describe says in words how much history is destroyed.
func (h *History) Describe() string {
	if h == nil {
		return "no history"
	}
	last := "never active"
	if h.LastActiveAt != nil {
		last = "last active " + h.LastActiveAt.UTC().Format("2006-01-02 15:04 UTC")
	}
	return fmt.Sprintf("%d actions in the last 7 days, %d recent actions, %d feedback ratings; %s", h.Actions7d, h.Actions, h.Feedback, last)
}

// fieldChanges lists before -> after for the given fields.
func fieldChanges(before, after catalog.Persona, fields []catalog.Field) []FieldChange {
	out := make([]FieldChange, 0, len(fields))
	for _, f := range fields {
		out = append(out, FieldChange{Field: f, Before: fieldValue(before, f), After: fieldValue(after, f)})
	}
	return out
}

func fieldValue(p catalog.Persona, f catalog.Field) any {
	switch f {
	case catalog.FieldName:
		return p.Name
	case catalog.FieldArchetype:
		return p.Archetype
	case catalog.FieldSystemPrompt:
		return p.SystemPrompt
	case catalog.FieldModuleMix:
		return p.ModuleMix
	case catalog.FieldTickCadence:
		return p.TickCadence
	}
	return nil
}

// Fingerprint identifies one live persona's id and values, so a saved plan can
// tell whether the persona changed since. An absent persona has fingerprint "".
func Fingerprint(l *state.LivePersona) string {
	if l == nil {
		return ""
	}
	b, err := json.Marshal(struct {
		UserID string
		Values catalog.Persona
	}{l.UserID, l.Values})
	if err != nil {
		panic("plan: fingerprint of a persona: " + err.Error()) // plain strings and finite floats always marshal
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Recorded returns what the state records for this persona once the change is
// applied: the desired values, except a name mana-auth kept (it never renames).
func (c *Change) Recorded() (catalog.Persona, bool) {
	if c.After == nil {
		return catalog.Persona{}, false
	}
	v := *c.After
	if c.Before != nil && c.Action != Replace {
		v.Name = c.Before.Name
	}
	return v, true
}

// Stale lists why a saved plan no longer fits the current snapshots: the
// recorded state moved on, or a persona the plan acts on changed live.
// Empty means the plan can be applied as it is.
func (p *Plan) Stale(in Input) []string {
	var why []string
	if p.Lineage != in.Lineage || p.Serial != in.Serial {
		why = append(why, fmt.Sprintf("the recorded state changed (lineage %s serial %d when planned, now lineage %s serial %d)", orNone(p.Lineage), p.Serial, orNone(in.Lineage), in.Serial))
	}
	now := make(map[string]string, len(in.Live))
	for i := range in.Live {
		now[in.Live[i].Values.Email] = Fingerprint(&in.Live[i])
	}
	taken := make(map[string]bool, len(in.NotPersonas))
	for _, e := range in.NotPersonas {
		taken[e] = true
	}
	for _, c := range p.Changes {
		if c.Action == NoOp && !c.Record {
			continue
		}
		if c.Action == Create && taken[c.Email] {
			why = append(why, c.Email+" now belongs to a Mana user who is not a persona; creating it would turn that account into a persona")
		}
		if was, is := p.Live[c.Email], now[c.Email]; was != is {
			switch {
			case was == "":
				why = append(why, c.Email+" was created live since the plan was made")
			case is == "":
				why = append(why, c.Email+" was deleted live since the plan was made")
			default:
				why = append(why, c.Email+" changed live since the plan was made")
			}
		}
	}
	return why
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// Creates returns the addresses the plan creates: the ones to check with
// mana-auth, before applying, for a user who is not a persona.
func (p *Plan) Creates() []string {
	var out []string
	for _, c := range p.Changes {
		if c.Action == Create {
			out = append(out, c.Email)
		}
	}
	return out
}

// Hash is the SHA-256 of the plan's canonical JSON: what a PR bot compares to
// tell whether a plan changed.
func (p *Plan) Hash() string {
	b, err := json.Marshal(p)
	if err != nil {
		panic("plan: hashing: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
