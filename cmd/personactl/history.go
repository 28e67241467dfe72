package main

import (
	"context"

	"github.com/mana/personactl/apply/report"
	"github.com/mana/personactl/state"
)

// HistoryCmd lists past runs from the journal.
type HistoryCmd struct {
	Limit  int    `help:"Show at most N runs (0: all the journal keeps)." default:"20" placeholder:"N"`
	Format string `help:"Output format: text or json." enum:"text,json" default:"text"`
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
