package adminapi_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mana/personactl/state"
	"github.com/mana/personactl/state/adminapi"
)

// secrets holds every token the tests hand to a client; errText fails a test
// whose error text contains one of them.
var secrets sync.Map

func secret(tok string) string {
	if len(tok) >= 8 { // shorter strings are in ordinary words too
		secrets.Store(tok, true)
	}
	return tok
}

// errText returns err's text after checking that no token leaked into it,
// in any of the forms an error is usually printed.
func errText(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		t.Fatal("want an error, got nil")
	}
	text := err.Error()
	secrets.Range(func(k, _ any) bool {
		tok := k.(string)
		for _, form := range []string{text, strings.ReplaceAll(text, "\n", "")} {
			if strings.Contains(form, tok) {
				t.Errorf("an error shows the token: %s", text)
				return false
			}
		}
		return true
	})
	return text
}

// wantIn checks that text says each of the phrases.
func wantIn(t *testing.T, text string, phrases ...string) {
	t.Helper()
	for _, p := range phrases {
		if !strings.Contains(text, p) {
			t.Errorf("error %q\n  does not say %q", text, p)
		}
	}
}

// newClient builds a client with quick retries, so that tests of retries
// take milliseconds.
func newClient(t *testing.T, opts adminapi.Options) *adminapi.Client {
	t.Helper()
	secret(opts.Token)
	if opts.Retry.Backoff == 0 {
		opts.Retry.Backoff = time.Millisecond
	}
	if opts.Retry.MaxBackoff == 0 {
		opts.Retry.MaxBackoff = 8 * time.Millisecond
	}
	c, err := adminapi.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// ownerOf asks c who holds one address; live, when not nil, are the live
// personas just read, as Reader asks after a full read.
func ownerOf(ctx context.Context, c *adminapi.Client, email string, live []state.LivePersona) (state.OwnerKind, error) {
	if live == nil {
		h, err := c.Reader().AddressOwners(ctx, []string{email})
		return h[email].Kind, err
	}
	h, err := adminapi.AddressOwnerAmong(ctx, c, email, live)
	return h.Kind, err
}
