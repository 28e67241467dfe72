package main

import "github.com/mana/personactl/apply"

// hooks let a test build of personactl (go build -tags crashtest) break
// itself on purpose, to prove what a user sees when personactl has a bug.
// A normal build leaves every hook as the identity.
type hooks struct {
	wrapWriter func(apply.Writer) apply.Writer
}

var testHooks hooks

func (h hooks) writer(w apply.Writer) apply.Writer {
	if h.wrapWriter == nil {
		return w
	}
	return h.wrapWriter(w)
}
