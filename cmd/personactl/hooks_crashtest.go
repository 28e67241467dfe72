//go:build crashtest

package main

import (
	"fmt"
	"os"

	"github.com/mana/personactl/cmd/personactl/internal/faults"
)

// A test build (go build -tags crashtest) breaks personactl on purpose, as
// its environment says (see faults.FromEnv); without those variables it
// behaves as a normal build.
func init() {
	h, err := faults.FromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "crashtest: %v\n", err)
		os.Exit(3)
	}
	testHooks = h
}
