package adminapi_test

import (
	"context"
	"encoding/json"
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

// TestCatalogSizeLimitIsTheUpsertBody: the catalog's limit on a persona
// (catalog.MaxUpsertBody) is on the very body this client sends, escaping
// and password included, to the byte.
func TestCatalogSizeLimitIsTheUpsertBody(t *testing.T) {
	p := catalog.Persona{Name: "Wanda <3", Email: "persona.wanda@mana.test", Archetype: "writer", ModuleMix: map[string]float64{"todo": 0.75, "journal": 0.25}, TickCadence: "weekdays"}
	password := testSecret.Password(p.Email)
	empty, err := json.Marshal(adminapi.RequestFor(p, password))
	if err != nil {
		t.Fatal(err)
	}
	over := func(bodySize int) bool {
		q := p
		q.SystemPrompt = strings.Repeat("&", (bodySize-len(empty))/6) + strings.Repeat("x", (bodySize-len(empty))%6)
		body, err := json.Marshal(adminapi.RequestFor(q, password))
		if err != nil || len(body) != bodySize {
			t.Fatalf("a body of %d bytes, want %d: %v", len(body), bodySize, err)
		}
		for _, why := range catalog.CheckExportable(q) {
			if strings.Contains(why, "1 MiB") {
				return true
			}
		}
		return false
	}
	if over(catalog.MaxUpsertBody) {
		t.Errorf("a persona whose body is exactly %d bytes is refused", catalog.MaxUpsertBody)
	}
	if !over(catalog.MaxUpsertBody + 1) {
		t.Errorf("a persona whose body is %d bytes passes", catalog.MaxUpsertBody+1)
	}
}
