package adminapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mana/personactl/state"
	"github.com/mana/personactl/state/adminapi"
)

func TestMessagesNeverShowAPasswordInTheURL(t *testing.T) {
	c, err := adminapi.New(adminapi.Options{BaseURL: "http://user:hunter2@127.0.0.1:1", Token: "t", Retry: adminapi.RetryBudget{Attempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Reader().Personas(context.Background())
	if err == nil || strings.Contains(err.Error(), "hunter2") || strings.Contains(c.BaseURL(), "hunter2") {
		t.Errorf("err = %v, BaseURL = %s; the URL's password must never be shown", err, c.BaseURL())
	}
}

// TestUsersSearchOfAnotherShapeIsNeverFree: a gateway's answer, or a changed
// API, must not let a person's address pass as free.
func TestUsersSearchOfAnotherShapeIsNeverFree(t *testing.T) {
	for _, body := range []string{`{}`, `{"users":null,"total":0}`, `{"error":"x"}`, `{"data":[]}`, `{"users":[]}`} {
		f := &fakeAdmin{bodies: map[string]string{"/api/v1/admin/users": body}}
		c, err := adminapi.New(adminapi.Options{BaseURL: serve(t, f), Token: "t", Retry: adminapi.RetryBudget{Attempts: 1}})
		if err != nil {
			t.Fatal(err)
		}
		owners, err := c.Reader().AddressOwners(context.Background(), []string{"person@example.test"})
		if err == nil || owners != nil {
			t.Errorf("users search answering %s: %v, err %v; want an error, never free", body, owners, err)
		}
		c.Close()
	}
	f := &fakeAdmin{bodies: map[string]string{"/api/v1/admin/users": `{"users":[],"total":0,"page":1,"limit":20}`}}
	c, _ := adminapi.New(adminapi.Options{BaseURL: serve(t, f), Token: "t", Retry: adminapi.RetryBudget{Attempts: 1}})
	defer c.Close()
	if owner, err := ownerOf(context.Background(), c, "nobody@mana.test", nil); err != nil || owner != state.AddressFree {
		t.Errorf("a well-formed empty answer: owner %v, err %v; want free", owner, err)
	}
}
