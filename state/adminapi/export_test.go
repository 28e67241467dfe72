package adminapi

import (
	"context"
	"time"
)

// SetSleep replaces the wait between tries, so that tests see the waits a
// client chose without spending them.
func SetSleep(c *Client, sleep func(ctx context.Context, d time.Duration) error) { c.sleep = sleep }
