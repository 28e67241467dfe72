package plan

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/internal/neutral"
)

// TextOptions shape the text rendering.
type TextOptions struct {
	// Color adds ANSI colours; the caller decides when (personactl --color).
	Color bool
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
)

type textWriter struct {
	b     strings.Builder
	color bool
	// options are the plan's, which some words depend on.
	options Options
}

func (t *textWriter) paint(code, s string) string {
	if !t.color || s == "" {
		return s
	}
	return code + s + ansiReset
}

func (t *textWriter) line(format string, a ...any) {
	fmt.Fprintf(&t.b, format, a...)
	t.b.WriteByte('\n')
}

// RenderText writes the plan the way Terraform prints one: drift first, then
// one block per persona in email order, warnings, errors and the summary line.
func RenderText(w io.Writer, p *Plan, opts TextOptions) error {
	t := &textWriter{color: opts.Color, options: p.Options}
	t.drift(p)
	if !p.Options.RefreshOnly {
		t.changes(p)
	}
	t.notes("Warning", ansiYellow, Messages(p.Warnings))
	t.notes("Note", ansiCyan, Messages(p.Notes))
	t.notes("Error", ansiRed, Messages(p.Errors))
	if p.Writes() > 0 {
		t.line("Changes digest: %s (apply --expect-digest checks it)", p.ChangesDigest())
	}
	t.line("%s", t.paint(ansiBold, SummaryLine(p)))
	_, err := io.WriteString(w, t.b.String())
	return err
}

// SummaryLine is the plan's last line: "Plan: N to create, N to update, N to
// delete." (with replace and forget when there are any), followed by how
// many personas need attention when some do; "Nothing to apply; …" when only
// decisions are left; "No changes." only when there is nothing to apply and
// nothing needing a decision.
func SummaryLine(p *Plan) string {
	s := p.Summary()
	if p.Options.RefreshOnly {
		if !p.HasDrift() {
			return "No changes. Live personas match the recorded state."
		}
		counts := map[DriftKind]int{}
		for _, c := range p.Changes {
			if c.Drift != nil {
				counts[c.Drift.Kind]++
				for _, k := range c.Drift.Also {
					counts[k]++
				}
			}
		}
		line := fmt.Sprintf("Drift: %d changed outside personactl, %d deleted outside personactl, %d unmanaged", counts[ChangedOutside], counts[DeletedOutside], counts[Unmanaged])
		if n := counts[DeletedByRun]; n > 0 {
			line += fmt.Sprintf(", %d deleted by an interrupted run", n)
		}
		if n := counts[Credentials]; n > 0 {
			line += fmt.Sprintf(", %d with credentials from another seed secret", n)
		}
		return line + "."
	}
	if len(p.Errors) > 0 {
		return fmt.Sprintf("Plan blocked: %d error(s) above must be fixed first; nothing can be applied.", len(p.Errors))
	}
	attention := ""
	if s.Attention > 0 {
		attention = count(s.Attention, "persona needs", "personas need") + " attention (see above)."
	}
	if !p.HasChanges() {
		recorded := ""
		if s.Record > 0 {
			recorded = fmt.Sprintf("%d persona(s) already match and are recorded in the state at the next apply.", s.Record)
		}
		switch {
		case attention != "" && recorded != "":
			return "Nothing to apply; " + attention + " " + recorded
		case attention != "":
			return "Nothing to apply; " + attention
		case recorded != "":
			return "No changes. " + recorded
		}
		return "No changes."
	}
	parts := []string{fmt.Sprintf("%d to create", s.Create), fmt.Sprintf("%d to update", s.Update)}
	if s.Replace > 0 {
		parts = append(parts, fmt.Sprintf("%d to replace", s.Replace))
	}
	parts = append(parts, fmt.Sprintf("%d to delete", s.Delete))
	if s.Forget > 0 {
		parts = append(parts, fmt.Sprintf("%d to forget", s.Forget))
	}
	line := "Plan: " + strings.Join(parts, ", ") + "."
	if attention != "" {
		line += " " + attention
	}
	return line
}

func (t *textWriter) drift(p *Plan) {
	var drifted []Change
	for _, c := range p.Changes {
		if c.Drift != nil {
			drifted = append(drifted, c)
		}
	}
	if len(drifted) == 0 {
		return
	}
	header := "Personas have changed outside personactl since the last apply:"
	for _, c := range drifted {
		if c.Drift.Kind == DeletedByRun {
			header = "Personas have changed since personactl last recorded them:"
		}
	}
	t.line("%s", t.paint(ansiBold, header))
	t.line("")
	for _, c := range drifted {
		t.driftNotes("  ", "      ", c.Email+" ", c.Drift)
	}
	t.line("")
}

// driftNotes writes one note per drift kind, the changed fields (recorded ->
// live) under the first.
func (t *textWriter) driftNotes(indent, fieldIndent, subject string, d *Drift) {
	note := d.Kind.Describe()
	if d.Kind == DeletedByRun && d.Run != "" {
		note = "deleted by " + d.Run
	}
	if len(d.Fields) > 0 {
		note += " (recorded -> live)"
	}
	t.line("%s# %s%s", indent, neutral.Text(subject), neutral.Text(note))
	for _, f := range d.Fields {
		t.field(fieldIndent, ansiYellow, "~", f, maxFieldWidth(d.Fields))
	}
	for _, k := range d.Also {
		t.line("%s# %s%s", indent, neutral.Text(subject), k.Describe())
	}
}

func (t *textWriter) changes(p *Plan) {
	var acting []Change
	for _, c := range p.Changes {
		if c.Action != NoOp || hasNotApplied(c) {
			acting = append(acting, c)
		}
	}
	if len(acting) == 0 {
		return
	}
	t.line("personactl will perform the following actions:")
	t.line("")
	for _, c := range acting {
		t.change(c)
		t.line("")
	}
}

func hasNotApplied(c Change) bool {
	for _, f := range c.Fields {
		if f.NotApplied != "" {
			return true
		}
	}
	return false
}

var actionColor = map[Action]string{Create: ansiGreen, Update: ansiYellow, Delete: ansiRed, Replace: ansiRed, Forget: ansiCyan, NoOp: ""}

func headline(c Change, o Options) string {
	switch c.Action {
	case Create:
		return "will be created"
	case Update:
		return "will be updated in place"
	case Delete:
		if c.NotInCatalog {
			return "will be deleted (not in the catalog)"
		}
		return "will be deleted"
	case Replace:
		return "must be replaced (deleted, then created again)"
	case Forget:
		return "will be forgotten (removed from the recorded state only)"
	}
	switch {
	case hasNotApplied(c):
		return "will not change (its name cannot be applied)"
	case c.Attention && c.Drift.Has(Credentials):
		return "will not change (the persona runner cannot log in as it)"
	case c.Drift != nil && c.Drift.Kind == Unmanaged && o.Destroy:
		return "is not managed here, so the destroy leaves it (--all deletes it)"
	case c.Drift != nil && c.Drift.Kind == Unmanaged:
		return "is not managed by personactl (--prune deletes it)"
	}
	return "will not change"
}

func (t *textWriter) change(c Change) {
	color := actionColor[c.Action]
	t.line("  # %s %s", t.paint(ansiBold, neutral.Text(c.Email)), headline(c, t.options))
	for _, r := range c.Reasons {
		t.line("  # (%s)", neutral.Text(r.Message()))
	}
	if c.History != nil {
		t.line("  # destroys %s", c.History.Describe())
	}
	sign := fmt.Sprintf("%3s", c.Action.Sign())
	t.line("%s persona %q {", t.paint(color, sign), c.Email)
	width := maxFieldWidth(c.Fields)
	if c.UserID != "" {
		width = max(width, len("user_id"))
		t.line("        %-*s = %q", width, "user_id", c.UserID)
	}
	for _, f := range c.Fields {
		switch {
		case f.NotApplied != "":
			t.field("      ", ansiYellow, "!", f, width)
		case c.Action == Create || f.Before == nil:
			t.field("      ", ansiGreen, "+", f, width)
		default:
			t.field("      ", ansiYellow, "~", f, width)
		}
	}
	t.line("    }")
}

func maxFieldWidth(fields []FieldChange) int {
	w := 0
	for _, f := range fields {
		w = max(w, len(f.Field))
	}
	return w
}

// field renders one field change: strings as old -> new (prompts as a word
// diff), module mixes key by key.
func (t *textWriter) field(indent, color, sign string, f FieldChange, width int) {
	lead := indent + t.paint(color, sign) + " " + fmt.Sprintf("%-*s", width, f.Field)
	suffix := ""
	if f.NotApplied != "" {
		suffix = "  # not applied: " + f.NotApplied
	}
	if f.Field == catalog.FieldModuleMix {
		before, _ := f.Before.(map[string]float64)
		after, _ := f.After.(map[string]float64)
		t.line("%s = {%s", lead, suffix)
		t.mix(indent+"    ", before, after, f.Before == nil)
		t.line("%s  }", indent)
		return
	}
	before, _ := f.Before.(string)
	after, _ := f.After.(string)
	switch {
	case f.Before == nil:
		t.line("%s = %s%s", lead, strconv.Quote(after), suffix)
	case f.Field == catalog.FieldSystemPrompt:
		t.line("%s = %s%s", lead, t.inlineDiff(before, after), suffix)
	default:
		t.line("%s = %s -> %s%s", lead, strconv.Quote(before), strconv.Quote(after), suffix)
	}
}

func (t *textWriter) mix(indent string, before, after map[string]float64, creating bool) {
	keys := catalog.MixKeys(before, after)
	width := 0
	shown := make(map[string]string, len(keys))
	for _, k := range keys {
		shown[k] = neutral.Text(k)
		width = max(width, len(shown[k]))
	}
	for _, key := range keys {
		b, inBefore := before[key]
		a, inAfter := after[key]
		k := shown[key]
		switch {
		case creating || !inBefore:
			t.line("%s%s %-*s = %s", indent, t.paint(ansiGreen, "+"), width, k, formatWeight(a))
		case !inAfter:
			t.line("%s%s %-*s = %s", indent, t.paint(ansiRed, "-"), width, k, formatWeight(b))
		case catalog.MixEqual(map[string]float64{key: a}, map[string]float64{key: b}):
			t.line("%s  %-*s = %s", indent, width, k, formatWeight(a))
		default:
			t.line("%s%s %-*s = %s -> %s", indent, t.paint(ansiYellow, "~"), width, k, formatWeight(b), formatWeight(a))
		}
	}
}

func formatWeight(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// contextChars is how much unchanged text an inline diff keeps on each side of
// a change; the rest is elided so a long prompt is never printed whole.
const contextChars = 40

// inlineDiff renders a word diff on one line: [-removed-]{+added+}, readable
// without colour, with long unchanged stretches shortened to "…".
func (t *textWriter) inlineDiff(before, after string) string {
	segs := WordDiff(before, after)
	var b strings.Builder
	b.WriteByte('"')
	for i, s := range segs {
		text := escape(s.Text)
		switch s.Op {
		case Removed:
			b.WriteString(t.paint(ansiRed, "[-"+text+"-]"))
		case Added:
			b.WriteString(t.paint(ansiGreen, "{+"+text+"+}"))
		default:
			b.WriteString(elide(text, i > 0, i < len(segs)-1))
		}
	}
	b.WriteByte('"')
	return b.String()
}

// escape makes a piece of a string safe for one quoted line.
func escape(s string) string {
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

// elide shortens unchanged text, keeping contextChars next to each change.
func elide(s string, changeBefore, changeAfter bool) string {
	r := []rune(s)
	keepHead, keepTail := 0, 0
	if changeBefore {
		keepHead = contextChars
	}
	if changeAfter {
		keepTail = contextChars
	}
	if len(r) <= keepHead+keepTail+1 {
		return s
	}
	head := string(r[:keepHead])
	tail := string(r[len(r)-keepTail:])
	if keepHead > 0 {
		if i := strings.LastIndexByte(head, ' '); i > 0 {
			head = head[:i+1]
		}
	}
	if keepTail > 0 {
		if i := strings.IndexByte(tail, ' '); i >= 0 && i < len(tail)-1 {
			tail = tail[i:]
		}
	}
	return head + "…" + tail
}

func (t *textWriter) notes(kind, color string, notes []string) {
	if len(notes) == 0 {
		return
	}
	sorted := append([]string(nil), notes...)
	sort.Strings(sorted)
	for _, n := range sorted {
		t.line("%s %s", t.paint(color, kind+":"), neutral.Text(n))
	}
	t.line("")
}
