package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/mana/personactl/catalog"
)

// digestEntry is what ChangesDigest hashes of one change: what it does, to
// which address and user, and the values it writes.
type digestEntry struct {
	Action Action           `json:"action"`
	Email  string           `json:"email"`
	UserID string           `json:"user_id,omitempty"`
	Fields []catalog.Field  `json:"fields,omitempty"`
	After  *catalog.Persona `json:"after,omitempty"`
}

// ChangesDigest is the SHA-256 of the plan's writes alone: for each
// create, update, replace and delete, in address order, its action, its
// address, the user it deletes (delete, replace), the fields it changes
// (update) and the values it writes. Times, notes, drift, forgets and
// state-only records are left out, so two plans that would make the same
// writes have the same digest: the one a PR comment shows is the one
// `apply --expect-digest` checks before it writes.
func (p *Plan) ChangesDigest() string {
	entries := []digestEntry{}
	for _, c := range p.Changes {
		if !c.Action.Writes() {
			continue
		}
		e := digestEntry{Action: c.Action, Email: c.Email}
		switch c.Action {
		case Create:
			e.After = c.After
		case Update:
			e.UserID, e.After = c.UserID, c.After
			for _, f := range c.Fields {
				if f.NotApplied == "" {
					e.Fields = append(e.Fields, f.Field)
				}
			}
		case Replace:
			e.UserID, e.After = c.UserID, c.After
		case Delete:
			e.UserID = c.UserID
		}
		entries = append(entries, e)
	}
	b, err := json.Marshal(entries)
	if err != nil {
		panic("plan: digest: " + err.Error()) // plain strings and finite floats always marshal
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// DigestDifference says how plan p's writes differ from reviewed's, one
// line per address, for a refusal of a plan that is not the one reviewed.
func DigestDifference(reviewed, p *Plan) []string {
	type write struct {
		action Action
		digest string
	}
	writes := func(pl *Plan) map[string]write {
		m := map[string]write{}
		for _, c := range pl.Changes {
			if c.Action.Writes() {
				one := &Plan{Changes: []Change{c}}
				m[c.Email] = write{c.Action, one.ChangesDigest()}
			}
		}
		return m
	}
	was, now := writes(reviewed), writes(p)
	var out []string
	for _, c := range p.Changes {
		n, ok := now[c.Email]
		if !ok {
			continue
		}
		switch w, reviewed := was[c.Email]; {
		case !reviewed:
			out = append(out, fmt.Sprintf("%s: %s, not in the reviewed plan", c.Email, n.action))
		case w.action != n.action:
			out = append(out, fmt.Sprintf("%s: %s, reviewed as %s", c.Email, n.action, w.action))
		case w.digest != n.digest:
			out = append(out, fmt.Sprintf("%s: %s with other values or another user than reviewed", c.Email, n.action))
		}
	}
	for _, c := range reviewed.Changes {
		if w, ok := was[c.Email]; ok {
			if _, still := now[c.Email]; !still {
				out = append(out, fmt.Sprintf("%s: reviewed as %s, not in this plan", c.Email, w.action))
			}
		}
	}
	return out
}
