package main

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// buildBinary builds personactl into a temporary directory with the given
// go build flags, the way a user's go build or make build does.
func buildBinary(t *testing.T, flags ...string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "personactl")
	args := append([]string{"build", "-o", bin}, flags...)
	out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bin
}

// runBinary runs bin with args and returns its standard output; a non-zero
// exit fails the test.
func runBinary(t *testing.T, bin string, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", filepath.Base(bin), strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

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
		want            buildVersion
	}{
		{
			name:    "go build in a repository: version and revision from the build info",
			stamped: "dev", commit: "none", info: vcs, ok: true,
			want: buildVersion{Version: "v0.3.1-0.20260102150405-0123456789ab+dirty", Commit: "0123456789abcdef0123456789abcdef01234567",
				CommitTime: "2026-01-02T15:04:05Z", Modified: true, GoVersion: "go1.26.8", Platform: platform},
		},
		{
			name:    "make build: the stamped values win",
			stamped: "v1.4.0", commit: "89abcde", info: vcs, ok: true,
			want: buildVersion{Version: "v1.4.0", Commit: "89abcde", CommitTime: "2026-01-02T15:04:05Z", Modified: true, GoVersion: "go1.26.8", Platform: platform},
		},
		{
			name:    "a build without VCS information says so",
			stamped: "dev", commit: "none", info: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, ok: true,
			want: buildVersion{Version: "dev", Commit: "none", GoVersion: "go1.26.8", Platform: platform},
		},
		{
			name:    "no build info at all",
			stamped: "dev", commit: "none",
			want: buildVersion{Version: "dev", Commit: "none", GoVersion: runtime.Version(), Platform: platform},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readVersion(tt.stamped, tt.commit, tt.info, tt.ok)
			if got != tt.want {
				t.Errorf("readVersion:\n got  %+v\n want %+v", got, tt.want)
			}
		})
	}
}

func TestVersionText(t *testing.T) {
	v := buildVersion{Version: "v1.4.0", Commit: "89abcde", Modified: true, GoVersion: "go1.26.8", Platform: "linux/arm64"}
	if got, want := v.String(), "personactl v1.4.0 (commit 89abcde, modified, go1.26.8 linux/arm64)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	v.Modified = false
	if got, want := v.String(), "personactl v1.4.0 (commit 89abcde, go1.26.8 linux/arm64)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func goEnv(t *testing.T, key string) string {
	t.Helper()
	out, err := exec.Command("go", "env", key).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", key, err)
	}
	return strings.TrimSpace(string(out))
}

// TestVersionOfBuiltBinaries builds personactl the two ways users do: a plain
// go build (as go install does), whose version must come from the build info,
// and a build with the Makefile's -X flags, whose stamped values must win.
func TestVersionOfBuiltBinaries(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed: go build records no VCS revision without it")
	}
	goVersion := goEnv(t, "GOVERSION")

	t.Run("go build", func(t *testing.T) {
		// -buildvcs=true is go build's default inside a repository, spelt
		// out because a GOFLAGS in the go env file can turn it off.
		bin := buildBinary(t, "-buildvcs=true")
		var v buildVersion
		if err := json.Unmarshal([]byte(runBinary(t, bin, "version", "--format=json")), &v); err != nil {
			t.Fatal(err)
		}
		// Go stamps the main module's version from VCS: a tag, or a
		// pseudo-version with +dirty for a modified tree.
		if !regexp.MustCompile(`^v\d+\.\d+\.\d+`).MatchString(v.Version) {
			t.Errorf("version %q is not a module version", v.Version)
		}
		if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(v.Commit) {
			t.Fatalf("commit %q is not a full git revision", v.Commit)
		}
		if out, err := exec.Command("git", "cat-file", "-e", v.Commit+"^{commit}").CombinedOutput(); err != nil {
			t.Errorf("commit %s is not a commit of this repository: %v %s", v.Commit, err, out)
		}
		if v.Modified != strings.HasSuffix(v.Version, "+dirty") {
			t.Errorf("modified=%v disagrees with version %q", v.Modified, v.Version)
		}
		if v.GoVersion != goVersion {
			t.Errorf("go version %q, want %q", v.GoVersion, goVersion)
		}
		text := runBinary(t, bin, "version")
		for _, want := range []string{"personactl " + v.Version + " ", "commit " + v.Commit, goVersion} {
			if !strings.Contains(text, want) {
				t.Errorf("version output %q lacks %q", text, want)
			}
		}
	})

	t.Run("make build", func(t *testing.T) {
		bin := buildBinary(t, "-ldflags", "-X main.version=v9.8.7 -X main.commit=feedbee")
		var v buildVersion
		if err := json.Unmarshal([]byte(runBinary(t, bin, "version", "--format=json")), &v); err != nil {
			t.Fatal(err)
		}
		if v.Version != "v9.8.7" || v.Commit != "feedbee" {
			t.Errorf("stamped binary reports version %q commit %q, want v9.8.7 feedbee", v.Version, v.Commit)
		}
		if text := runBinary(t, bin, "version"); !strings.HasPrefix(text, "personactl v9.8.7 (commit feedbee") {
			t.Errorf("version output %q does not show the stamped values", text)
		}
	})
}
