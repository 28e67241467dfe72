package plan

import (
	"fmt"

	"github.com/mana/personactl/state"
)

// Stale lists why a saved plan no longer fits the current snapshots; empty
// means the plan can be applied exactly as it is. It checks the recorded
// state's lineage and serial, the seed secret, and every change against the
// fresh live read and address checks:
//
//   - an update, a replace or a delete must find the same live persona (the
//     same user id and Fingerprint) it was planned against;
//   - a create must find no live persona at its address, and the address
//     neither taken by a Mana user who is not a persona (in.Taken) nor
//     undetermined (in.Undetermined): the caller fills both for Creates();
//   - a persona recorded although unchanged must still be the same live
//     persona, and a forgotten one must still be gone.
//
// This, not the plan file's checksum, is what protects against an edited
// plan: a change pointed at another address finds no matching live persona.
func (p *Plan) Stale(in Input) []string {
	var why []string
	if p.Workspace != in.Workspace {
		why = append(why, fmt.Sprintf("the plan was made for workspace %s, not %s", orNone(p.Workspace), orNone(in.Workspace)))
	}
	if p.Lineage != in.Lineage || p.Serial != in.Serial {
		why = append(why, fmt.Sprintf("the recorded state changed (lineage %s serial %d when planned, now lineage %s serial %d)", orNone(p.Lineage), p.Serial, orNone(in.Lineage), in.Serial))
	}
	now := make(map[string]*state.LivePersona, len(in.Live))
	for i := range in.Live {
		now[in.Live[i].Values.Email] = &in.Live[i]
	}
	taken, undetermined := set(in.Taken), set(in.Undetermined)
	secretUsed := false
	for i := range p.Changes {
		c := &p.Changes[i]
		if err := c.consistent(); err != nil {
			why = append(why, err.Error())
			continue
		}
		l, fingerprint := now[c.Email], p.LiveFingerprints[c.Email]
		switch c.Action {
		case Update, Delete:
			why = append(why, samePersona(c, fingerprint, l)...)
		case Replace:
			secretUsed = true
			if c.Before != nil || fingerprint != "" {
				why = append(why, samePersona(c, fingerprint, l)...)
				break
			}
			// A replace of a persona that was not live: the user recorded
			// at the address is deleted, then the persona created.
			if l != nil {
				why = append(why, fmt.Sprintf("%s: planned as the replace of a user that was not a live persona, but live persona %s has the address now", c.Email, l.UserID))
			}
			if taken[c.Email] {
				why = append(why, c.Email+" is now taken by a Mana user who is not a persona; the plan cannot be applied")
			}
		case Create:
			secretUsed = true
			switch {
			case l != nil:
				why = append(why, fmt.Sprintf("%s: planned as a create, but live persona %s has the address now", c.Email, l.UserID))
			case fingerprint != "":
				why = append(why, c.Email+": planned as a create, although the plan saw a live persona at the address")
			}
			switch {
			case taken[c.Email]:
				why = append(why, c.Email+" is now taken by a Mana user who is not a persona; creating it would turn that account into a persona")
			case undetermined[c.Email]:
				why = append(why, c.Email+": the users search cannot tell who holds this address now (it answers 500 for any account that has signed in), so it is not created")
			}
		case Forget:
			if l != nil {
				why = append(why, fmt.Sprintf("%s: planned to be forgotten as gone, but live persona %s has the address again", c.Email, l.UserID))
			}
		case NoOp:
			if c.Record {
				why = append(why, samePersona(c, fingerprint, l)...)
			}
		}
	}
	if secretUsed && p.SecretFingerprint != in.SecretFingerprint {
		why = append(why, "the seed secret in effect is not the one the plan was made with, so the passwords of its creates and replaces would not be the ones it records; make the plan again with the secret apply will use")
	}
	return why
}

// samePersona checks that the live persona at c.Email is the one the change
// was planned against.
func samePersona(c *Change, fingerprint string, l *state.LivePersona) []string {
	switch {
	case fingerprint == "":
		return []string{fmt.Sprintf("%s: planned as %s of user %s, but the plan holds no fingerprint of that live persona", c.Email, planned(c.Action), orNone(c.UserID))}
	case l == nil:
		return []string{fmt.Sprintf("%s: planned as %s of live persona %s, but no live persona has the address now (deleted since the plan was made)", c.Email, planned(c.Action), orNone(c.UserID))}
	case l.UserID != c.UserID:
		return []string{fmt.Sprintf("%s: planned as %s of live persona %s, but the live persona at the address is %s now", c.Email, planned(c.Action), orNone(c.UserID), l.UserID)}
	case Fingerprint(l) != fingerprint:
		return []string{fmt.Sprintf("%s: live persona %s changed since the plan was made", c.Email, l.UserID)}
	}
	return nil
}

// planned names a change as the reasons of Stale do.
func planned(a Action) string {
	switch a {
	case Update:
		return "an update"
	case NoOp:
		return "the record"
	}
	return "a " + a.String()
}

// consistent checks what apply relies on in one change: the values it sends
// are for the change's own address, and a write that needs an id has one.
func (c *Change) consistent() error {
	if c.Email == "" {
		return fmt.Errorf("a %s without an address", c.Action)
	}
	if c.After != nil && c.After.Email != c.Email {
		return fmt.Errorf("%s: the values it writes are for another address (%s)", c.Email, c.After.Email)
	}
	if c.Before != nil && c.Before.Email != c.Email {
		return fmt.Errorf("%s: the live values it was planned against are for another address (%s)", c.Email, c.Before.Email)
	}
	switch c.Action {
	case Create, Update, Replace:
		if c.After == nil {
			return fmt.Errorf("%s: a %s without the values to write", c.Email, c.Action)
		}
	}
	switch c.Action {
	case Update, Delete, Replace:
		if c.UserID == "" {
			return fmt.Errorf("%s: a %s without the user id it acts on", c.Email, c.Action)
		}
	}
	if c.Record && c.Before == nil {
		return fmt.Errorf("%s: recorded without the live values to record", c.Email)
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
