package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/mana/personactl/apply/connect"
	"github.com/mana/personactl/plan"
)

// ShapeFlags shape a new plan; plan takes them, and apply without a plan file.
type ShapeFlags struct {
	Destroy     bool     `help:"Plan the deletion of the personas this catalog and state manage, naming the live ones it leaves."`
	All         bool     `help:"With --destroy: delete every live persona, managed here or not."`
	RefreshOnly bool     `help:"Only drift: what changed outside personactl; an apply only records it in the state."`
	Prune       bool     `help:"Delete live personas that are neither in the catalog nor recorded."`
	Replace     []string `help:"Delete and re-create this persona (the only way to apply a name), in any letter case; repeatable, or several separated by commas. An empty address is refused." placeholder:"EMAIL" sep:"none" predictor:"address"`
	Target      []string `help:"Plan only this persona, in any letter case; repeatable, or several separated by commas. The plan warns that it is partial. An empty address is refused." placeholder:"EMAIL" sep:"none" predictor:"address"`
}

func (f *ShapeFlags) options() plan.Options {
	return plan.Options{Destroy: f.Destroy, All: f.All, RefreshOnly: f.RefreshOnly, Prune: f.Prune, Replace: addresses(f.Replace), Targets: addresses(f.Target)}
}

// Validate refuses an empty or blank --target or --replace, --destroy with
// --prune and --all without --destroy, before anything is read.
func (f *ShapeFlags) Validate() error { return f.options().Check() }

// addresses splits the values of --target, --replace at commas. Kong's own
// splitting drops empty values (--target= gives no address at all, which
// would mean every persona), so those flags take each value whole and are
// split here, keeping the empty addresses for plan.CheckAddresses to refuse.
func addresses(values []string) []string {
	var out []string
	for _, v := range values {
		out = append(out, strings.Split(v, ",")...)
	}
	return out
}

// given reports whether any of the flags was given.
func (f *ShapeFlags) given() bool {
	return f.Destroy || f.All || f.RefreshOnly || f.Prune || len(f.Replace) > 0 || len(f.Target) > 0
}

// PlanCmd shows what apply would change.
type PlanCmd struct {
	Out              string `help:"Write the plan to FILE for a later apply; - writes it to standard output, and the rendering to standard error." placeholder:"FILE" type:"path"`
	DetailedExitcode bool   `help:"Exit 0 for no changes, 2 for changes (with --refresh-only: drift), 1 for errors."`
	Format           string `help:"Output format: text, json, markdown, or github (text, with catalog findings also as GitHub Actions annotations; automatic under GITHUB_ACTIONS=true)." enum:"text,json,markdown,github" default:"text"`
	ShapeFlags
}

// Run reads catalog, state and live, computes and renders the plan. It
// never writes to mana-auth or the state.
func (c *PlanCmd) Run(g *Globals, s Streams) error {
	// With --out=- standard output carries the plan file, so the rendering
	// and any annotation go to standard error.
	view := s.Out
	if c.Out == "-" {
		view = s.Err
	}
	g.github, g.machineOutput = c.Format == "github", c.Format == "json" || c.Format == "markdown" || c.Out == "-"
	if c.Out != "" {
		if _, err := connect.CheckOut(c.Out, g.settings(s).Inputs()); err != nil {
			return err
		}
	}
	ctx := context.Background()
	sess, err := open(ctx, g, s, g.settings(s).PlanNeeds(c.options()))
	if err != nil {
		return err
	}
	defer sess.Close()
	snap, err := sess.Loop.Read(ctx)
	if err != nil {
		return err
	}
	p, err := sess.Loop.Plan(ctx, snap, c.options())
	if err != nil {
		return err
	}
	if err := plan.Render(view, p, c.Format, g.colour(view)); err != nil {
		return err
	}
	if c.Out != "" && len(p.Errors) == 0 {
		if err := connect.SavePlan(c.Out, p, g.settings(s).Inputs(), s.Out); err != nil {
			return err
		}
		if c.Out != "-" {
			fmt.Fprintf(s.Err, "Saved the plan to %s; apply exactly it with: personactl apply %s\n", c.Out, c.Out)
		}
	}
	if len(p.Errors) > 0 {
		return &exitCode{1, errors.New("the plan has errors (above); nothing can be applied until they are fixed")}
	}
	if c.DetailedExitcode && p.Differs() {
		return &exitCode{code: 2}
	}
	return nil
}
