package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mana/personactl/apply"
	"github.com/mana/personactl/apply/connect"
	"github.com/mana/personactl/apply/reconcile"
	"github.com/mana/personactl/apply/report"
	"github.com/mana/personactl/plan"
)

// ApplyCmd makes live personas match the catalog.
type ApplyCmd struct {
	PlanFile string `arg:"" optional:"" help:"A plan saved with plan --out; applied exactly, without asking (it was reviewed), or refused when stale." placeholder:"PLANFILE"`
	RunFlags
	NoRollback   bool   `help:"On a failure keep what was done instead of rolling it back."`
	ExpectDigest string `help:"Apply only a plan whose changes digest is this one (the digest the reviewed plan showed); any other is refused before a write." placeholder:"SHA256"`
	ExpectPlan   string `help:"Apply only a plan whose writes are those of this saved plan (plan --out), and say how they differ otherwise." placeholder:"FILE" type:"existingfile"`
	Verify       bool   `help:"After a successful apply, log in as every persona it created or replaced, as the runner does; one that cannot is an error."`
	ShapeFlags
}

// Run applies the plan.
func (c *ApplyCmd) Run(g *Globals, s Streams) error {
	if c.PlanFile != "" && c.given() {
		return errors.New("--destroy, --all, --refresh-only, --prune, --replace and --target shape a new plan, and a saved plan already fixed them; apply the file alone, or make a new plan with those flags")
	}
	r := applyRun{operation: "apply", planFile: c.PlanFile, flags: c.RunFlags, noRollback: c.NoRollback, verify: c.Verify, options: c.options(), expectDigest: c.ExpectDigest}
	switch {
	case c.ExpectDigest != "" && c.ExpectPlan != "":
		return errors.New("--expect-digest and --expect-plan both name the reviewed plan; give one")
	case c.ExpectDigest != "" && !isDigest(c.ExpectDigest):
		return fmt.Errorf("--expect-digest=%q is not a changes digest (64 hexadecimal digits, as plan shows after \"Changes digest:\"); copy it from the reviewed plan", c.ExpectDigest)
	case c.ExpectPlan != "":
		reviewed, err := connect.LoadPlan(c.ExpectPlan)
		if err != nil {
			return err
		}
		r.reviewed, r.expectDigest = reviewed, reviewed.ChangesDigest()
	}
	return runApply(g, s, r)
}

// DestroyCmd deletes the personas this setup manages, or with --all every
// live persona.
type DestroyCmd struct {
	RunFlags
	All    bool     `help:"Delete every live persona, managed here or not, as the old cleanup script did."`
	Target []string `help:"Destroy only this persona, in any letter case; repeatable, or several separated by commas. The plan warns that it is partial. An empty address is refused." placeholder:"EMAIL" sep:"none" predictor:"address"`
}

func (c *DestroyCmd) options() plan.Options {
	return plan.Options{Destroy: true, All: c.All, Targets: addresses(c.Target)}
}

// Validate refuses an empty or blank --target before anything is read.
func (c *DestroyCmd) Validate() error { return c.options().Check() }

// Run plans and applies the deletion.
func (c *DestroyCmd) Run(g *Globals, s Streams) error {
	return runApply(g, s, applyRun{operation: "destroy", flags: c.RunFlags, options: c.options()})
}

// RunFlags are the flags apply and destroy share.
type RunFlags struct {
	AutoApprove       bool   `help:"Apply without asking for yes."`
	MaxDeletes        int    `help:"Refuse a plan that deletes more than N personas (a replace counts as a delete); -1: no limit (another negative is refused)." default:"-1" placeholder:"N"`
	AllowDeleteActive bool   `help:"Allow deleting personas active in the last 24 hours."`
	Format            string `help:"Output format: text, or json (one JSON object per line: the plan, then one event per step, then the summary)." enum:"text,json" default:"text"`
}

// Validate refuses a negative --max-deletes other than -1 before anything
// is read: it would turn the guard off.
func (f *RunFlags) Validate() error {
	if f.MaxDeletes < -1 {
		return fmt.Errorf("--max-deletes=%d: give the most personas the run may delete (0 refuses any delete), or -1 for no limit", f.MaxDeletes)
	}
	return nil
}

// applyRun is one apply or destroy as the command line asked for it.
type applyRun struct {
	operation  string
	planFile   string
	flags      RunFlags
	noRollback bool
	verify     bool
	options    plan.Options
	// expectDigest and reviewed: the plan that was reviewed (apply
	// --expect-digest, --expect-plan).
	expectDigest string
	reviewed     *plan.Plan
}

// isDigest reports whether s is a SHA-256 in lowercase hexadecimal.
func isDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

func runApply(g *Globals, s Streams, r applyRun) error {
	stop := connect.Interruptible(s.Err)
	defer stop.Release()
	ctx := stop.Context()
	s.Out = stop.Watch(s.Out)
	err := applyOrDestroy(ctx, g, s, r)
	var ae *apply.Error
	switch {
	case errors.As(err, &ae) && ae.Interrupted && len(ae.Failures) == 0:
		// The one line an interrupted run ends with is not an error.
		fmt.Fprintln(s.Err, ae.Outcome)
		return &exitCode{code: 1}
	case err != nil && stop.Interrupted() && ae == nil:
		// Stopped before the first write: whatever the reads said, it
		// was the interrupt.
		fmt.Fprintln(s.Err, "Interrupted: nothing was changed; run personactl apply again, or personactl plan to review")
		return &exitCode{code: 1}
	}
	return err
}

func applyOrDestroy(ctx context.Context, g *Globals, s Streams, r applyRun) error {
	var saved *plan.Plan
	if r.planFile != "" {
		var err error
		if saved, err = connect.LoadPlan(r.planFile); err != nil {
			return err
		}
	}
	sess, err := open(ctx, g, s, connect.ApplyNeeds(saved, r.options))
	if err != nil {
		return err
	}
	defer sess.Close()

	jsonOut := r.flags.Format == "json"
	// Progress reaches standard output ten times a second rather than a
	// write per line: two lines per step cost more than the step itself.
	stepsOut, flushSteps := apply.Batched(s.Out, 100*time.Millisecond)
	defer flushSteps()
	out, err := sess.Loop.Apply(ctx, reconcile.Request{
		Operation:    r.operation,
		Saved:        saved,
		Options:      r.options,
		LockTimeout:  g.LockTimeout,
		Writer:       testHooks.WrapWriter(sess.Client.Writer()),
		TokenExpiry:  sess.TokenExpiry(),
		Show:         func(p *plan.Plan) error { return showPlan(s, g, p, jsonOut) },
		ExpectDigest: r.expectDigest,
		Reviewed:     r.reviewed,
		Guards:       plan.Guards{MaxDeletes: r.flags.MaxDeletes, Limit: r.flags.MaxDeletes >= 0, AllowDeleteActive: r.flags.AllowDeleteActive},
		Approve: func(p *plan.Plan) error {
			if saved != nil || r.flags.AutoApprove {
				return nil // a saved plan is the approval: it was reviewed when it was made
			}
			return report.Approve(ctx, s.In, s.Out, r.operation, p, isTerminal(s.In))
		},
		Run: sess.Writes(r.noRollback, apply.Progress(stepsOut, jsonOut, isTerminal(s.Out))),
	})
	flushSteps() // before the summary or the error; like every line printed, its failure is not the run's
	var stale *reconcile.StaleError
	if errors.As(err, &stale) {
		return fmt.Errorf("%w; run personactl plan --out=%s again", err, r.planFile)
	}
	if err != nil {
		return err
	}
	res := out.Result
	if r.verify {
		if err := sess.Loop.VerifyApplied(ctx, sess.Client, res); err != nil {
			return err
		}
	}
	if !jsonOut && !out.Plan.NeedsStateWrite() {
		return nil
	}
	return report.Applied(s.Out, r.operation, res, jsonOut)
}

// showPlan prints the plan before it is applied: as text, or with
// --format=json as the first JSON line.
func showPlan(s Streams, g *Globals, p *plan.Plan, jsonOut bool) error {
	if jsonOut {
		return report.PlanLine(s.Out, p)
	}
	return plan.RenderText(s.Out, p, plan.TextOptions{Color: g.colour(s.Out)})
}
