package main

import (
	"fmt"
	"runtime/debug"

	"github.com/mana/personactl/apply/report"
	"github.com/mana/personactl/cmd/personactl/internal/buildinfo"
)

// VersionCmd prints the version.
type VersionCmd struct {
	Format string `help:"Output format: text or json." enum:"text,json" default:"text"`
}

// Run writes version, commit and Go version.
func (c *VersionCmd) Run(s Streams) error {
	v := buildVersion()
	if c.Format == "json" {
		return report.JSON(s.Out, v)
	}
	_, err := fmt.Fprintln(s.Out, v.String())
	return err
}

// buildVersion is this binary's version, commit and build details.
func buildVersion() buildinfo.Version {
	info, ok := debug.ReadBuildInfo()
	return buildinfo.Read(version, commit, info, ok)
}
