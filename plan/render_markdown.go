package plan

import (
	"fmt"
	"io"
	"strings"

	"github.com/mana/personactl/internal/neutral"
)

// CommentLimit is the most characters GitHub accepts in one comment.
const CommentLimit = 65536

// MarkerPrefix starts the hidden HTML comment a bot looks for to update its
// earlier comment instead of adding another.
const MarkerPrefix = "<!-- personactl-plan"

// MarkdownOptions shape the Markdown rendering.
type MarkdownOptions struct {
	// Limit is the most characters the comment may have; 0 means CommentLimit.
	Limit int
}

// RenderMarkdown writes the plan as a pull-request comment: a hidden marker,
// a summary line, deletions called out first, a table, and a collapsed diff
// per changed persona. The comment stays under the limit however large the
// plan: details and table rows are cut with a note; the summary and the
// deletions are not.
func RenderMarkdown(w io.Writer, p *Plan, opts MarkdownOptions) error {
	limit := opts.Limit
	if limit <= 0 {
		limit = CommentLimit
	}
	var head strings.Builder
	head.WriteString(heading(p))
	// Errors, warnings and notes quote catalog and live values (a name,
	// an address), which must not turn into Markdown or HTML.
	for _, e := range p.Errors {
		fmt.Fprintf(&head, "> [!CAUTION]\n> %s\n\n", neutral.Markdown(e.Message()))
	}
	deletions := deletionList(p)
	head.WriteString(deletions)
	for _, wn := range p.Warnings {
		fmt.Fprintf(&head, "> [!WARNING]\n> %s\n\n", neutral.Markdown(wn.Message()))
	}
	for _, n := range p.Notes {
		fmt.Fprintf(&head, "> [!NOTE]\n> %s\n\n", neutral.Markdown(n.Message()))
	}

	shown := shownChanges(p)
	const tail = "\n<sub>Cut to stay under GitHub's comment size limit; run `personactl plan` for the whole plan.</sub>\n"
	// The notes of a cut ("… and N more", "N more personas' details left
	// out") are written past the budget they report on: keep room for them.
	const cutNotes = 128
	budget := limit - len([]rune(head.String())) - len([]rune(tail)) - cutNotes

	var table strings.Builder
	if len(shown) > 0 {
		table.WriteString("| | persona | action | fields | drift |\n|---|---|---|---|---|\n")
	}
	cut := false
	for i, c := range shown {
		row := tableRow(c)
		if runeLen(&table)+len([]rune(row)) > budget/2 {
			fmt.Fprintf(&table, "| | … and %d more | | | |\n", len(shown)-i)
			cut = true
			break
		}
		table.WriteString(row)
	}
	table.WriteString("\n")
	budget -= runeLen(&table)

	var details strings.Builder
	for i, c := range shown {
		block := detailBlock(c, p.Options)
		if runeLen(&details)+len([]rune(block)) > budget {
			fmt.Fprintf(&details, "<sub>%d more personas' details left out.</sub>\n", len(shown)-i)
			cut = true
			break
		}
		details.WriteString(block)
	}

	out := head.String() + table.String() + details.String()
	if cut {
		out += tail
	}
	if n := len([]rune(out)); n > limit {
		// Only the summary and the deletions are left, and they alone are too
		// long: say so rather than post a comment GitHub would refuse.
		out = heading(p) + fmt.Sprintf("The list of deletions alone is longer than a comment may be (%d characters); run `personactl plan` to see it.\n", n)
	}
	_, err := io.WriteString(w, out)
	return err
}

func runeLen(b *strings.Builder) int { return len([]rune(b.String())) }

// heading is the comment's first lines: the hidden marker, the title and
// the summary line with the changes digest. The marker carries the digest
// (sha256=), which the deploy compares with the plan it is about to apply.
// It is the comment's only HTML comment: every other text is escaped so
// that none can start or end one.
func heading(p *Plan) string {
	digest := p.ChangesDigest()
	return fmt.Sprintf("%s workspace=%s sha256=%s -->\n### personactl plan (workspace %s)\n\n**%s**\n\nChanges digest: `%s`\n\n",
		MarkerPrefix, markerSafe(p.Workspace), digest, neutral.Code(p.Workspace), SummaryLine(p), digest)
}

// markerSafe keeps a workspace name on the marker's line and from closing
// the HTML comment early.
func markerSafe(s string) string { return strings.ReplaceAll(neutral.Text(s), "--", "-‐") }

// shownChanges are the personas a reviewer needs to see: deletions first,
// then every other change, each group by email.
func shownChanges(p *Plan) []Change {
	var del, rest []Change
	for _, c := range p.Changes {
		switch {
		case c.Action == Delete || c.Action == Replace:
			del = append(del, c)
		case c.Action != NoOp || c.Drift != nil || hasNotApplied(c):
			rest = append(rest, c)
		}
	}
	return append(del, rest...)
}

func deletionList(p *Plan) string {
	var b strings.Builder
	for _, c := range p.Changes {
		if c.Action != Delete && c.Action != Replace {
			continue
		}
		if b.Len() == 0 {
			b.WriteString("> [!WARNING]\n> **Deletes persona history, which cannot be undone:**\n")
		}
		note := ""
		if c.NotInCatalog {
			note = " (not in the catalog)"
		}
		if c.Action == Replace {
			note = " (replaced)"
		}
		fmt.Fprintf(&b, "> - %s%s: %s\n", neutral.Code(c.Email), note, c.History.Describe())
	}
	if b.Len() > 0 {
		b.WriteString("\n")
	}
	return b.String()
}

var markdownSign = map[Action]string{Create: "➕", Update: "✏️", Delete: "🗑️", Replace: "♻️", Forget: "🧹", NoOp: ""}

func tableRow(c Change) string {
	fields := make([]string, 0, len(c.Fields))
	for _, f := range c.Fields {
		fields = append(fields, string(f.Field))
	}
	drift := ""
	if c.Drift != nil {
		drift = neutral.Markdown(c.Drift.Describe())
	}
	return fmt.Sprintf("| %s | %s | %s | %s | %s |\n", markdownSign[c.Action], neutral.Code(c.Email), c.Action, strings.Join(fields, ", "), drift)
}

// detailBlock is one persona's collapsed diff, reusing the text rendering
// without colour so both views always agree; no line of it can close the
// code block.
func detailBlock(c Change, o Options) string {
	t := &textWriter{options: o}
	if c.Drift != nil {
		t.driftNotes("", "  ", "", c.Drift)
	}
	if c.Action != NoOp || hasNotApplied(c) {
		t.change(c)
	}
	return fmt.Sprintf("<details><summary><code>%s %s</code> %s</summary>\n\n%s\n</details>\n", strings.TrimSpace(c.Action.Sign()), neutral.HTML(c.Email), headline(c, o), neutral.CodeBlock("diff", diffGutter(t.b.String())))
}

// diffGutter moves each line's sign to the first column, where GitHub's diff
// highlighting looks for it ("!" marks a change in place).
func diffGutter(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		trimmed := strings.TrimLeft(l, " ")
		if trimmed == "" {
			continue
		}
		indent := len(l) - len(trimmed)
		switch {
		case strings.HasPrefix(trimmed, "-/+"):
			lines[i] = "!" + strings.Repeat(" ", indent) + trimmed
		case strings.ContainsRune("+-~!", rune(trimmed[0])):
			sign := trimmed[:1]
			if sign == "~" {
				sign = "!"
			}
			lines[i] = sign + strings.Repeat(" ", indent) + trimmed[1:]
		default:
			lines[i] = " " + l
		}
	}
	return strings.Join(lines, "\n")
}
