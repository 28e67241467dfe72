package main

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mana/personactl/cmd/personactl/internal/buildinfo"
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
		var v buildinfo.Version
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
		var v buildinfo.Version
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
