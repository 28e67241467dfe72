//go:build unix

package catalog

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLoadRefusesWhatIsNotAFile gives Load a FIFO nobody writes to, a
// socket and a device: each must be refused at once with an error that says
// what the path is and how to pass a catalog instead. A FIFO used to block
// the open forever, so Load runs in a goroutine and the test gives up after
// a deadline rather than hang.
func TestLoadRefusesWhatIsNotAFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "catalog.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// A Unix socket path must be short; the temporary directory may not be.
	sockDir, err := os.MkdirTemp("", "cat")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	sock := filepath.Join(sockDir, "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	link := filepath.Join(dir, "link-to-fifo.json")
	if err := os.Symlink(fifo, link); err != nil {
		t.Fatal(err)
	}

	tests := []struct{ path, want string }{
		{fifo, "is a named pipe (FIFO), not a regular file"},
		{link, "is a named pipe (FIFO), not a regular file"},
		{sock, "is a socket, not a regular file"},
		{"/dev/null", "is a character device, not a regular file"},
		{dir, "is a directory; pass --catalog=PATH"},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				_, err := Load(tt.path, Options{})
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want it to say %q", err, tt.want)
				}
				if !strings.HasPrefix(err.Error(), tt.path) {
					t.Errorf("the error does not start with the path: %v", err)
				}
				if tt.want != "is a directory; pass --catalog=PATH" && !strings.Contains(err.Error(), "--catalog=-") {
					t.Errorf("the error does not say how to pass a catalog on standard input: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("Load(%s) still blocks after 10 s", tt.path)
			}
		})
	}
}

// TestLoadFollowsSymlinksToFiles checks that a link to a catalog file is
// read as the file is.
func TestLoadFollowsSymlinksToFiles(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "real.yaml")
	if err := os.WriteFile(file, []byte(onePersonaYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "catalog.yaml")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	cat, err := Load(link, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Personas) != 1 || cat.Personas[0].Email != "persona.nora@mana.test" {
		t.Errorf("personas = %+v", cat.Personas)
	}
}
