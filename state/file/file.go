// Package file keeps a workspace's recorded state in a local JSON file, with
// a lock file beside it and the journal of runs in a third file.
//
// It owns the on-disk layout (PATH, PATH.backup, PATH.lock, PATH.journal) and
// the promise that a reader never sees a half-written state: the state is
// replaced atomically (temporary file, fsync, rename, fsync of the
// directory), and the journal is appended to (write, fsync), a crash cutting
// at most its last line short.
// It must never write the state or the journal without holding the lock, and
// never store anything it was not given (no tokens, no passwords).
package file

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/mana/personactl/state"
)

// Backend is the recorded state kept in one local JSON file.
type Backend struct {
	// path is the file as the user named it, for messages; real is where it
	// is written: the target when path is a symbolic link, so that writes
	// replace the target rather than the link, and two links to one state
	// share one lock.
	path, real string
	retain     int          // closed runs the journal keeps
	warn       func(string) // hears of what is skipped without failing
	log        *slog.Logger // hears of the lock and the journal
	last       known        // the state file as last read or written
}

// Options tune a Backend; the zero value is the default.
type Options struct {
	// Retain is how many closed runs the journal keeps for History, newest
	// first (0: state.DefaultRetain).
	Retain int
	// Warn hears of problems that do not stop a read, such as a journal
	// line cut short by a crash (nil: printed to standard error).
	Warn func(msg string)
	// Log hears of the lock (taken, waited for, released, lost) and the
	// journal (opened, steps written, closed); nil: nothing is logged.
	Log *slog.Logger
}

// maxLinks bounds how many symbolic links Resolve follows, as the kernel does.
const maxLinks = 40

// New returns the backend for the state file at path. The file need not
// exist yet; its directory must. When path is a symbolic link, the state
// lives at its target, which need not exist yet either: the link is never
// replaced by a file. At most one Options may be given.
func New(path string, opts ...Options) (*Backend, error) {
	if path == "" {
		return nil, errors.New("state file path is empty; pass --state=PATH")
	}
	var o Options
	switch {
	case len(opts) > 1:
		return nil, errors.New("file.New takes at most one Options")
	case len(opts) == 1:
		o = opts[0]
	}
	var err error
	if o.Retain, err = state.Retention(o.Retain); err != nil {
		return nil, err
	}
	if o.Warn == nil {
		o.Warn = stderrWarn
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	real, err := Resolve(path)
	if err != nil {
		return nil, fmt.Errorf("state %s: %w; pass --state=PATH naming the file itself", path, err)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("state %s is a directory; pass --state=PATH naming a file, e.g. --state=%s", path, filepath.Join(path, "personactl.state.json"))
	}
	dir := filepath.Dir(real)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("state %s: directory %s does not exist; create it or pass --state=PATH", path, dir)
	case err != nil:
		return nil, fmt.Errorf("state %s: %w; check the directory's owner and mode or pass --state=PATH", path, err)
	case !fi.IsDir():
		return nil, fmt.Errorf("state %s: %s is not a directory; pass --state=PATH", path, dir)
	}
	return &Backend{path: path, real: real, retain: o.Retain, warn: o.Warn, log: o.Log}, nil
}

// Resolve returns where a file at path is: path followed through symbolic
// links to the file they end at, which need not exist (a dangling link names
// where the file is to be written, just as a valid one does), with the links
// of its directory resolved too, so that two names of one file resolve to
// one path and share one lock file.
func Resolve(path string) (string, error) {
	real, err := followLinks(path)
	if err != nil {
		return "", err
	}
	if d, err := filepath.EvalSymlinks(filepath.Dir(real)); err == nil {
		real = filepath.Join(d, filepath.Base(real))
	}
	return real, nil
}

// followLinks follows path through symbolic links to the file they end at,
// or to the name a dangling one gives.
func followLinks(path string) (string, error) {
	cur := path
	for range maxLinks {
		fi, err := os.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			return cur, nil
		}
		if err != nil {
			return "", fmt.Errorf("%w; check the directory's owner and mode", err)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return cur, nil
		}
		target, err := os.Readlink(cur)
		if err != nil {
			return "", fmt.Errorf("read the symbolic link %s: %w", cur, err)
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(cur), target)
		}
		cur = target
	}
	return "", fmt.Errorf("more than %d symbolic links in a row (a loop?)", maxLinks)
}

// Describe names the state file for messages.
func (b *Backend) Describe() string { return b.path }

// The files beside a state, named by the state's path and these endings.
const (
	backupSuffix  = ".backup"
	lockSuffix    = ".lock"
	journalSuffix = ".journal"
)

func (b *Backend) dir() string         { return filepath.Dir(b.real) }
func (b *Backend) backupPath() string  { return b.real + backupSuffix }
func (b *Backend) lockPath() string    { return b.real + lockSuffix }
func (b *Backend) journalPath() string { return b.real + journalSuffix }

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
	s, err := decodeState(b.path, b.backupPath(), data)
	if err != nil {
		return nil, err
	}
	b.last.remember(data, s)
	return s, nil
}

// restoreHint says how to get back a previous state: from the backup when
// there is one.
func restoreHint(backup string) string {
	if exists(backup) {
		return "restore the previous version from " + backup + ", or repair the file by hand"
	}
	return "repair the file by hand (there is no backup yet: personactl keeps one from the second write on)"
}

// Close releases nothing: the backend holds no open files between calls.
func (b *Backend) Close() error { return nil }

// exists reports whether path is a regular file.
func exists(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// stateDocument is a state file: its version (nil when missing), then the
// state.
type stateDocument struct {
	Version *int `json:"version"`
	state.State
}

// decodeState parses the state file path, refusing layouts this version
// cannot read and a state that lists an address twice; backup is where the
// previous version would be.
func decodeState(path, backup string, data []byte) (*state.State, error) {
	// The version is checked after decoding; the file is decoded again,
	// for its version alone, only to tell why a decoding failed.
	var doc stateDocument
	err := json.Unmarshal(data, &doc)
	if err != nil {
		var head struct {
			Version *int `json:"version"`
		}
		if herr := json.Unmarshal(data, &head); herr != nil {
			return nil, fmt.Errorf("state %s is not valid JSON (%s); %s", path, describeJSONError(data, herr), restoreHint(backup))
		}
		doc.Version = head.Version
	}
	if err := checkVersion(path, backup, doc.Version); err != nil {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("state %s does not have the layout of format version %d (%s); %s", path, *doc.Version, describeJSONError(data, err), restoreHint(backup))
	}
	s := doc.State
	s.Version = *doc.Version
	if s.Lineage == "" || s.Serial < 1 {
		return nil, fmt.Errorf("state %s has no lineage or serial; %s", path, restoreHint(backup))
	}
	if err := s.Validate(); err != nil {
		// `personactl state rm` cannot help: it needs a state that loads.
		hint := "edit " + path + " to keep one record per address"
		if exists(backup) {
			hint += ", or restore the previous version from " + backup
		}
		return nil, fmt.Errorf("state %s: %w; personactl cannot tell such records apart, so it reads nothing until one of each is gone (`personactl state rm` needs a state that loads): %s", path, err, hint)
	}
	s.Sort()
	return &s, nil
}

// checkVersion refuses a state without a format version (personactl did
// not write it) or with one newer than this version reads.
func checkVersion(path, backup string, v *int) error {
	switch {
	case v == nil || *v < 1:
		hint := "pass --state=PATH naming a personactl state file"
		if exists(backup) {
			hint = "restore the previous version from " + backup + ", or " + hint
		}
		return fmt.Errorf("state %s has no format version, so personactl did not write it; %s", path, hint)
	case *v > state.FormatVersion:
		return fmt.Errorf("state %s was written by a newer personactl (format version %d; this one reads up to %d); upgrade personactl to use it", path, *v, state.FormatVersion)
	}
	return nil
}

// known is a state file's bytes this backend decoded or wrote last,
// remembered by their digest with what a write checks of them, so that a
// write does not decode again the file the run read.
type known struct {
	mu     sync.Mutex
	sum    [sha256.Size]byte
	head   state.State // version, lineage and serial; no personas
	filled bool
}

func (k *known) remember(data []byte, s *state.State) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.sum, k.filled = sha256.Sum256(data), true
	k.head = state.State{Version: s.Version, Lineage: s.Lineage, Serial: s.Serial}
}

// lookup returns the head of data when data are the bytes remembered.
func (k *known) lookup(data []byte) (state.State, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.filled || sha256.Sum256(data) != k.sum {
		return state.State{}, false
	}
	return k.head, true
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
// final newline. It refuses a persona without an email or one listed twice,
// letter case aside: Find could not tell them apart.
func encodeState(s *state.State) ([]byte, error) {
	out := *s
	out.Personas = append([]state.RecordedPersona{}, s.Personas...)
	out.Sort()
	if err := out.Validate(); err != nil {
		return nil, err
	}
	data, err := json.MarshalIndent(&out, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// Files names the files a state at path consists of, by what each is: the
// path as given and, through symbolic links, the state it names, with its
// backup, journal and lock files beside it.
func Files(path string) map[string]string {
	files := map[string]string{path: "the recorded state"}
	real, err := Resolve(path)
	if err != nil {
		real = path
	}
	files[real] = "the recorded state"
	for _, suffix := range []string{backupSuffix, journalSuffix, lockSuffix} {
		files[real+suffix] = "the recorded state's " + strings.TrimPrefix(suffix, ".") + " file"
	}
	return files
}
