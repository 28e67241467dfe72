//go:build crashtest

package main

import (
	"context"
	"os"

	"github.com/mana/personactl/apply"
	"github.com/mana/personactl/catalog"
)

// With -tags crashtest and PERSONACTL_CRASHTEST=step, every upsert panics
// inside apply's worker goroutine, as a bug there would.
func init() {
	if os.Getenv("PERSONACTL_CRASHTEST") == "step" {
		testHooks.wrapWriter = func(w apply.Writer) apply.Writer { return panickingWriter{w} }
	}
}

type panickingWriter struct{ apply.Writer }

func (panickingWriter) Upsert(context.Context, catalog.Persona, string) (string, error) {
	panic("forced by PERSONACTL_CRASHTEST=step")
}
