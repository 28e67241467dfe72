package adminapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/state/adminapi"
)

// TestWriter: the writer apply uses creates a persona from catalog values,
// finds it by email, treats deleting one that is already gone as done, and
// its check refuses what mana-auth would refuse before anything is sent.
func TestWriter(t *testing.T) {
	inst := start(t)
	w := adminClient(t, inst, adminapi.Options{}).Writer()
	ctx := context.Background()
	p := catalog.Persona{Name: "Wanda", Email: "persona.wanda@mana.test", Archetype: "writer", SystemPrompt: "Du bist Wanda und schreibst jeden Tag.", TickCadence: "weekdays"}
	password := testSecret.Password(p.Email)

	if err := adminapi.CheckUpsert(p, password); err != nil {
		t.Fatalf("a valid persona fails the check: %v", err)
	}
	if err := adminapi.CheckUpsert(p, "short"); err == nil || !strings.Contains(err.Error(), "password") {
		t.Errorf("a short password passes the check: %v", err)
	}
	id, err := w.Upsert(ctx, p, password) // a nil moduleMix is sent as {}
	if err != nil || id == "" {
		t.Fatalf("Upsert: %q, %v", id, err)
	}
	found, ok, err := w.FindPersona(ctx, p.Email)
	if err != nil || !ok || found != id {
		t.Errorf("FindPersona = %q, %v, %v; want %s", found, ok, err, id)
	}
	for i := range 2 {
		if err := w.Delete(ctx, id); err != nil {
			t.Errorf("delete %d: %v; a persona already gone is not an error", i+1, err)
		}
	}
	if _, ok, err := w.FindPersona(ctx, p.Email); ok || err != nil {
		t.Errorf("after the delete FindPersona = %v, %v", ok, err)
	}
}
