package ci

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestInstallSnapshotRelease is TestInstallPinnedRelease on a real
// release: `make release-check` runs it after `goreleaser release
// --snapshot --clean`, with PERSONACTL_RELEASE_DIST naming goreleaser's
// dist folder. install.sh installs this machine's archive from it, pinned
// to its SHA-256, and the installed personactl names the snapshot's
// version; the archive carries mana-auth-dev, the completions, the man
// page and the docs.
func TestInstallSnapshotRelease(t *testing.T) {
	dist := os.Getenv("PERSONACTL_RELEASE_DIST")
	if dist == "" {
		t.Skip("PERSONACTL_RELEASE_DIST is not set: make release-check runs this test on goreleaser's snapshot")
	}
	needTools(t, "curl", "tar", "sha256sum")
	b, err := os.ReadFile(filepath.Join(dist, "metadata.json"))
	if err != nil {
		t.Fatal(err)
	}
	var meta struct{ Version, Commit string }
	if err := json.Unmarshal(b, &meta); err != nil || meta.Version == "" {
		t.Fatalf("dist/metadata.json names no version (%v): %s", err, b)
	}
	name := releaseArchiveName(t, meta.Version)
	archive, err := os.ReadFile(filepath.Join(dist, name))
	if err != nil {
		t.Fatalf("goreleaser made no archive named as .goreleaser.yaml says: %v", err)
	}
	sum := sha256.Sum256(archive)

	var files []string
	gz, err := gzip.NewReader(strings.NewReader(string(archive)))
	if err != nil {
		t.Fatal(err)
	}
	for tr := tar.NewReader(gz); ; {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, h.Name)
	}
	for _, want := range []string{"personactl", "mana-auth-dev", "README.md", "docs/install.md", "man/personactl.1",
		"completions/personactl.bash", "completions/_personactl", "completions/personactl.fish"} {
		if !slices.Contains(files, want) {
			t.Errorf("%s has no %s; it has %v", name, want, files)
		}
	}

	srv := httptest.NewServer(http.FileServer(http.Dir(dist)))
	t.Cleanup(srv.Close)
	w := &world{t: t, dir: t.TempDir()}
	binDir := filepath.Join(w.dir, "tools")
	w.env = map[string]string{
		"PATH":                   os.Getenv("PATH"),
		"HOME":                   w.dir,
		"PERSONACTL_VERSION":     "v" + meta.Version,
		"PERSONACTL_SHA256":      hex.EncodeToString(sum[:]),
		"PERSONACTL_RELEASE_URL": srv.URL,
		"PERSONACTL_BIN_DIR":     binDir,
		"PERSONACTL_TOOLS":       "personactl mana-auth-dev",
	}
	w.must(0, "install.sh", nil)
	r := w.must(0, filepath.Join(binDir, "personactl"), nil, "version")
	// personactl names the short commit; goreleaser's metadata the whole
	// one ("none" in a clone without a remote, where it reads no commit).
	commit, _, _ := strings.Cut(strings.TrimPrefix(r.out, "personactl v"+meta.Version+" (commit "), ",")
	if !strings.HasPrefix(r.out, "personactl v"+meta.Version+" (commit ") || len(commit) < 4 || !strings.HasPrefix(meta.Commit, commit) {
		t.Errorf("the release's personactl version says %q, want v%s (commit %s…)", r.out, meta.Version, meta.Commit)
	}
	w.must(0, filepath.Join(binDir, "mana-auth-dev"), nil, "--help")
	t.Logf("installed %s (SHA-256 %x): %s", name, sum, strings.TrimSpace(r.out))
}
