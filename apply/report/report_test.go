package report

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mana/personactl/apply"
	"github.com/mana/personactl/apply/reconcile"
	"github.com/mana/personactl/plan"
	"github.com/mana/personactl/state"
)

func TestSummarizeAndHistory(t *testing.T) {
	at := time.Date(2026, 11, 29, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	open := Summarize(state.JournalEntry{ID: "j2", Operation: "apply", Who: "ci", Host: "runner", Started: at, Steps: []state.JournalStep{
		{Email: "b@mana.test", Action: "create", Outcome: state.StepDone},
		{Email: "a@mana.test", Action: "create", Outcome: state.StepDone},
		{Email: "c@mana.test", Action: "delete", Outcome: state.StepFailed},
	}})
	if open.Outcome != "open" || open.Finished != nil || open.Who != "ci@runner" || !open.Started.Equal(at) || open.Started.Location() != time.UTC {
		t.Errorf("an entry still open: %+v", open)
	}
	if got := strings.Join(open.Changed["create"], ","); got != "a@mana.test,b@mana.test" || len(open.Failed) != 1 {
		t.Errorf("changed %v, failed %v", open.Changed, open.Failed)
	}
	done := Summarize(state.JournalEntry{ID: "j1", Operation: "destroy", Started: at.Add(-time.Hour), Closed: at.Add(-time.Minute), Outcome: state.OutcomeComplete})
	var b bytes.Buffer
	History(&b, "personactl.state.json", []Run{open, done})
	for _, want := range []string{"apply by ci@runner: open: running now", "2 created: a@mana.test, b@mana.test", "1 failed: c@mana.test", "journal j2", "destroy by @: complete", "nothing changed"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("history does not say %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	History(&b, "personactl.state.json", nil)
	if !strings.Contains(b.String(), "No runs recorded in personactl.state.json") {
		t.Errorf("empty history: %q", b.String())
	}
}

func TestApplied(t *testing.T) {
	for _, tc := range []struct {
		operation string
		res       apply.Result
		json      bool
		want      string
	}{
		{"apply", apply.Result{Created: 2, Updated: 1}, false, "\nApply complete! Personas: 2 created, 1 updated, 0 deleted.\n"},
		{"apply", apply.Result{Replaced: 1}, false, "\nApply complete! Personas: 0 created, 0 updated, 0 deleted, 1 replaced.\n"},
		{"destroy", apply.Result{Deleted: 3}, false, "\nDestroy complete! Personas: 3 deleted.\n"},
		{"apply", apply.Result{Created: 1, Forgotten: 2}, true, `{"type":"summary","created":1,"updated":0,"deleted":0,"replaced":0,"forgotten":2}` + "\n"},
	} {
		var b bytes.Buffer
		if err := Applied(&b, tc.operation, &tc.res, tc.json); err != nil || b.String() != tc.want {
			t.Errorf("Applied(%s, %+v, json=%v) = %q, %v; want %q", tc.operation, tc.res, tc.json, b.String(), err, tc.want)
		}
	}
}

func TestVerification(t *testing.T) {
	v := &reconcile.Verification{Recorded: 1, Personas: []reconcile.Readiness{
		{Email: "a@mana.test", Status: "ready"},
		{Email: "b@mana.test", Status: "locked", Detail: "29 minutes left | try later"},
	}}
	var b bytes.Buffer
	if err := Verification(&b, v, "markdown"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "**personactl verify:** Verified 2 persona(s): 1 ready, 1 locked.") || !strings.Contains(b.String(), "| `b@mana.test` | locked | 29 minutes left \\| try later |") {
		t.Errorf("markdown:\n%s", b.String())
	}
	b.Reset()
	Verification(&b, v, "text")
	if !strings.Contains(b.String(), "b@mana.test: locked: 29 minutes left") || !strings.Contains(b.String(), "Recorded the seed secret's fingerprint for 1 persona(s).") {
		t.Errorf("text:\n%s", b.String())
	}
	if bad := v.NotReady(); len(bad) != 1 || !strings.HasPrefix(bad[0], "b@mana.test: locked: ") {
		t.Errorf("NotReady = %q", bad)
	}
}

// hostile is text mana-auth could send: escape sequences that clear the
// screen and print a fake success, a line break starting a heading, HTML,
// an HTML comment and a bidi override.
const hostile = "\x1b[2J\x1b[31mApply complete!\n## heading <img src=x onerror=alert(1)> <!-- | \u202e"

// controlIn returns the first control or bidi character of s other than a
// line feed, or -1.
func controlIn(s string) rune {
	for _, r := range s {
		if (r < 0x20 && r != '\n') || r == 0x7F || (0x80 <= r && r <= 0x9F) || r == 0x202E {
			return r
		}
	}
	return -1
}

// TestReportsNeutraliseWhatTheyQuote: verify's text and Markdown, the state
// table and the history show server text escaped: nothing acts on a
// terminal, and the Markdown table keeps its rows, with no HTML and no
// heading.
func TestReportsNeutraliseWhatTheyQuote(t *testing.T) {
	v := &reconcile.Verification{Personas: []reconcile.Readiness{
		{Email: "a@mana.test", Status: "error", Detail: "login as a@mana.test: mana-auth answered 400 (" + hostile + ")"},
		{Email: "b@mana.test" + hostile, Status: "ready"},
	}}
	var md bytes.Buffer
	if err := Verification(&md, v, "markdown"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(md.String(), "\n"), "\n")
	if len(lines) != 6 { // summary, blank, header, delimiter, two rows
		t.Errorf("the Markdown has %d lines, want 6:\n%s", len(lines), md.String())
	}
	for _, l := range lines[2:] {
		if cells := strings.Count(l, "|") - strings.Count(l, `\|`); cells != 4 {
			t.Errorf("a table line has %d cell separators, want 4: %s", cells, l)
		}
	}
	if strings.ContainsAny(md.String(), "<>") || controlIn(md.String()) >= 0 {
		t.Errorf("the Markdown holds raw HTML or a control character:\n%q", md.String())
	}

	var text bytes.Buffer
	Verification(&text, v, "text")
	State(&text, "personactl.state.json", &state.State{Lineage: "L", Personas: []state.RecordedPersona{{Email: "c@mana.test" + hostile, UserID: "u1" + hostile}}})
	History(&text, "personactl.state.json", []Run{{ID: "j1", Outcome: "open", Changed: map[string][]string{"delete": {"d@mana.test" + hostile}}, Failed: []string{"e@mana.test" + hostile}}})
	if r := controlIn(text.String()); r >= 0 {
		t.Errorf("the text holds %U:\n%q", r, text.String())
	}
	if n := strings.Count(text.String(), `\x1b[2J\x1b[31mApply complete!\n## heading`); n != 6 {
		t.Errorf("the text shows the escaped server text %d times, want 6:\n%s", n, text.String())
	}
}

func TestApprove(t *testing.T) {
	for _, tt := range []struct {
		answer   string
		terminal bool
		err      string
	}{
		{"yes\n", true, ""},
		{"  yes  \n", true, ""},
		{"yes", true, ""}, // no newline before the end of input
		{"y\n", true, "destroy cancelled: nothing was changed"},
		{"", true, "destroy cancelled"},
		{"yes\n", false, "refusing to destroy without confirmation: standard input is not a terminal; review the plan and pass --auto-approve"},
	} {
		var out bytes.Buffer
		err := Approve(context.Background(), strings.NewReader(tt.answer), &out, "destroy", &plan.Plan{}, tt.terminal)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("answer %q: %v, want approval", tt.answer, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("answer %q on a terminal %v: %v, want %q", tt.answer, tt.terminal, err, tt.err)
		}
		if asked := strings.Contains(out.String(), "Only 'yes' will be accepted"); asked != tt.terminal {
			t.Errorf("answer %q on a terminal %v: asked %v (%q)", tt.answer, tt.terminal, asked, out.String())
		}
	}
}

// TestApproveADestroy: a destroy's question says how many personas it
// deletes (with --all: that they are every live persona, managed here or
// not) and that there is no undo; an apply asks Terraform's question.
func TestApproveADestroy(t *testing.T) {
	deletes := func(n int, opts plan.Options) *plan.Plan {
		p := &plan.Plan{Options: opts, Changes: []plan.Change{{Email: "kept@mana.test"}, {Email: "gone@mana.test", Action: plan.Forget}}}
		for i := range n {
			p.Changes = append(p.Changes, plan.Change{Email: fmt.Sprintf("p%04d@mana.test", i), Action: plan.Delete})
		}
		return p
	}
	for _, tt := range []struct {
		name string
		p    *plan.Plan
		want string
	}{
		{"apply", deletes(2, plan.Options{}), "Do you want to perform these actions?\n  Only 'yes' will be accepted to approve."},
		{"destroy", deletes(4, plan.Options{Destroy: true}), "Do you really want to delete 4 personas?\n  personactl will delete them and their history, as shown above.\n  There is no undo."},
		{"destroy of one", deletes(1, plan.Options{Destroy: true}), "Do you really want to delete 1 persona?\n  personactl will delete it and its history"},
		{"destroy --all", deletes(1004, plan.Options{Destroy: true, All: true}), "Do you really want to delete every live persona, 1,004 of them, managed here or not?\n  personactl will delete them and their history, as shown above.\n  There is no undo. Only 'yes' will be accepted to confirm."},
		{"destroy --all --target", deletes(2, plan.Options{Destroy: true, All: true, Targets: []string{"a@mana.test", "b@mana.test"}}), "Do you really want to delete 2 personas?"},
		{"a destroy that only forgets", deletes(0, plan.Options{Destroy: true}), "Do you want to perform these actions?"},
	} {
		var out bytes.Buffer
		if err := Approve(context.Background(), strings.NewReader("yes\n"), &out, "destroy", tt.p, true); err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
		if !strings.Contains(out.String(), tt.want) {
			t.Errorf("%s: asked %q, want %q", tt.name, out.String(), tt.want)
		}
	}
}
