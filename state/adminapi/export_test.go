package adminapi

import (
	"context"
	"time"

	"github.com/mana/personactl/state"
)

// SetSleep replaces the wait between tries, so that tests see the waits a
// client chose without spending them.
func SetSleep(c *Client, sleep func(ctx context.Context, d time.Duration) error) { c.sleep = sleep }

// AddressOwnerAmong asks who holds email as Reader does after a full read
// of live.
func AddressOwnerAmong(ctx context.Context, c *Client, email string, live []state.LivePersona) (state.Owner, error) {
	h, err := c.addressOwners(ctx, []string{email}, live)
	return h[email], err
}
