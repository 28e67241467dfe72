package plan

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/state"
)

// Compute returns the plan that makes live match the catalog: this 3-way
// table applied to every email of catalog ∪ recorded ∪ live (or only to
// Options.Targets), in email order.
//
//	catalog  recorded     live        action                    drift
//	yes      no           no          create
//	yes      yes          no          create                    deleted outside personactl
//	yes      any          = catalog   no-op (recorded if not)   changed outside, if live ≠ recorded
//	yes      no or = live ≠ catalog   update
//	yes      yes, ≠ live  ≠ catalog   update                    changed outside (which fields)
//	no       yes          yes         delete
//	no       yes          no          forget (state only)       deleted outside personactl
//	no       no           yes         nothing; with --prune,    unmanaged
//	                                  delete
//
// A name differs only through a replace (--replace); --destroy, --all and
// --refresh-only change the desired side as Options says.
//
// It is one merge of the three snapshots sorted by email (already sorted
// inputs, the usual case, are not sorted again), so it runs in O(n log n) at
// worst and touches each persona once.
//
// Options.Targets and Options.Replace are compared as Addresses, and the
// plan records them so.
func Compute(in Input, opts Options) *Plan {
	opts.Targets, opts.Replace = Addresses(opts.Targets), Addresses(opts.Replace)
	desired := byEmail(in.Desired, func(p *catalog.Persona) string { return p.Email })
	recorded := byEmail(in.Recorded, func(r *state.RecordedPersona) string { return r.Email })
	live := byEmail(in.Live, func(l *state.LivePersona) string { return l.Values.Email })
	cx := &computer{
		in:           in,
		opts:         opts,
		taken:        set(in.Taken),
		undetermined: set(in.Undetermined),
		replace:      set(opts.Replace),
		p: &Plan{
			Options:   opts,
			Workspace: in.Workspace,
			Lineage:   in.Lineage,
			Serial:    in.Serial,
			Secret:    in.Secret,
			Live:      make(map[string]string, len(live)),
		},
	}
	var targets map[string]bool
	if len(opts.Targets) > 0 {
		targets = set(opts.Targets)
	}
	found := map[string]bool{}
	p := cx.p
	total := 0
	var i, j, k int
	for {
		var email string
		ok := false
		if i < len(desired) {
			email, ok = desired[i].Email, true
		}
		if j < len(recorded) && (!ok || recorded[j].Email < email) {
			email, ok = recorded[j].Email, true
		}
		if k < len(live) && (!ok || live[k].Values.Email < email) {
			email, ok = live[k].Values.Email, true
		}
		if !ok {
			break
		}
		var d *catalog.Persona
		var r *state.RecordedPersona
		var l *state.LivePersona
		if i < len(desired) && desired[i].Email == email {
			d = desired[i]
			i++
		}
		if j < len(recorded) && recorded[j].Email == email {
			r = recorded[j]
			j++
		}
		if k < len(live) && live[k].Values.Email == email {
			l = live[k]
			k++
		}
		total++
		if targets != nil {
			if !targets[email] {
				continue
			}
			found[email] = true
		}
		if p.Changes == nil {
			n := max(len(desired), len(recorded), len(live))
			if targets != nil {
				n = len(targets)
			}
			p.Changes = make([]Change, 0, n)
		}
		p.Changes = append(p.Changes, cx.change(email, d, r, l))
	}
	cx.finish(targets, found, total)
	return p
}

// computer holds what one Compute learns on its way through the personas.
type computer struct {
	in                            Input
	opts                          Options
	taken, undetermined, replace  map[string]bool
	p                             *Plan
	replaceInCatalog              map[string]bool
	uncheckedCredentials          int
	unknownCredentials, credDrift []string
	// left are the live personas a destroy leaves: this setup does not
	// manage them.
	left    []string
	scratch []byte
}

func (cx *computer) change(email string, d *catalog.Persona, r *state.RecordedPersona, l *state.LivePersona) Change {
	c := Change{Email: email, Action: NoOp, Drift: cx.drift(email, d, r, l)}
	switch {
	case l != nil:
		c.UserID = l.UserID
		// The plan shares the snapshots' values (as it already shared their
		// module mixes) rather than copying 10,000 of them; nobody edits a
		// snapshot after planning.
		c.Before = &l.Values
	case r != nil:
		c.UserID = r.UserID
	}
	if d != nil && cx.replace[email] {
		if cx.replaceInCatalog == nil {
			cx.replaceInCatalog = map[string]bool{}
		}
		cx.replaceInCatalog[email] = true
	}
	switch {
	case cx.opts.Destroy:
		if planDestroy(&c, d, r, l, cx.opts.All, cx.in.Interrupted[email]) {
			cx.left = append(cx.left, email)
		}
	case cx.opts.RefreshOnly:
		planRefresh(&c, r, l, cx.in.Interrupted[email])
	case d != nil && l != nil && l.Unreadable:
		// Its values are unknown, so nothing is planned for it but a
		// decision: the warning below says how to delete it.
		c.Attention = true
	case d != nil:
		cx.planDesired(&c, d, r, l)
	default:
		planUndesired(&c, r, l, cx.opts.Prune, cx.in.Interrupted[email])
	}
	if l != nil && l.Unreadable && c.Action == NoOp {
		cx.p.Warnings = append(cx.p.Warnings, Finding{Code: CodeLiveUnreadable, Emails: []string{email}, UserID: l.UserID})
	}
	cx.credentials(&c, d, r, l)
	c.Attention = c.Attention || (hasNotApplied(c) && c.Action != Replace) ||
		(c.Drift.Has(Credentials) && c.Action != Replace && c.Action != Delete)
	if l != nil && (c.Action != NoOp || c.Record) {
		// What a saved plan checks before it writes to, or records, this
		// persona (Stale); a persona it leaves alone needs none.
		cx.p.Live[email], cx.scratch = fingerprint(cx.scratch[:0], l)
	}
	return c
}

// drift is the drift note of the 3-way table: how live moved away from what
// personactl recorded, or a live persona it never managed. Credential drift
// is added by credentials.
func (cx *computer) drift(email string, d *catalog.Persona, r *state.RecordedPersona, l *state.LivePersona) *Drift {
	switch {
	case r != nil && l == nil:
		if run, ok := cx.in.Interrupted[email]; ok {
			return &Drift{Kind: DeletedByRun, Run: run}
		}
		return &Drift{Kind: DeletedOutside}
	case r != nil && l != nil:
		var diffs []catalog.Field
		if !l.Unreadable { // values unknown: only the user id can tell
			diffs = catalog.Differences(r.Values, l.Values)
		}
		if len(diffs) == 0 && r.UserID == l.UserID {
			return nil
		}
		fields := fieldChanges(r.Values, l.Values, diffs)
		if r.UserID != l.UserID {
			// Deleted and created again by hand: the same values, but the
			// persona's history is gone and every recorded id is wrong.
			fields = append([]FieldChange{{Field: FieldUserID, Before: r.UserID, After: l.UserID}}, fields...)
		}
		return &Drift{Kind: ChangedOutside, Fields: fields}
	case r == nil && l != nil && d == nil:
		return &Drift{Kind: Unmanaged}
	}
	return nil
}

// credentials compares the seed secret a live persona's password came from
// with the one in effect, and says what the state records after the change.
func (cx *computer) credentials(c *Change, d *catalog.Persona, r *state.RecordedPersona, l *state.LivePersona) {
	sameUser := r != nil && l != nil && r.UserID == l.UserID
	switch {
	case c.Action == Create || c.Action == Replace:
		c.Credentials = cx.in.Secret
	case sameUser:
		c.Credentials = r.Credentials
	}
	// Only a live persona the catalog (or, for a refresh, the state) manages
	// is one the runner logs in as; a destroy deletes them all anyway.
	if l == nil || cx.opts.Destroy || (d == nil && !(cx.opts.RefreshOnly && r != nil)) {
		return
	}
	if cx.in.Secret == "" {
		cx.uncheckedCredentials++
		return
	}
	same, compared := true, true
	if sameUser && r.Credentials != "" && r.Credentials != cx.in.Secret {
		same, compared = cx.in.SameSecret[r.Credentials]
	}
	switch {
	case !compared:
		cx.unknownCredentials = append(cx.unknownCredentials, c.Email)
	case !same:
		// A replace is the way out, so it asks for no further decision; the
		// drift is still true of live until it runs.
		if c.Action != Replace {
			cx.credDrift = append(cx.credDrift, c.Email)
		}
		if c.Drift == nil {
			c.Drift = &Drift{Kind: Credentials}
		} else {
			c.Drift.Also = append(c.Drift.Also, Credentials)
		}
	case (!sameUser || r.Credentials == "") && c.Action != Replace:
		cx.unknownCredentials = append(cx.unknownCredentials, c.Email)
	}
}

// finish adds the plan-wide warnings, errors and notes, in a stable order.
func (cx *computer) finish(targets, found map[string]bool, total int) {
	p := cx.p
	if targets != nil {
		p.Warnings = append(p.Warnings, Finding{Code: CodePartialPlan, Planned: len(p.Changes), Total: total})
		for _, e := range cx.opts.Targets {
			if !found[e] {
				p.Warnings = append(p.Warnings, Finding{Code: CodeTargetNotFound, Emails: []string{e}})
			}
		}
	}
	if !cx.opts.Destroy && !cx.opts.RefreshOnly {
		cx.checkReplaceTargets(targets)
	}
	if cx.opts.Destroy && !cx.opts.All {
		cx.destroyNotes()
	}
	if len(cx.credDrift) > 0 {
		p.Warnings = append(p.Warnings, Finding{Code: CodeCredentialDrift, Emails: cx.credDrift})
	}
	if cx.uncheckedCredentials > 0 {
		p.Notes = append(p.Notes, Finding{Code: CodeCredentialsNotChecked})
	}
	if len(cx.unknownCredentials) > 0 {
		p.Notes = append(p.Notes, Finding{Code: CodeCredentialsUnknown, Emails: cx.unknownCredentials})
	}
	sortFindings(p.Errors)
	sortFindings(p.Warnings)
	sortFindings(p.Notes)
}

// sortFindings orders findings by code, then by the first address.
func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		if fs[i].Code != fs[j].Code {
			return fs[i].Code < fs[j].Code
		}
		return strings.Join(fs[i].Emails, ",") < strings.Join(fs[j].Emails, ",")
	})
}

// planRefresh plans only the state's catch-up with live: nothing is written
// to mana-auth.
func planRefresh(c *Change, r *state.RecordedPersona, l *state.LivePersona, run string) {
	switch {
	case r != nil && l == nil:
		c.Action = Forget
		c.Reasons = append(c.Reasons, Finding{Code: ReasonGone, Run: run})
	case r != nil && c.Drift.Has(ChangedOutside) && !l.Unreadable:
		c.Record = true
	}
}

func (cx *computer) planDesired(c *Change, d *catalog.Persona, r *state.RecordedPersona, l *state.LivePersona) {
	p := cx.p
	c.After = d
	if l == nil {
		c.Action = Create
		c.UserID = "" // a recorded id belongs to the persona that is gone
		c.Fields = fieldChanges(catalog.Persona{}, *d, catalog.ComparedFields())
		for i := range c.Fields {
			c.Fields[i].Before = nil
		}
		if r != nil {
			c.Reasons = append(c.Reasons, Finding{Code: ReasonRecreated, Run: cx.in.Interrupted[d.Email]})
		}
		switch {
		case cx.taken[d.Email]:
			p.Errors = append(p.Errors, Finding{Code: CodeAddressTaken, Emails: []string{d.Email}})
			c.Reasons = append(c.Reasons, Finding{Code: ReasonAddressTaken})
		case cx.undetermined[d.Email] && cx.replace[d.Email] && r != nil:
			// The user recorded at this address is deleted first; mana-auth
			// refuses to delete a user who is not a persona, so a person
			// who took the address is never deleted.
			c.Action = Replace
			c.UserID = r.UserID
			c.Reasons = append(c.Reasons, Finding{Code: ReasonReplaceRecordedUser, UserID: r.UserID})
		case cx.undetermined[d.Email]:
			f := Finding{Code: CodeAddressUndetermined, Emails: []string{d.Email}}
			if r != nil {
				f.UserID = r.UserID
			}
			p.Errors = append(p.Errors, f)
			c.Reasons = append(c.Reasons, Finding{Code: ReasonAddressUndetermined})
		default:
			if u, ok := cx.in.Unfinished[d.Email]; ok {
				p.Notes = append(p.Notes, Finding{Code: CodeUnfinishedCreate, Emails: []string{d.Email}, UserID: u.UserID, Run: u.Run})
			}
		}
		return
	}
	diffs := catalog.Differences(l.Values, *d)
	c.Fields = fieldChanges(l.Values, *d, diffs)
	if cx.replace[d.Email] {
		c.Action = Replace
		c.History = history(l)
		c.Reasons = append(c.Reasons, Finding{Code: ReasonReplaceRequested})
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
		p.Warnings = append(p.Warnings, Finding{Code: CodeNameNeedsReplace, Emails: []string{d.Email}, LiveName: l.Values.Name, CatalogName: d.Name, History: history(l)})
	}
	if len(c.Fields) > 1 || (len(c.Fields) == 1 && !nameDiffers) {
		c.Action = Update
		return
	}
	c.Action = NoOp
	// The state records exactly the live persona unless drift says otherwise.
	c.Record = r == nil || c.Drift.Has(ChangedOutside)
}

func planUndesired(c *Change, r *state.RecordedPersona, l *state.LivePersona, prune bool, run string) {
	switch {
	case r != nil && l != nil:
		c.Action = Delete
		c.History = history(l)
		c.Reasons = append(c.Reasons, Finding{Code: ReasonRemoved})
	case r != nil:
		c.Action = Forget
		c.Reasons = append(c.Reasons, Finding{Code: ReasonRemovedAndGone, Run: run})
	case prune:
		c.Action = Delete
		c.History = history(l)
		c.NotInCatalog = true
		c.Reasons = append(c.Reasons, Finding{Code: ReasonPruned})
	}
}

func (cx *computer) checkReplaceTargets(targets map[string]bool) {
	p := cx.p
	actions := make(map[string]Action, len(cx.replace))
	for _, c := range p.Changes {
		if cx.replace[c.Email] {
			actions[c.Email] = c.Action
		}
	}
	for _, e := range cx.opts.Replace {
		switch {
		case targets != nil && !targets[e]:
			p.Errors = append(p.Errors, Finding{Code: CodeReplaceNotTargeted, Emails: []string{e}})
		case !cx.replaceInCatalog[e]:
			p.Errors = append(p.Errors, Finding{Code: CodeReplaceNotInCatalog, Emails: []string{e}})
		case actions[e] == Create:
			p.Warnings = append(p.Warnings, Finding{Code: CodeReplaceCreates, Emails: []string{e}})
		}
	}
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
	if len(fields) == 0 {
		return nil
	}
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
// It hashes the fields themselves, each prefixed by its length, and the
// module mix in key order.
func Fingerprint(l *state.LivePersona) string {
	if l == nil {
		return ""
	}
	var scratch [512]byte
	sum, _ := fingerprint(scratch[:0], l)
	return sum
}

// fingerprint is Fingerprint writing its input into buf, which it returns
// for the next call to reuse: one allocation per persona (the result)
// instead of one per field.
func fingerprint(buf []byte, l *state.LivePersona) (string, []byte) {
	v := &l.Values
	buf = appendField(buf, "personactl-live-v2")
	buf = appendField(buf, l.UserID)
	buf = appendField(buf, v.Email)
	buf = appendField(buf, v.Name)
	buf = appendField(buf, v.Archetype)
	buf = appendField(buf, v.SystemPrompt)
	buf = appendField(buf, v.TickCadence)
	var keyArr [16]string
	keys := keyArr[:0]
	for k := range v.ModuleMix {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	buf = binary.BigEndian.AppendUint64(buf, uint64(len(keys)))
	for _, k := range keys {
		buf = appendField(buf, k)
		buf = binary.BigEndian.AppendUint64(buf, math.Float64bits(v.ModuleMix[k]))
	}
	sum := sha256.Sum256(buf)
	buf = hex.AppendEncode(buf[:0], sum[:])
	return string(buf), buf
}

func appendField(buf []byte, s string) []byte {
	buf = binary.BigEndian.AppendUint64(buf, uint64(len(s)))
	return append(buf, s...)
}

// Recorded returns the values the state records for this persona once the
// change is applied: the desired values, except a name mana-auth kept (it
// never renames).
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

// RecordedPersona is the record the state keeps for this persona once the
// change is applied, with userID the persona's id after the apply (the one
// the create or replace returned; "" keeps c.UserID): the values of
// Recorded, and the seed secret fingerprint of c.Credentials, so that only a
// create or a replace records the secret in effect. ok is false when the
// change leaves nothing to record (delete, forget, or a no-op the state
// already has).
func (c *Change) RecordedPersona(userID string) (r state.RecordedPersona, ok bool) {
	if userID == "" {
		userID = c.UserID
	}
	switch {
	case c.Action == Create || c.Action == Update || c.Action == Replace:
		v, ok := c.Recorded()
		if !ok {
			return state.RecordedPersona{}, false
		}
		return state.RecordedPersona{Email: c.Email, UserID: userID, Values: v, Credentials: c.Credentials}, true
	case c.Action == NoOp && c.Record && c.Before != nil:
		return state.RecordedPersona{Email: c.Email, UserID: userID, Values: *c.Before, Credentials: c.Credentials}, true
	}
	return state.RecordedPersona{}, false
}

// Creates returns the addresses the plan creates: the ones to check with
// mana-auth, before applying, for a Mana user who is not a persona.
func (p *Plan) Creates() []string {
	var out []string
	for _, c := range p.Changes {
		if c.Action == Create {
			out = append(out, c.Email)
		}
	}
	return out
}

// byEmail returns pointers to items sorted by email, keeping only the last
// of several items with one email (a later entry overrides an earlier one).
// Sorted input, the usual case, is only checked.
func byEmail[T any](items []T, email func(*T) string) []*T {
	sorted := true
	for i := 1; i < len(items) && sorted; i++ {
		sorted = email(&items[i-1]) <= email(&items[i])
	}
	order := make([]int32, len(items))
	for i := range order {
		order[i] = int32(i)
	}
	if !sorted {
		slices.SortFunc(order, func(a, b int32) int {
			if c := strings.Compare(email(&items[a]), email(&items[b])); c != 0 {
				return c
			}
			return int(a - b)
		})
	}
	out := make([]*T, 0, len(items))
	for i, x := range order {
		if i+1 < len(order) && email(&items[order[i+1]]) == email(&items[x]) {
			continue
		}
		out = append(out, &items[x])
	}
	return out
}

func set(items []string) map[string]bool {
	m := make(map[string]bool, len(items))
	for _, s := range items {
		m[s] = true
	}
	return m
}

// listSome names up to ten addresses, and how many more there are.
