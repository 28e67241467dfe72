package main

import (
	"context"
	"fmt"

	"github.com/mana/personactl/apply/report"
	"github.com/mana/personactl/state"
)

// HistoryCmd lists past runs from the journal.
type HistoryCmd struct {
	Limit  int    `help:"Show at most N runs (0: all the journal keeps; a negative N is refused)." default:"20" placeholder:"N"`
	Format string `help:"Output format: text or json." enum:"text,json" default:"text"`
}

// Validate refuses a negative --limit before the journal is read.
func (c *HistoryCmd) Validate() error {
	if c.Limit < 0 {
		return fmt.Errorf("--limit=%d: give how many runs to show, or 0 for every run the journal keeps", c.Limit)
	}
	return nil
}

// Run prints the runs newest first: when, who, what, what changed, how it ended.
func (c *HistoryCmd) Run(g *Globals, s Streams) error {
	return withBackend(g, s, func(ctx context.Context, b state.Backend) error {
		entries, err := b.History(ctx, c.Limit)
		if err != nil {
			return err
		}
		runs := make([]report.Run, 0, len(entries))
		for _, e := range entries {
			runs = append(runs, report.Summarize(e))
		}
		if c.Format == "json" {
			return report.JSON(s.Out, runs)
		}
		report.History(s.Out, b.Describe(), runs)
		return nil
	})
}
