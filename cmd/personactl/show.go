package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

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
	sess, err := open(ctx, g, s, needs{catalog: true, secretIfSet: true})
	if err != nil {
		return err
	}
	defer sess.close()
	p, err := sess.loop.Plan(ctx, plan.Options{RefreshOnly: true})
	if err != nil {
		return err
	}
	if err := render(s.Out, p, c.Format, g.colour(s.Out)); err != nil {
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
		p, err := readPlanFile(c.PlanFile)
		if err != nil {
			return err
		}
		return render(s.Out, p, c.Format, g.colour(s.Out))
	}
	ctx := context.Background()
	b, err := g.backend(ctx)
	if err != nil {
		return err
	}
	defer b.Close()
	st, err := b.Read(ctx)
	if err != nil {
		return err
	}
	if c.Format == "json" {
		return writeJSON(s, st)
	}
	return listState(s, b, st)
}

func listState(s Streams, b state.Backend, st *state.State) error {
	if st.Lineage == "" {
		fmt.Fprintf(s.Out, "No recorded state in %s yet: run personactl apply.\n", b.Describe())
		return nil
	}
	fmt.Fprintf(s.Out, "State %s: lineage %s, serial %d, %d personas\n\n", b.Describe(), st.Lineage, st.Serial, len(st.Personas))
	tw := tabwriter.NewWriter(s.Out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EMAIL\tUSER ID\tARCHETYPE\tCADENCE\tAPPLIED")
	for _, p := range st.Personas {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Email, p.UserID, p.Values.Archetype, p.Values.TickCadence, p.AppliedAt.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

func writeJSON(s Streams, v any) error { return writeJSONTo(s.Out, v) }

// writeJSONTo writes v as indented JSON.
func writeJSONTo(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
