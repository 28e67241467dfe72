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

// AddressHolders tells who holds each of emails and which user, using the
// last read when there was one.
func (r *Reader) AddressHolders(ctx context.Context, emails []string) (map[string]state.Holder, error) {
	r.mu.Lock()
	last := r.last
	r.mu.Unlock()
	return r.c.addressHolders(ctx, emails, last)
}

var (
	_ state.Live        = (*Reader)(nil)
	_ state.PartialLive = (*Reader)(nil)
)
