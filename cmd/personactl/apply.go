package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mana/personactl/apply"
	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/plan"
	"github.com/mana/personactl/state"
	"github.com/mana/personactl/state/adminapi"
)

// ApplyCmd makes live personas match the catalog.
type ApplyCmd struct {
	PlanFile    string `arg:"" optional:"" help:"A plan saved with plan --out; applied exactly, or refused when stale." placeholder:"PLANFILE"`
	AutoApprove bool   `help:"Apply without asking for yes."`
	NoRollback  bool   `help:"On a failure keep what was done instead of rolling it back."`
	Format      string `help:"Output format: text, or json (one event per line)." enum:"text,json" default:"text"`
	ShapeFlags
}

// Run applies the plan.
func (c *ApplyCmd) Run(g *Globals, s Streams) error {
	opts := c.options()
	if c.PlanFile != "" && c.given() {
		return errors.New("--destroy, --refresh-only, --prune and --replace shape a new plan, and a saved plan already fixed them; apply the file alone, or make a new plan with those flags")
	}
	return runApply(g, s, "apply", c.PlanFile, c.AutoApprove, c.NoRollback, opts, c.Format)
}

// DestroyCmd deletes every live persona.
type DestroyCmd struct {
	AutoApprove bool   `help:"Destroy without asking for yes."`
	Format      string `help:"Output format: text, or json (one event per line)." enum:"text,json" default:"text"`
}

// Run plans and applies the deletion of every live persona.
func (c *DestroyCmd) Run(g *Globals, s Streams) error {
	return runApply(g, s, "destroy", "", c.AutoApprove, false, plan.Options{Destroy: true}, c.Format)
}

func runApply(g *Globals, s Streams, operation, planFile string, autoApprove, noRollback bool, opts plan.Options, format string) error {
	ctx, stop := interruptible(s)
	defer stop()
	var saved *plan.Plan
	needSecret := !opts.Destroy && !opts.RefreshOnly
	if planFile != "" {
		var err error
		if saved, err = readPlanFile(planFile); err != nil {
			return err
		}
		if saved.Workspace != g.Workspace {
			return fmt.Errorf("saved plan is for workspace %q, not %q; pass --workspace=%s or make a new plan", saved.Workspace, g.Workspace, saved.Workspace)
		}
		sum := saved.Summary()
		needSecret = sum.Create+sum.Update+sum.Replace > 0
	}
	sess, err := open(ctx, g, s, needs{
		catalog:         saved == nil,
		catalogOptional: opts.Destroy,
		secret:          needSecret,
		writes:          true,
	})
	if err != nil {
		return err
	}
	defer sess.close()
	lock, err := sess.backend.Lock(ctx, operation, g.LockTimeout)
	if err != nil {
		return err
	}
	defer lock.Release()
	interrupted, err := reportInterrupted(ctx, sess.backend, s.Err)
	if err != nil {
		return err
	}

	p := saved
	if p != nil {
		why, err := sess.saved(ctx, p)
		if err != nil {
			return err
		}
		if len(why) > 0 {
			return fmt.Errorf("saved plan is stale, nothing was applied: %s; run personactl plan --out=%s again", strings.Join(why, "; "), planFile)
		}
	} else if p, err = sess.plan(ctx, opts); err != nil {
		return err
	}

	jsonOut := format == "json"
	if jsonOut {
		var b bytes.Buffer
		if err := plan.RenderJSON(&b, p); err != nil {
			return err
		}
		fmt.Fprintf(s.Out, "{\"type\":\"plan\",\"plan\":%s}\n", bytes.TrimSpace(b.Bytes()))
	} else if err := plan.RenderText(s.Out, p, plan.TextOptions{Color: g.colour(s.Out)}); err != nil {
		return err
	}
	if len(p.Errors) > 0 {
		return errors.New("the plan has errors (above); nothing was applied")
	}
	if !p.NeedsStateWrite() {
		return closeInterrupted(ctx, lock, interrupted)
	}
	if !autoApprove {
		if err := approve(s, operation); err != nil {
			return err
		}
	}

	progress := apply.TextProgress(s.Out)
	switch {
	case jsonOut:
		progress = apply.JSONProgress(s.Out)
	case isTerminal(s.Out) && p.Writes() > 20:
		progress = apply.LiveProgress(s.Out)
	}
	rec := &recorder{lock: lock, base: sess.recorded, now: time.Now}
	res, runErr := apply.Run(ctx, p, sess.input.Recorded, writer{sess.client}, rec, apply.Options{
		Operation:   operation,
		Parallelism: g.Parallelism,
		NoRollback:  noRollback,
		Password:    sess.secret.Password,
		Check: func(per catalog.Persona, password string) error {
			return upsertRequest(per, password).Check()
		},
		Events: progress,
	})
	if runErr != nil {
		return runErr
	}
	if err := closeInterrupted(ctx, lock, interrupted); err != nil {
		return err
	}
	summary := fmt.Sprintf("Apply complete! Personas: %d created, %d updated, %d deleted.", res.Created, res.Updated, res.Deleted)
	if operation == "destroy" {
		summary = fmt.Sprintf("Destroy complete! Personas: %d deleted.", res.Deleted)
	}
	if res.Replaced > 0 {
		summary = strings.TrimSuffix(summary, ".") + fmt.Sprintf(", %d replaced.", res.Replaced)
	}
	if jsonOut {
		fmt.Fprintf(s.Out, "{\"type\":\"summary\",\"created\":%d,\"updated\":%d,\"deleted\":%d,\"replaced\":%d,\"forgotten\":%d}\n", res.Created, res.Updated, res.Deleted, res.Replaced, res.Forgotten)
		return nil
	}
	fmt.Fprintln(s.Out, "\n"+summary)
	return nil
}

// interruptible returns a context cancelled by the first Ctrl-C or SIGTERM:
// no new step starts, the steps in flight finish and the run rolls back or
// records what it did. The signal is then let go, so a second Ctrl-C ends
// the process at once (the next run reports it as interrupted).
func interruptible(s Streams) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
			signal.Stop(sigs)
			fmt.Fprintln(s.Err, "\nInterrupted: no new step starts; the steps in flight finish, then this run rolls back or records what it did. Press Ctrl-C again to stop at once.")
			cancel()
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}

// approve asks for "yes" on a terminal, and refuses off one.
func approve(s Streams, operation string) error {
	if !isTerminal(s.In) {
		return fmt.Errorf("refusing to %s without confirmation: standard input is not a terminal; review the plan and pass --auto-approve", operation)
	}
	fmt.Fprintf(s.Out, "\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ")
	answer, _ := bufio.NewReader(s.In).ReadString('\n')
	if strings.TrimSpace(answer) != "yes" {
		return fmt.Errorf("%s cancelled: nothing was changed", operation)
	}
	return nil
}

// closeInterrupted closes the journal entries of earlier runs once this run
// has converged live and state.
func closeInterrupted(ctx context.Context, lock state.Lock, entries []state.JournalEntry) error {
	for _, e := range entries {
		if err := lock.CloseJournal(ctx, e.ID); err != nil {
			return fmt.Errorf("closing the interrupted run's journal entry %s: %w", e.ID, err)
		}
	}
	return nil
}

func upsertRequest(p catalog.Persona, password string) adminapi.UpsertRequest {
	mix := p.ModuleMix
	if mix == nil {
		mix = map[string]float64{}
	}
	return adminapi.UpsertRequest{Email: p.Email, Name: p.Name, Password: password, Archetype: p.Archetype, SystemPrompt: p.SystemPrompt, ModuleMix: mix, TickCadence: p.TickCadence}
}

// writer adapts the admin API client to apply.Writer.
type writer struct{ c *adminapi.Client }

func (w writer) Upsert(ctx context.Context, p catalog.Persona, password string) (string, error) {
	return w.c.Upsert(ctx, upsertRequest(p, password))
}

func (w writer) Delete(ctx context.Context, userID string) error {
	err := w.c.Delete(ctx, userID)
	if errors.Is(err, adminapi.ErrNotFound) {
		return nil // already gone: what a delete wants
	}
	return err
}

func (w writer) FindPersona(ctx context.Context, email string) (string, bool, error) {
	return w.c.PersonaID(ctx, email)
}

// recorder adapts a held state lock to apply.Recorder.
type recorder struct {
	lock state.Lock
	base *state.State
	now  func() time.Time
	id   string
}

func (r *recorder) Open(ctx context.Context, e apply.Entry) error {
	var b bytes.Buffer
	if err := plan.RenderJSON(&b, e.Plan); err != nil {
		return err
	}
	r.id = state.NewID()
	entry := state.JournalEntry{ID: r.id, Operation: e.Operation, Started: r.now().UTC(), Plan: b.Bytes()}
	for _, before := range e.Before {
		entry.Before = append(entry.Before, state.LivePersona{UserID: before.UserID, Values: before.Values})
	}
	return r.lock.OpenJournal(ctx, entry)
}

func (r *recorder) Step(ctx context.Context, s apply.Step) error {
	step := state.JournalStep{Email: s.Email, Action: s.Action, UserID: s.UserID, Outcome: state.StepDone, Finished: r.now().UTC()}
	if s.Err != nil {
		step.Outcome, step.Error = state.StepFailed, s.Err.Error()
	}
	return r.lock.RecordStep(ctx, r.id, step)
}

func (r *recorder) Commit(ctx context.Context, recorded []state.RecordedPersona) error {
	return r.lock.Write(ctx, r.base.Next(recorded, r.now()))
}

func (r *recorder) Close(ctx context.Context) error {
	return r.lock.CloseJournal(ctx, r.id)
}
