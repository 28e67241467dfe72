package main

import (
	"context"

	"github.com/mana/personactl/apply/connect"
	"github.com/mana/personactl/apply/reconcile"
	"github.com/mana/personactl/apply/report"
	"github.com/mana/personactl/plan"
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
	sess, err := open(ctx, g, s, connect.Needs{Catalog: true, SecretIfSet: true})
	if err != nil {
		return err
	}
	defer sess.Close()
	p, err := sess.Loop.Plan(ctx, plan.Options{RefreshOnly: true})
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
		p, err := reconcile.LoadPlan(c.PlanFile)
		if err != nil {
			return err
		}
		return plan.Render(s.Out, p, c.Format, g.colour(s.Out))
	}
	ctx := context.Background()
	b, err := g.settings(s).OpenState(ctx)
	if err != nil {
		return err
	}
	defer b.Close()
	st, err := b.Read(ctx)
	if err != nil {
		return err
	}
	if c.Format == "json" {
		return report.JSON(s.Out, st)
	}
	return report.State(s.Out, b.Describe(), st)
}
