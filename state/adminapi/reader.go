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

// AddressOwner tells who holds email, using the last read when there was one.
func (r *Reader) AddressOwner(ctx context.Context, email string) (state.AddressOwner, error) {
	r.mu.Lock()
	last := r.last
	r.mu.Unlock()
	if last == nil {
		return r.c.AddressOwner(ctx, email)
	}
	return r.c.AddressOwnerAmong(ctx, email, last)
}

// AddressHolder tells who holds email and which user, using the last read
// when there was one.
func (r *Reader) AddressHolder(ctx context.Context, email string) (state.Holder, error) {
	r.mu.Lock()
	last := r.last
	r.mu.Unlock()
	if last == nil {
		return r.c.addressHolder(ctx, email, nil)
	}
	return r.c.AddressHolderAmong(ctx, email, last)
}

var (
	_ state.Live        = (*Reader)(nil)
	_ state.HolderLive  = (*Reader)(nil)
	_ state.PartialLive = (*Reader)(nil)
)
