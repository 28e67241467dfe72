package plan

import (
	"fmt"
	"strings"
	"time"

	"github.com/mana/personactl/internal/failure"
	"github.com/mana/personactl/internal/neutral"
)

// ActiveWithin is how recently a persona must have been active for a delete
// of it to need --allow-delete-active.
const ActiveWithin = 24 * time.Hour

// Guards are the guard rails of apply and destroy, in the spirit of
// Terraform's prevent_destroy. The zero value allows any number of deletes
// and refuses every delete of a persona that was ever active (a zero Now
// makes every last activity recent): callers set Now.
type Guards struct {
	// MaxDeletes is the most personas the plan may delete, a replace
	// counting as a delete; only when Limit is set (--max-deletes given).
	MaxDeletes int
	Limit      bool
	// AllowDeleteActive allows deleting personas active within ActiveWithin
	// of Now (--allow-delete-active).
	AllowDeleteActive bool
	// Now is the time "active in the last 24 hours" is measured from.
	Now time.Time
}

// CheckGuards refuses a plan that deletes (or replaces) more personas than
// g.MaxDeletes, or that deletes a persona active in the last 24 hours
// without g.AllowDeleteActive. Every refusal names each persona concerned
// and the flag that allows it; both are reported together. It is meant to
// run before the first write, for a new plan and a saved one alike.
func (p *Plan) CheckGuards(g Guards) error {
	var deletes, active []string
	for _, c := range p.Changes {
		if c.Action != Delete && c.Action != Replace {
			continue
		}
		what := neutral.Text(c.Email) // a live address may hold anything
		if c.Action == Replace {
			what += " (replaced)"
		}
		deletes = append(deletes, what)
		if h := c.History; h != nil && h.LastActiveAt != nil && g.Now.Sub(*h.LastActiveAt) < ActiveWithin {
			active = append(active, fmt.Sprintf("%s (last active %s, %s)", what, h.LastActiveAt.UTC().Format("2006-01-02 15:04 UTC"), ago(g.Now.Sub(*h.LastActiveAt))))
		}
	}
	var errs []error
	if g.Limit && len(deletes) > g.MaxDeletes {
		errs = append(errs, fmt.Errorf("the plan deletes %s (a replace counts as a delete), more than --max-deletes=%d allows: %s; if every one of them should go, pass --max-deletes=%d, or --target fewer personas",
			count(len(deletes), "persona", "personas"), g.MaxDeletes, strings.Join(deletes, ", "), len(deletes)))
	}
	if len(active) > 0 && !g.AllowDeleteActive {
		errs = append(errs, fmt.Errorf("the plan deletes %s active in the last 24 hours: %s; pass --allow-delete-active to delete %s anyway",
			count(len(active), "persona", "personas"), strings.Join(active, ", "), pick(len(active), "it", "them")))
	}
	return failure.Join(errs...)
}

// ago says how long ago a moment was, to the minute.
func ago(d time.Duration) string {
	if d < 0 {
		return "after the current time"
	}
	d = d.Round(time.Minute)
	if d < time.Minute {
		return "just now"
	}
	h, m := int(d.Hours()), int(d.Minutes())%60
	switch {
	case h == 0:
		return fmt.Sprintf("%dm ago", m)
	case m == 0:
		return fmt.Sprintf("%dh ago", h)
	}
	return fmt.Sprintf("%dh%02dm ago", h, m)
}
