package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"
)

// VersionCmd prints the version.
type VersionCmd struct {
	Format string `help:"Output format: text or json." enum:"text,json" default:"text"`
}

// Run writes version, commit and Go version.
func (c *VersionCmd) Run(s Streams) error {
	info, ok := debug.ReadBuildInfo()
	v := readVersion(version, commit, info, ok)
	if c.Format == "json" {
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	_, err := fmt.Fprintln(s.Out, v.String())
	return err
}

// buildVersion is what a personactl binary knows about how it was built.
type buildVersion struct {
	Version    string `json:"version"`
	Commit     string `json:"commit"`
	CommitTime string `json:"commit_time,omitempty"`
	// Modified: the binary was built from a tree with uncommitted changes.
	Modified  bool   `json:"modified"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

// The values of version and commit when the linker stamped nothing.
const (
	unstampedVersion = "dev"
	unstampedCommit  = "none"
)

// readVersion prefers what the linker stamped (make build passes
// -X main.version and -X main.commit) and otherwise takes the module version
// and VCS revision the go command records in every binary it builds inside a
// repository (go build, go install ./cmd/personactl), so that a binary built
// without the Makefile still says which commit it is.
func readVersion(stampedVersion, stampedCommit string, info *debug.BuildInfo, ok bool) buildVersion {
	v := buildVersion{
		Version:   unstampedVersion,
		Commit:    unstampedCommit,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
	if ok && info != nil {
		if info.GoVersion != "" {
			v.GoVersion = info.GoVersion
		}
		// "(devel)" is what older toolchains record for a build without VCS
		// information; it names no version.
		if mv := info.Main.Version; mv != "" && mv != "(devel)" {
			v.Version = mv
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Commit = s.Value
			case "vcs.time":
				v.CommitTime = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	if stampedVersion != "" && stampedVersion != unstampedVersion {
		v.Version = stampedVersion
	}
	if stampedCommit != "" && stampedCommit != unstampedCommit {
		v.Commit = stampedCommit
	}
	return v
}

// String is the one line personactl version prints.
func (v buildVersion) String() string {
	rev := v.Commit
	if v.Modified {
		rev += ", modified"
	}
	return fmt.Sprintf("personactl %s (commit %s, %s %s)", v.Version, rev, v.GoVersion, v.Platform)
}
