package main

import "github.com/mana/personactl/cmd/personactl/internal/faults"

// testHooks let a test break personactl on purpose at a chosen point: an
// in-process test sets them directly, a test build (-tags crashtest) from
// its environment. A normal build leaves them zero, which changes nothing.
var testHooks faults.Hooks
