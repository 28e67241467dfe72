package adminapi

import (
	"context"
	"errors"

	"github.com/mana/personactl/catalog"
)

// Writer is the client as apply uses it to write: a persona and its
// password in, the wire request built here, at the adapter's edge.
type Writer struct{ c *Client }

// Writer returns the client as a writer of personas.
func (c *Client) Writer() Writer { return Writer{c: c} }

// RequestFor is the upsert request that makes mana-auth hold p with password.
func RequestFor(p catalog.Persona, password string) UpsertRequest {
	mix := p.ModuleMix
	if mix == nil {
		mix = map[string]float64{}
	}
	return UpsertRequest{Email: p.Email, Name: p.Name, Password: password, Archetype: p.Archetype, SystemPrompt: p.SystemPrompt, ModuleMix: mix, TickCadence: p.TickCadence}
}

// CheckUpsert checks the request that would write p against mana-auth's
// own rules, before anything is sent.
func CheckUpsert(p catalog.Persona, password string) error {
	return RequestFor(p, password).Check()
}

// Upsert creates or updates p and returns its user id.
func (w Writer) Upsert(ctx context.Context, p catalog.Persona, password string) (string, error) {
	return w.c.Upsert(ctx, RequestFor(p, password))
}

// Delete hard-deletes the persona; one that is already gone is not an error.
func (w Writer) Delete(ctx context.Context, userID string) error {
	err := w.c.Delete(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return nil // already gone: what a delete wants
	}
	return err
}

// FindPersona returns the user id of the live persona with email, if any.
func (w Writer) FindPersona(ctx context.Context, email string) (string, bool, error) {
	return w.c.PersonaID(ctx, email)
}
