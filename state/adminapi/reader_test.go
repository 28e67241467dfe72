package adminapi

import (
	"context"
	"strings"
	"testing"
)

func TestMessagesNeverShowAPasswordInTheURL(t *testing.T) {
	c, err := New(Options{BaseURL: "http://user:hunter2@127.0.0.1:1", Token: "t", MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Reader().Personas(context.Background())
	if err == nil || strings.Contains(err.Error(), "hunter2") || strings.Contains(c.BaseURL(), "hunter2") {
		t.Errorf("err = %v, BaseURL = %s; the URL's password must never be shown", err, c.BaseURL())
	}
}
