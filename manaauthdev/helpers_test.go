package manaauthdev_test

import (
	"encoding/json"
	"testing"

	"github.com/mana/personactl/manaauthdev/devtest"
)

// stores are the two stores every store-dependent test runs against.
var stores = map[string][]devtest.Option{
	"memory":   nil,
	"postgres": {devtest.WithPostgres()},
}

func decode(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
