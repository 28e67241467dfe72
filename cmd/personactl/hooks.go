package main

import (
	"github.com/mana/personactl/apply"
	"github.com/mana/personactl/state"
)

// hooks let a test break personactl on purpose at a chosen point, to prove
// what a user sees when a bug, a crash or a kill strikes there: in-process
// tests set them directly, and a test build (go build -tags crashtest) sets
// them from its environment. A normal build leaves every hook nil, which
// changes nothing.
type hooks struct {
	wrapWriter  func(apply.Writer) apply.Writer
	wrapBackend func(state.Backend) state.Backend
	wrapLive    func(state.Live) state.Live
}

var testHooks hooks

func (h hooks) writer(w apply.Writer) apply.Writer {
	if h.wrapWriter == nil {
		return w
	}
	return h.wrapWriter(w)
}

func (h hooks) backend(b state.Backend) state.Backend {
	if h.wrapBackend == nil {
		return b
	}
	return h.wrapBackend(b)
}

func (h hooks) live(l state.Live) state.Live {
	if h.wrapLive == nil {
		return l
	}
	return h.wrapLive(l)
}
