package ci

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"text/template"

	"gopkg.in/yaml.v3"
)

// releaseArchiveName is the name .goreleaser.yaml gives the archive of
// version for this machine's OS and architecture.
func releaseArchiveName(t *testing.T, version string) string {
	t.Helper()
	b, err := os.ReadFile("../../.goreleaser.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		ProjectName string `yaml:"project_name"`
		Archives    []struct {
			NameTemplate string   `yaml:"name_template"`
			Formats      []string `yaml:"formats"`
		}
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Archives) != 1 || len(cfg.Archives[0].Formats) != 1 {
		t.Fatalf(".goreleaser.yaml defines %d archives; install.sh knows one, in one format", len(cfg.Archives))
	}
	tmpl, err := template.New("name").Option("missingkey=error").Parse(cfg.Archives[0].NameTemplate)
	if err != nil {
		t.Fatal(err)
	}
	var name strings.Builder
	err = tmpl.Execute(&name, map[string]string{"ProjectName": cfg.ProjectName, "Version": version, "Os": runtime.GOOS, "Arch": runtime.GOARCH})
	if err != nil {
		t.Fatalf("the archive name template uses more than install.sh knows: %v", err)
	}
	return name.String() + "." + cfg.Archives[0].Formats[0]
}

// tarGz is a release archive laid out as goreleaser lays it: the binaries
// (from bin) and the other files at its top.
func tarGz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	tw := tar.NewWriter(gz)
	for name, from := range files {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(b))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestInstallPinnedRelease: install.sh downloads the archive named as
// .goreleaser.yaml names it and installs it when its SHA-256 is the pinned
// one; a tampered archive, a wrong pin, a missing pin and a missing release
// are refused with exit 1 and nothing installed.
func TestInstallPinnedRelease(t *testing.T) {
	t.Parallel()
	needTools(t, "curl", "tar", "sha256sum")
	const version = "v1.2.3"
	name := releaseArchiveName(t, strings.TrimPrefix(version, "v"))
	genuine := tarGz(t, map[string]string{
		"personactl":    filepath.Join(bin, "personactl"),
		"mana-auth-dev": "../../README.md", // installed, not run: any file will do
		"README.md":     "../../README.md",
	})
	// The refusals are tried on a small archive, pinned likewise.
	small := tarGz(t, map[string]string{"personactl": "../../README.md", "mana-auth-dev": "../../README.md"})
	pinOf := func(b []byte) string {
		sum := sha256.Sum256(b)
		return hex.EncodeToString(sum[:])
	}
	pin := pinOf(small)
	served := small
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/"+name {
			http.NotFound(rw, r)
			return
		}
		rw.Write(served)
	}))
	t.Cleanup(srv.Close)

	w := &world{t: t, dir: t.TempDir()}
	binDir := filepath.Join(w.dir, "tools")
	w.env = map[string]string{
		"PATH":                   os.Getenv("PATH"),
		"HOME":                   w.dir,
		"RUNNER_TEMP":            w.dir,
		"GITHUB_PATH":            filepath.Join(w.dir, "github_path"),
		"PERSONACTL_VERSION":     version,
		"PERSONACTL_SHA256":      pin,
		"PERSONACTL_RELEASE_URL": srv.URL,
		"PERSONACTL_BIN_DIR":     binDir,
		"PERSONACTL_TOOLS":       "personactl mana-auth-dev",
	}
	installed := func() []string {
		entries, _ := os.ReadDir(binDir)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return names
	}

	tampered := bytes.Clone(small)
	tampered[len(tampered)/2] ^= 1
	for _, c := range []struct {
		name  string
		serve []byte
		env   []string
		says  string
	}{
		{"tampered archive", tampered, nil, "not the pinned " + pin + ": refused, nothing installed"},
		{"wrong pin", small, []string{"PERSONACTL_SHA256=" + strings.Repeat("ab", 32)}, "not the pinned abab"},
		{"pin that is no SHA-256", small, []string{"PERSONACTL_SHA256=sha256:" + pin}, "PERSONACTL_SHA256 is not a SHA-256"},
		{"no pin", small, []string{"PERSONACTL_SHA256="}, "set the workflow variables PERSONACTL_VERSION"},
		{"no such release", small, []string{"PERSONACTL_VERSION=v9.9.9"}, "could not download " + srv.URL + "/personactl_9.9.9_"},
		{"tool missing from the archive", small, []string{"PERSONACTL_TOOLS=personactl kubectl"}, "holds no kubectl: nothing installed"},
	} {
		served = c.serve
		r := w.must(1, "install.sh", c.env)
		if !strings.Contains(r.out, "::error title=personactl not installed::") || !strings.Contains(r.out, c.says) {
			t.Errorf("%s: the refusal does not say %q:\n%s", c.name, c.says, r)
		}
		if got := installed(); len(got) != 0 {
			t.Errorf("%s: installed %v", c.name, got)
		}
	}

	served = genuine
	r := w.must(0, "install.sh", []string{"PERSONACTL_SHA256=" + pinOf(genuine)})
	if got := strings.Join(installed(), " "); got != "mana-auth-dev personactl" {
		t.Errorf("installed %q, want personactl and mana-auth-dev", got)
	}
	if !strings.Contains(r.out, "Installed personactl ") || !strings.Contains(r.out, name) {
		t.Errorf("install.sh does not say what it installed:\n%s", r)
	}
	if got := w.file("github_path"); got != binDir+"\n" {
		t.Errorf("GITHUB_PATH got %q, want the bin directory", got)
	}
	w.must(0, filepath.Join(binDir, "personactl"), nil, "version")
}
