package adminapi

import (
	"context"
	"sync"

	"github.com/mana/personactl/state"
)

// Reader is the client as a state.Live. It remembers the last full read, so
// that telling a persona's address from a person's then costs the users
// search, and the detail only for a user the read did not list.
type Reader struct {
	c    *Client
	mu   sync.Mutex
	last []state.LivePersona
}

// Reader returns the client as a state.Live.
func (c *Client) Reader() *Reader { return &Reader{c: c} }

// Personas reads every live persona (see Client.Personas) and remembers them.
func (r *Reader) Personas(ctx context.Context) ([]state.LivePersona, error) {
	live, err := r.c.Personas(ctx)
	if err == nil {
		r.mu.Lock()
		r.last = live
		r.mu.Unlock()
	}
	return live, err
}

// PersonasOf reads the live personas with these addresses alone (see
// Client.PersonasOf). It is no full read, so it is not remembered.
func (r *Reader) PersonasOf(ctx context.Context, emails []string) ([]state.LivePersona, error) {
	return r.c.PersonasOf(ctx, emails)
}

// AddressOwners tells, for each of emails, whether it belongs to nobody,
// to a persona, or to another user (state.Live), so that a create never
// turns a person into a persona; it uses the last full read of live, when
// there was one. It asks about at most Parallelism addresses at once;
// every failed question is reported, and then no answer is returned.
//
// It searches mana-auth's users for each address. Because of a bug in that
// search, a page holding anyone who has ever signed in (has a session)
// answers 500 Internal server error; such an address is reported as
// AddressUndetermined (or AddressPersona if the persona list has it),
// never as free.
//
// The admin API shows no user kind, so a persona row whose user has been
// made a person again in the database still reads as a persona here; only
// a reader of users.kind can tell.
func (r *Reader) AddressOwners(ctx context.Context, emails []string) (map[string]state.Owner, error) {
	r.mu.Lock()
	last := r.last
	r.mu.Unlock()
	return r.c.addressOwners(ctx, emails, last)
}

var (
	_ state.Live        = (*Reader)(nil)
	_ state.PartialLive = (*Reader)(nil)
)
