package main

import (
	"context"

	"github.com/mana/personactl/apply/connect"
	"github.com/mana/personactl/apply/report"
	"github.com/mana/personactl/plan"
	"github.com/mana/personactl/state"
)

// DriftCmd shows what changed outside personactl.
type DriftCmd struct {
	Format string `help:"Output format: text, json or markdown." enum:"text,json,markdown" default:"text"`
}

// Run computes a refresh-only plan: live against recorded, apart from
// unapplied catalog changes. Exit 0 without drift, 2 with.
func (c *DriftCmd) Run(g *Globals, s Streams) error {
	g.machineOutput = c.Format != "text"
	ctx := context.Background()
	opts := plan.Options{RefreshOnly: true}
	sess, err := open(ctx, g, s, g.settings(s).PlanNeeds(opts))
	if err != nil {
		return err
	}
	defer sess.Close()
	snap, err := sess.Loop.Read(ctx)
	if err != nil {
		return err
	}
	p, err := sess.Loop.Plan(ctx, snap, opts)
	if err != nil {
		return err
	}
	if err := plan.Render(s.Out, p, c.Format, g.colour(s.Out)); err != nil {
		return err
	}
	if p.HasDrift() {
		return &exitCode{code: 2}
	}
	return nil
}

// ShowCmd renders a saved plan, or the recorded state.
type ShowCmd struct {
	PlanFile string `arg:"" optional:"" help:"A plan saved with plan --out." placeholder:"PLANFILE"`
	Format   string `help:"Output format: text, json or markdown." enum:"text,json,markdown" default:"text"`
}

// Run renders the plan file, or without one lists the recorded state.
func (c *ShowCmd) Run(g *Globals, s Streams) error {
	if c.PlanFile != "" {
		p, err := connect.LoadPlan(c.PlanFile)
		if err != nil {
			return err
		}
		return plan.Render(s.Out, p, c.Format, g.colour(s.Out))
	}
	return withState(g, s, func(where string, st *state.State) error {
		if c.Format == "json" {
			return report.JSON(s.Out, st)
		}
		return report.State(s.Out, where, st)
	})
}
