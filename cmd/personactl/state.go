package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mana/personactl/apply/report"
	"github.com/mana/personactl/state"
)

// StateCmd groups the commands that inspect and repair the recorded state.
type StateCmd struct {
	List        StateListCmd        `cmd:"" help:"List the recorded personas."`
	Show        StateShowCmd        `cmd:"" help:"Show one recorded persona."`
	Rm          StateRmCmd          `cmd:"" help:"Forget a persona: drop it from the state, leave it live."`
	Pull        StatePullCmd        `cmd:"" help:"Print the recorded state as JSON."`
	ForceUnlock StateForceUnlockCmd `cmd:"" name:"force-unlock" help:"Remove a lock whose holder is gone."`
}

func withBackend(g *Globals, s Streams, fn func(context.Context, state.Backend) error) error {
	ctx := context.Background()
	b, err := g.settings(s).OpenState(ctx)
	if err != nil {
		return err
	}
	defer b.Close()
	return fn(ctx, b)
}

// withState reads the recorded state and hands it, with where it is, to fn.
func withState(g *Globals, s Streams, fn func(where string, st *state.State) error) error {
	return withBackend(g, s, func(ctx context.Context, b state.Backend) error {
		st, err := b.Read(ctx)
		if err != nil {
			return err
		}
		return fn(b.Describe(), st)
	})
}

// StateListCmd lists the recorded personas.
type StateListCmd struct {
	Format string `help:"Output format: text, or json (docs/output-formats.md)." enum:"text,json" default:"text"`
}

// Run prints one line per recorded persona, or one JSON document.
func (c *StateListCmd) Run(g *Globals, s Streams) error {
	return withState(g, s, func(where string, st *state.State) error {
		if c.Format == "json" {
			return report.StateJSON(s.Out, where, st)
		}
		return report.State(s.Out, where, st)
	})
}

// StateShowCmd shows one recorded persona.
type StateShowCmd struct {
	Email string `arg:"" help:"The persona's address." predictor:"address"`
}

// Run prints the persona's recorded values as JSON.
func (c *StateShowCmd) Run(g *Globals, s Streams) error {
	return withState(g, s, func(where string, st *state.State) error {
		p, ok := st.Find(strings.ToLower(c.Email))
		if !ok {
			return fmt.Errorf("%s is not in the recorded state %s; personactl state list shows what is", c.Email, where)
		}
		return report.JSON(s.Out, p)
	})
}

// StateRmCmd forgets a persona.
type StateRmCmd struct {
	Email []string `arg:"" help:"Addresses to drop from the state." predictor:"address"`
}

// Run drops the personas from the state under the lock; mana-auth is not touched.
func (c *StateRmCmd) Run(g *Globals, s Streams) error {
	return withBackend(g, s, func(ctx context.Context, b state.Backend) error {
		n, st, err := state.Forget(ctx, b, g.LockTimeout, c.Email...)
		if err != nil {
			return err
		}
		fmt.Fprintf(s.Out, "Removed %d persona(s) from the state (serial %d); they stay live and show as unmanaged until the catalog or --prune says otherwise.\n", n, st.Serial)
		return nil
	})
}

// StatePullCmd prints the state.
type StatePullCmd struct{}

// Run writes the recorded state as JSON to standard output.
func (c *StatePullCmd) Run(g *Globals, s Streams) error {
	return withState(g, s, func(_ string, st *state.State) error {
		return report.JSON(s.Out, st)
	})
}

// StateForceUnlockCmd removes a stale lock.
type StateForceUnlockCmd struct {
	LockID string `arg:"" name:"LOCK_ID" help:"The lock ID the refusal named."`
}

// Run removes the lock if its ID matches.
func (c *StateForceUnlockCmd) Run(g *Globals, s Streams) error {
	return withBackend(g, s, func(ctx context.Context, b state.Backend) error {
		if err := b.ForceUnlock(ctx, c.LockID); err != nil {
			return err
		}
		fmt.Fprintf(s.Out, "Lock %s on %s removed at %s.\n", c.LockID, b.Describe(), time.Now().UTC().Format(time.RFC3339))
		return nil
	})
}
