package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/mana/personactl/state"
)

// HistoryCmd lists past runs from the journal.
type HistoryCmd struct {
	Limit  int    `help:"Show at most N runs (0: all the journal keeps)." default:"20" placeholder:"N"`
	Format string `help:"Output format: text or json." enum:"text,json" default:"text"`
}

// pastRun is one run as history shows it.
type pastRun struct {
	ID        string              `json:"id"`
	Operation string              `json:"operation"`
	Who       string              `json:"who"`
	Started   time.Time           `json:"started"`
	Finished  *time.Time          `json:"finished"`
	Outcome   string              `json:"outcome"`
	Changed   map[string][]string `json:"changed"`
	Failed    []string            `json:"failed"`
}

// Run prints the runs newest first: when, who, what, what changed, how it ended.
func (c *HistoryCmd) Run(g *Globals, s Streams) error {
	return withBackend(g, func(ctx context.Context, b state.Backend) error {
		entries, err := b.History(ctx, c.Limit)
		if err != nil {
			return err
		}
		runs := make([]pastRun, 0, len(entries))
		for _, e := range entries {
			runs = append(runs, summarize(e))
		}
		if c.Format == "json" {
			return writeJSON(s, runs)
		}
		printRuns(s.Out, b.Describe(), runs)
		return nil
	})
}

// summarize turns a journal entry into the run history shows.
func summarize(e state.JournalEntry) pastRun {
	r := pastRun{ID: e.ID, Operation: e.Operation, Who: e.Who + "@" + e.Host, Started: e.Started.UTC(), Outcome: e.Outcome, Changed: map[string][]string{}, Failed: []string{}}
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
	state.OutcomeInterrupted: "interrupted (converged by a later run)",
	"open":                   "open: running now, or interrupted (the next apply converges it)",
}

func printRuns(w io.Writer, where string, runs []pastRun) {
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
			fmt.Fprintf(w, "  %d %s: %s\n", len(r.Changed[a]), pastTense(a), strings.Join(r.Changed[a], ", "))
		}
		if len(r.Failed) > 0 {
			fmt.Fprintf(w, "  %d failed: %s\n", len(r.Failed), strings.Join(r.Failed, ", "))
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
