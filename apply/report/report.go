// Package report renders what runs did and found, for people and for
// machines: the summary of an apply, the run history kept in the journal,
// the login verification, the recorded state. The commands choose the
// format; what is said, and in which words, is decided here.
package report

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mana/personactl/apply"
	"github.com/mana/personactl/apply/reconcile"
	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/internal/neutral"
	"github.com/mana/personactl/plan"
	"github.com/mana/personactl/state"
)

// JSON writes v as indented JSON.
func JSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// JSONLine writes v as one compact line of JSON.
func JSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// PlanLine writes p as the first line of --format=json apply output:
// {"type":"plan","plan":{…}}, the plan as plan.RenderJSON renders it.
func PlanLine(w io.Writer, p *plan.Plan) error {
	var b bytes.Buffer
	if err := plan.RenderJSONCompact(&b, p); err != nil {
		return err
	}
	return JSONLine(w, struct {
		Type string          `json:"type"`
		Plan json.RawMessage `json:"plan"`
	}{"plan", b.Bytes()})
}

// Applied writes the last words of an apply or destroy (operation) that
// changed something: a line "Apply complete! …", or with asJSON the
// summary line of --format=json.
func Applied(w io.Writer, operation string, res *apply.Result, asJSON bool) error {
	if asJSON {
		return JSONLine(w, struct {
			Type      string `json:"type"`
			Created   int    `json:"created"`
			Updated   int    `json:"updated"`
			Deleted   int    `json:"deleted"`
			Replaced  int    `json:"replaced"`
			Forgotten int    `json:"forgotten"`
		}{"summary", res.Created, res.Updated, res.Deleted, res.Replaced, res.Forgotten})
	}
	summary := fmt.Sprintf("Apply complete! Personas: %d created, %d updated, %d deleted.", res.Created, res.Updated, res.Deleted)
	if operation == "destroy" {
		summary = fmt.Sprintf("Destroy complete! Personas: %d deleted.", res.Deleted)
	}
	if res.Replaced > 0 {
		summary = strings.TrimSuffix(summary, ".") + fmt.Sprintf(", %d replaced.", res.Replaced)
	}
	_, err := fmt.Fprintln(w, "\n"+summary)
	return err
}

// State writes the recorded state st of where as a table, one persona a line.
func State(w io.Writer, where string, st *state.State) error {
	if st.Lineage == "" {
		fmt.Fprintf(w, "No recorded state in %s yet: run personactl apply.\n", where)
		return nil
	}
	fmt.Fprintf(w, "State %s: lineage %s, serial %d, %d personas\n\n", where, st.Lineage, st.Serial, len(st.Personas))
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EMAIL\tUSER ID\tARCHETYPE\tCADENCE\tAPPLIED")
	for _, p := range st.Personas {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", neutral.Text(p.Email), neutral.Text(p.UserID), neutral.Text(p.Values.Archetype), neutral.Text(p.Values.TickCadence), p.AppliedAt.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

// StateJSON writes the recorded state st of where as state list
// --format=json does (docs/output-formats.md): each persona's address, id,
// values and whether its seed-secret fingerprint is recorded, never the
// fingerprint itself, which scripts have no use for.
func StateJSON(w io.Writer, where string, st *state.State) error {
	type listed struct {
		Email               string          `json:"email"`
		UserID              string          `json:"user_id"`
		Values              catalog.Persona `json:"values"`
		AppliedAt           time.Time       `json:"applied_at"`
		FingerprintRecorded bool            `json:"fingerprint_recorded"`
	}
	personas := make([]listed, 0, len(st.Personas))
	for _, p := range st.Personas {
		personas = append(personas, listed{p.Email, p.UserID, p.Values, p.AppliedAt.UTC(), p.Credentials != ""})
	}
	return JSON(w, struct {
		FormatVersion string   `json:"format_version"`
		State         string   `json:"state"`
		Lineage       string   `json:"lineage"`
		Serial        int64    `json:"serial"`
		Personas      []listed `json:"personas"`
	}{"1", where, st.Lineage, st.Serial, personas})
}

// Run is one run as history shows it.
type Run struct {
	ID        string              `json:"id"`
	Operation string              `json:"operation"`
	Who       string              `json:"who"`
	Started   time.Time           `json:"started"`
	Finished  *time.Time          `json:"finished"`
	Outcome   string              `json:"outcome"`
	Changed   map[string][]string `json:"changed"`
	Failed    []string            `json:"failed"`
}

// Summarize turns a journal entry into the run history shows.
func Summarize(e state.JournalEntry) Run {
	r := Run{ID: e.ID, Operation: e.Operation, Who: e.Who + "@" + e.Host, Started: e.Started.UTC(), Outcome: e.Outcome, Changed: map[string][]string{}, Failed: []string{}}
	if !e.Closed.IsZero() {
		closed := e.Closed.UTC()
		r.Finished = &closed
	}
	if r.Outcome == "" {
		r.Outcome = "open" // running now, or interrupted and not yet converged
	}
	for _, st := range e.Steps {
		if st.Outcome == state.StepDone {
			r.Changed[st.Action] = append(r.Changed[st.Action], st.Email)
		} else {
			r.Failed = append(r.Failed, st.Email)
		}
	}
	for _, emails := range r.Changed {
		sort.Strings(emails)
	}
	sort.Strings(r.Failed)
	return r
}

// outcomeWords are the outcomes as a person reads them.
var outcomeWords = map[string]string{
	state.OutcomeComplete:    "complete",
	state.OutcomeRolledBack:  "rolled back",
	state.OutcomeFailed:      "finished with failures",
	state.OutcomeInterrupted: "interrupted",
	"open":                   "open: running now, or interrupted (the next apply converges it)",
}

// History writes runs as text, newest first as given; where names the
// state they were read from.
func History(w io.Writer, where string, runs []Run) {
	if len(runs) == 0 {
		fmt.Fprintf(w, "No runs recorded in %s yet.\n", where)
		return
	}
	for i, r := range runs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		outcome := outcomeWords[r.Outcome]
		if outcome == "" {
			outcome = r.Outcome
		}
		fmt.Fprintf(w, "%s  %s by %s: %s\n", r.Started.Format(time.RFC3339), r.Operation, r.Who, outcome)
		actions := make([]string, 0, len(r.Changed))
		for a := range r.Changed {
			actions = append(actions, a)
		}
		sort.Strings(actions)
		if len(actions) == 0 && len(r.Failed) == 0 {
			fmt.Fprintln(w, "  nothing changed")
		}
		for _, a := range actions {
			fmt.Fprintf(w, "  %d %s: %s\n", len(r.Changed[a]), pastTense(a), neutral.Text(strings.Join(r.Changed[a], ", ")))
		}
		if len(r.Failed) > 0 {
			fmt.Fprintf(w, "  %d failed: %s\n", len(r.Failed), neutral.Text(strings.Join(r.Failed, ", ")))
		}
		fmt.Fprintf(w, "  journal %s\n", r.ID)
	}
}

func pastTense(action string) string {
	switch action {
	case "create":
		return "created"
	case "update":
		return "updated"
	case "delete":
		return "deleted"
	case "replace":
		return "replaced"
	}
	return action
}

// Verification writes v as text, JSON or a Markdown table.
func Verification(w io.Writer, v *reconcile.Verification, format string) error {
	counts := map[reconcile.Status]int{}
	for _, r := range v.Personas {
		counts[r.Status]++
	}
	var parts []string
	for _, st := range reconcile.Statuses {
		if counts[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[st], reconcile.StatusWords(st)))
		}
	}
	summary := fmt.Sprintf("Verified %d persona(s): %s.", len(v.Personas), strings.Join(parts, ", "))
	if len(v.Personas) == 0 {
		summary = "No persona to verify."
	}
	switch format {
	case "json":
		return JSON(w, v)
	case "markdown":
		fmt.Fprintf(w, "**personactl verify:** %s\n\n| persona | can the runner log in? | detail |\n|---|---|---|\n", summary)
		for _, r := range v.Personas {
			fmt.Fprintf(w, "| %s | %s | %s |\n", neutral.Code(r.Email), reconcile.StatusWords(r.Status), neutral.Markdown(r.Detail))
		}
		return nil
	}
	for _, r := range v.Personas {
		line := fmt.Sprintf("%s: %s", neutral.Text(r.Email), reconcile.StatusWords(r.Status))
		if r.Detail != "" {
			line += ": " + neutral.Text(r.Detail)
		}
		fmt.Fprintln(w, line)
	}
	if v.Recorded > 0 {
		fmt.Fprintf(w, "Recorded the seed secret's fingerprint for %d persona(s).\n", v.Recorded)
	}
	fmt.Fprintln(w, summary)
	return nil
}

// Approve asks for "yes" before an apply or destroy (operation) of p, the
// way Terraform does; a plan that destroys personas asks, as terraform
// destroy does, whether to delete them, saying how many and that there is
// no undo. Off a terminal (terminal false) nobody can answer, so it
// refuses and names --auto-approve; any answer but "yes" cancels.
func Approve(ctx context.Context, in io.Reader, out io.Writer, operation string, p *plan.Plan, terminal bool) error {
	if !terminal {
		return fmt.Errorf("refusing to %s without confirmation: standard input is not a terminal; review the plan and pass --auto-approve", operation)
	}
	fmt.Fprintf(out, "\n%s\n\n  Enter a value: ", question(p))
	answer := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(in).ReadString('\n')
		answer <- line
	}()
	select {
	case line := <-answer:
		if strings.TrimSpace(line) != "yes" {
			return fmt.Errorf("%s cancelled: nothing was changed", operation)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// question is what Approve asks about p.
func question(p *plan.Plan) string {
	n := p.Summary().Delete
	if !p.Options.Destroy || n == 0 {
		return "Do you want to perform these actions?\n  Only 'yes' will be accepted to approve."
	}
	what, them := apply.Thousands(n)+" personas", "them and their history"
	switch {
	case n == 1:
		what, them = "1 persona", "it and its history"
	case p.Options.All && len(p.Options.Targets) == 0:
		what = "every live persona, " + apply.Thousands(n) + " of them, managed here or not"
	}
	return "Do you really want to delete " + what + "?\n  personactl will delete " + them + ", as shown above.\n  There is no undo. Only 'yes' will be accepted to confirm."
}
