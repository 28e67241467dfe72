package plan

import (
	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/state"
)

// planDestroy deletes a live persona this setup manages (it is in the
// catalog or the recorded state), or with all any live persona. run is the
// interrupted run that deleted a recorded persona, if one did. It reports
// whether it left a live persona alone.
func planDestroy(c *Change, d *catalog.Persona, r *state.RecordedPersona, l *state.LivePersona, all bool, run string) (left bool) {
	switch {
	case l != nil && (d != nil || r != nil || all):
		c.Action = Delete
		c.History = history(l)
		c.NotInCatalog = d == nil
	case l != nil:
		return true
	case r != nil:
		c.Action = Forget
		c.Reasons = append(c.Reasons, Finding{Code: ReasonGone, Run: run})
	}
	return false
}

// destroyNotes say what a destroy without --all leaves out: the catalog
// that is not there, and the live personas this setup does not manage.
func (cx *computer) destroyNotes() {
	p := cx.p
	if path := cx.in.MissingCatalog; path != "" {
		p.Notes = append(p.Notes, Finding{Code: CodeCatalogMissing, Catalog: path})
	}
	if len(cx.left) > 0 {
		p.Notes = append(p.Notes, Finding{Code: CodeUnmanagedLeft, Emails: cx.left})
	}
}
