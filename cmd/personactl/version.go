package main

import (
	"fmt"
	"runtime"
)

// VersionCmd prints the version.
type VersionCmd struct{}

// Run writes version, commit and Go version.
func (c *VersionCmd) Run(s Streams) error {
	_, err := fmt.Fprintf(s.Out, "personactl %s (commit %s, %s %s/%s)\n", version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return err
}
