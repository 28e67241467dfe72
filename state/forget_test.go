package state_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/state"
	"github.com/mana/personactl/state/file"
)

func TestForget(t *testing.T) {
	ctx := context.Background()
	b, err := file.New(filepath.Join(t.TempDir(), "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	lock, err := b.Lock(ctx, "seed", 0)
	if err != nil {
		t.Fatal(err)
	}
	st := &state.State{}
	for _, e := range []string{"a@mana.test", "b@mana.test", "c@mana.test"} {
		st.Personas = append(st.Personas, state.RecordedPersona{Email: e, UserID: "u-" + e, Values: catalog.Persona{Email: e}})
	}
	if err := lock.Write(ctx, st); err != nil {
		t.Fatal(err)
	}

	// While another run holds the lock, nothing is forgotten.
	var locked *state.LockedError
	if _, _, err := state.Forget(ctx, b, 0, "a@mana.test"); !errors.As(err, &locked) {
		t.Fatalf("Forget under another's lock: %v, want *LockedError", err)
	}
	lock.Release()

	_, _, err = state.Forget(ctx, b, 0, "a@mana.test", "nobody@mana.test")
	if err == nil || !strings.Contains(err.Error(), "nobody@mana.test is not in the recorded state") || !strings.Contains(err.Error(), "nothing was removed") {
		t.Fatalf("Forget of an unrecorded address: %v", err)
	}
	if got, _ := b.Read(ctx); len(got.Personas) != 3 || got.Serial != 1 {
		t.Fatalf("a refused Forget wrote the state: %d personas, serial %d", len(got.Personas), got.Serial)
	}

	n, written, err := state.Forget(ctx, b, 0, "A@Mana.Test", "c@mana.test")
	if err != nil || n != 2 || written.Serial != 2 {
		t.Fatalf("Forget = %d, serial %v, %v; want 2 forgotten at serial 2", n, written, err)
	}
	got, err := b.Read(ctx)
	if err != nil || len(got.Personas) != 1 || got.Personas[0].Email != "b@mana.test" || got.Serial != 2 {
		t.Fatalf("after Forget the state holds %+v (%v), want b alone at serial 2", got, err)
	}
	if _, err := b.Lock(ctx, "next", 0); err != nil {
		t.Errorf("Forget left the lock held: %v", err)
	}
}
