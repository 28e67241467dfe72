// Package buildinfo says which personactl a binary is: the version and
// commit the linker stamped, or else what the go command recorded.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version is what a personactl binary knows about how it was built.
type Version struct {
	Version    string `json:"version"`
	Commit     string `json:"commit"`
	CommitTime string `json:"commit_time,omitempty"`
	// Modified: the binary was built from a tree with uncommitted changes.
	Modified  bool   `json:"modified"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

// The values of the version and commit variables when the linker stamped
// nothing.
const (
	UnstampedVersion = "dev"
	UnstampedCommit  = "none"
)

// Read prefers what the linker stamped (make build passes
// -X main.version and -X main.commit to the binary) and otherwise takes the module version
// and VCS revision the go command records in every binary it builds inside a
// repository (go build, go install ./cmd/personactl), so that a binary built
// without the Makefile still says which commit it is.
func Read(stampedVersion, stampedCommit string, info *debug.BuildInfo, ok bool) Version {
	v := Version{
		Version:   UnstampedVersion,
		Commit:    UnstampedCommit,
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
	if stampedVersion != "" && stampedVersion != UnstampedVersion {
		v.Version = stampedVersion
	}
	if stampedCommit != "" && stampedCommit != UnstampedCommit {
		v.Commit = stampedCommit
	}
	return v
}

// String is the one line personactl version prints.
func (v Version) String() string {
	rev := v.Commit
	if v.Modified {
		rev += ", modified"
	}
	return fmt.Sprintf("personactl %s (commit %s, %s %s)", v.Version, rev, v.GoVersion, v.Platform)
}
