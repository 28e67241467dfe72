// Package file keeps a workspace's recorded state in a local JSON file, with
// a lock file beside it and the apply journal in a third file.
//
// It owns the on-disk layout (PATH, PATH.backup, PATH.lock, PATH.journal) and
// the promise that a reader never sees a half-written state: every file is
// replaced atomically (temporary file, fsync, rename, fsync of the directory).
// It must never write the state or the journal without holding the lock, and
// never store anything it was not given (no tokens, no passwords).
package file

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/mana/personactl/state"
)

// Backend is the recorded state kept in one local JSON file.
type Backend struct {
	// path is the file as the user named it, for messages; real is where it
	// is written: the target when path is a symbolic link, so that writes
	// replace the target rather than the link, and two links to one state
	// share one lock.
	path, real string
}

// New returns the backend for the state file at path. The file need not
// exist yet; its directory must.
func New(path string) (*Backend, error) {
	if path == "" {
		return nil, errors.New("state file path is empty; pass --state=PATH")
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("state %s is a directory; pass --state=PATH naming a file, e.g. --state=%s", path, filepath.Join(path, "personactl.state.json"))
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("state %s: directory %s does not exist; create it or pass --state=PATH", path, dir)
	case err != nil:
		return nil, fmt.Errorf("state %s: %w; check the directory's owner and mode or pass --state=PATH", path, err)
	case !fi.IsDir():
		return nil, fmt.Errorf("state %s: %s is not a directory; pass --state=PATH", path, dir)
	}
	real := path
	if target, err := filepath.EvalSymlinks(path); err == nil {
		real = target
	}
	return &Backend{path: path, real: real}, nil
}

// Describe names the state file for messages.
func (b *Backend) Describe() string { return b.path }

func (b *Backend) backupPath() string  { return b.real + ".backup" }
func (b *Backend) lockPath() string    { return b.real + ".lock" }
func (b *Backend) journalPath() string { return b.real + ".journal" }

// Read returns the recorded state, or the zero State when the file does not exist.
func (b *Backend) Read(ctx context.Context) (*state.State, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read state %s: %w", b.path, err)
	}
	data, err := os.ReadFile(b.real)
	if errors.Is(err, fs.ErrNotExist) {
		return &state.State{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w; check the file's owner and mode, or pass --state=PATH", err)
	}
	return decodeState(b.path, b.backupPath(), data)
}

// Close releases nothing: the backend holds no open files between calls.
func (b *Backend) Close() error { return nil }

// decodeState parses the state file path, refusing layouts this version
// cannot read; backup is where to point a user for the previous version.
func decodeState(path, backup string, data []byte) (*state.State, error) {
	var head struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("state %s is not valid JSON (%s); restore the previous version from %s, or repair the file by hand", path, describeJSONError(data, err), backup)
	}
	switch {
	case head.Version == nil || *head.Version < 1:
		return nil, fmt.Errorf("state %s has no format version, so personactl did not write it; restore the previous version from %s, or pass --state=PATH naming a personactl state file", path, backup)
	case *head.Version > state.FormatVersion:
		return nil, fmt.Errorf("state %s was written by a newer personactl (format version %d; this one reads up to %d); upgrade personactl to use it", path, *head.Version, state.FormatVersion)
	}
	var s state.State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("state %s does not have the layout of format version %d (%s); restore the previous version from %s, or repair the file by hand", path, *head.Version, describeJSONError(data, err), backup)
	}
	if s.Lineage == "" || s.Serial < 1 {
		return nil, fmt.Errorf("state %s has no lineage or serial; restore the previous version from %s, or repair the file by hand", path, backup)
	}
	s.Sort()
	return &s, nil
}

// describeJSONError turns a decoding error into text that points at a line.
func describeJSONError(data []byte, err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var off int64
	switch {
	case errors.As(err, &syn):
		off = syn.Offset
	case errors.As(err, &typ):
		off = typ.Offset
	default:
		return err.Error()
	}
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line := 1 + strings.Count(string(data[:off]), "\n")
	return fmt.Sprintf("line %d: %v", line, err)
}

// encodeState renders s the way it is stored: indented, personas sorted, a
// final newline. It refuses a persona without an email or one listed twice:
// Find could not tell them apart.
func encodeState(s *state.State) ([]byte, error) {
	out := *s
	out.Personas = append([]state.RecordedPersona{}, s.Personas...)
	out.Sort()
	for i, p := range out.Personas {
		if p.Email == "" {
			return nil, fmt.Errorf("a persona (user ID %q) has no email", p.UserID)
		}
		if i > 0 && out.Personas[i-1].Email == p.Email {
			return nil, fmt.Errorf("persona %s appears twice", p.Email)
		}
	}
	data, err := json.MarshalIndent(&out, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}
