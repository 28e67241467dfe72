package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestReadVersion(t *testing.T) {
	vcs := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/mana/personactl", Version: "v0.3.1-0.20260102150405-0123456789ab+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-01-02T15:04:05Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	platform := runtime.GOOS + "/" + runtime.GOARCH
	tests := []struct {
		name            string
		stamped, commit string
		info            *debug.BuildInfo
		ok              bool
		want            Version
	}{
		{
			name:    "go build in a repository: version and revision from the build info",
			stamped: "dev", commit: "none", info: vcs, ok: true,
			want: Version{Version: "v0.3.1-0.20260102150405-0123456789ab+dirty", Commit: "0123456789abcdef0123456789abcdef01234567",
				CommitTime: "2026-01-02T15:04:05Z", Modified: true, GoVersion: "go1.26.8", Platform: platform},
		},
		{
			name:    "make build: the stamped values win",
			stamped: "v1.4.0", commit: "89abcde", info: vcs, ok: true,
			want: Version{Version: "v1.4.0", Commit: "89abcde", CommitTime: "2026-01-02T15:04:05Z", Modified: true, GoVersion: "go1.26.8", Platform: platform},
		},
		{
			name:    "a build without VCS information says so",
			stamped: "dev", commit: "none", info: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, ok: true,
			want: Version{Version: "dev", Commit: "none", GoVersion: "go1.26.8", Platform: platform},
		},
		{
			name:    "no build info at all",
			stamped: "dev", commit: "none",
			want: Version{Version: "dev", Commit: "none", GoVersion: runtime.Version(), Platform: platform},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Read(tt.stamped, tt.commit, tt.info, tt.ok)
			if got != tt.want {
				t.Errorf("Read:\n got  %+v\n want %+v", got, tt.want)
			}
		})
	}
}

func TestVersionText(t *testing.T) {
	v := Version{Version: "v1.4.0", Commit: "89abcde", Modified: true, GoVersion: "go1.26.8", Platform: "linux/arm64"}
	if got, want := v.String(), "personactl v1.4.0 (commit 89abcde, modified, go1.26.8 linux/arm64)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	v.Modified = false
	if got, want := v.String(), "personactl v1.4.0 (commit 89abcde, go1.26.8 linux/arm64)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
