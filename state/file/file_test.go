package file_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/internal/logtest"
	"github.com/mana/personactl/state"
	"github.com/mana/personactl/state/file"
	"github.com/mana/personactl/state/statetest"
)

// pathEnv names the state file a child process opens.
const pathEnv = "PERSONACTL_STATETEST_FILE"

func TestMain(m *testing.M) {
	statetest.HelperProcess(func(context.Context) (state.Backend, error) {
		return file.New(os.Getenv(pathEnv))
	})
	os.Exit(m.Run())
}

// store is a state file in a fresh directory.
type store struct{ path string }

func newStore(t *testing.T) statetest.Store {
	return &store{path: filepath.Join(t.TempDir(), "personactl.state.json")}
}

func (s *store) Open(t *testing.T) state.Backend {
	b, err := file.New(s.path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Raw concatenates every file in the state's directory: the state, its
// backup, the lock file, the journal and any leftovers.
func (s *store) Raw(t *testing.T) []byte {
	entries, err := os.ReadDir(filepath.Dir(s.path))
	if err != nil {
		t.Fatal(err)
	}
	var raw []byte
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(filepath.Dir(s.path), e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, data...)
	}
	return raw
}

func (s *store) Env() []string { return []string{pathEnv + "=" + s.path} }

func (s *store) OpenLogged(t *testing.T, log *slog.Logger) state.Backend {
	b, err := file.New(s.path, file.Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestConformance(t *testing.T) { statetest.Run(t, newStore) }

func open(t *testing.T, path string) *file.Backend {
	t.Helper()
	b, err := file.New(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func persona(email string) state.RecordedPersona {
	return state.RecordedPersona{Email: email, UserID: "u-" + email, AppliedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Values: catalog.Persona{Name: "N", Email: email, Archetype: "a", SystemPrompt: "p", ModuleMix: map[string]float64{"journal": 1}, TickCadence: "daily"}}
}

// writeStates writes n states, each with one more persona than the last.
func writeStates(t *testing.T, b *file.Backend, n int) {
	t.Helper()
	ctx := context.Background()
	l, err := b.Lock(ctx, "apply", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	for range n {
		s, err := b.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		s.Personas = append(s.Personas, persona("p"+string(rune('a'+len(s.Personas)))+"@personas.mana.test"))
		if err := l.Write(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
}

func keys(t *testing.T, data []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestLayout checks what a user finds on disk: the documented keys and
// nothing else, mode 0600 everywhere, the previous version as the backup.
func TestLayout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "personactl.state.json")
	b := open(t, path)
	writeStates(t, b, 2)
	ctx := context.Background()
	l, err := b.Lock(ctx, "apply", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.OpenJournal(ctx, state.JournalEntry{ID: "j1", Operation: "apply", Started: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + ".backup", path + ".journal", path + ".lock"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", filepath.Base(p), fi.Mode().Perm())
		}
	}
	lockData, _ := os.ReadFile(path + ".lock")
	var info state.LockInfo
	if err := json.Unmarshal(lockData, &info); err != nil || info != l.Info() {
		t.Errorf("lock file holds %s, want the holder's LockInfo %+v", lockData, l.Info())
	}
	l.Release()
	if _, err := os.Stat(path + ".lock"); !os.IsNotExist(err) {
		t.Errorf("lock file still there after Release: %v", err)
	}

	data, _ := os.ReadFile(path)
	if got := strings.Join(keys(t, data), ","); got != "lineage,personas,serial,version" {
		t.Errorf("state keys: %s", got)
	}
	var s struct {
		Serial   int64
		Personas []json.RawMessage
	}
	json.Unmarshal(data, &s)
	if got := strings.Join(keys(t, s.Personas[0]), ","); got != "applied_at,email,user_id,values" {
		t.Errorf("persona keys: %s", got)
	}
	backup, _ := os.ReadFile(path + ".backup")
	var prev state.State
	if err := json.Unmarshal(backup, &prev); err != nil || prev.Serial != s.Serial-1 || len(prev.Personas) != 1 {
		t.Errorf("backup holds serial %d with %d personas (%v); want the previous state, serial %d", prev.Serial, len(prev.Personas), err, s.Serial-1)
	}
	if !strings.HasSuffix(string(data), "}\n") || !strings.Contains(string(data), "\n  \"serial\": 2,\n") {
		t.Errorf("state file is not indented JSON ending in a newline:\n%s", data)
	}
}

// TestLeftoverTempFile is a crash between writing the temporary file and
// renaming it: the state stays the previous one, the backup is there, and
// the next write clears the leftover.
func TestLeftoverTempFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "personactl.state.json")
	b := open(t, path)
	writeStates(t, b, 2)
	leftover := path + ".tmp-123456"
	if err := os.WriteFile(leftover, []byte(`{"version": 1, "lineage": "x", "serial": 3, "personas": [{"em`), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := b.Read(context.Background())
	if err != nil || s.Serial != 2 || len(s.Personas) != 2 {
		t.Fatalf("state after a crash mid-write: %+v, %v; want serial 2", s, err)
	}
	if _, err := os.Stat(path + ".backup"); err != nil {
		t.Errorf("backup missing: %v", err)
	}
	journalLeftover := path + ".journal.tmp-654321"
	os.WriteFile(journalLeftover, []byte(`{"version": 1, "entr`), 0o600)
	writeStates(t, b, 1)
	for _, p := range []string{leftover, journalLeftover} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("leftover temporary file %s survived the next write: %v", filepath.Base(p), err)
		}
	}
	if s, _ := b.Read(context.Background()); s.Serial != 3 {
		t.Errorf("serial after the next write: %d", s.Serial)
	}
}

func TestReadRefusesWhatItCannotRead(t *testing.T) {
	tests := []struct {
		name, content string
		want          []string
	}{
		{"malformed", "{\n  \"version\": 1,\n  \"serial\": 2,,\n}", []string{"not valid JSON", "line 3", "repair the file by hand", "no backup"}},
		{"truncated", `{"version": 1, "lineage": "l", "serial": 2, "personas": [`, []string{"not valid JSON", "no backup"}},
		{"one address twice", `{"version": 1, "lineage": "l", "serial": 2, "personas": [{"email": "a@personas.mana.test"}, {"email": "A@personas.mana.test"}]}`, []string{"a@personas.mana.test", "A@personas.mana.test", "twice", "edit", "state rm"}},
		{"empty", "", []string{"not valid JSON"}},
		{"newer", `{"version": 2, "lineage": "l", "serial": 7, "personas": [], "workspaces": {}}`, []string{"newer personactl", "format version 2", "upgrade personactl"}},
		{"not personactl", `{"name": "something else"}`, []string{"no format version", "--state=PATH"}},
		{"wrong types", `{"version": 1, "lineage": "l", "serial": "two"}`, []string{"layout", "line 1"}},
		{"no lineage", `{"version": 1, "serial": 2, "personas": []}`, []string{"no lineage"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "personactl.state.json")
			os.WriteFile(path, []byte(tc.content), 0o600)
			b := open(t, path)
			_, err := b.Read(context.Background())
			if err == nil {
				t.Fatal("Read succeeded")
			}
			for _, w := range append(tc.want, path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), ".backup") {
				t.Errorf("error %q names a backup that does not exist", err)
			}
			// A write refuses too, rather than overwrite what it could not read.
			l, lerr := b.Lock(context.Background(), "apply", 0)
			if lerr != nil {
				t.Fatal(lerr)
			}
			defer l.Release()
			if err := l.Write(context.Background(), &state.State{}); err == nil {
				t.Error("Write over an unreadable state succeeded")
			}
			if data, _ := os.ReadFile(path); string(data) != tc.content {
				t.Error("the unreadable state was changed")
			}
		})
	}
}

func TestNewRefusesBadPaths(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ path, want string }{
		{"", "--state=PATH"},
		{dir, "is a directory"},
		{filepath.Join(dir, "missing", "personactl.state.json"), "does not exist; create it"},
	} {
		if _, err := file.New(tc.path); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%q): %v; want an error saying %q", tc.path, err, tc.want)
		}
	}
}

// TestStaleLockFileTakenOver: a lock file nobody holds a flock on (its
// holder died) does not stop the next run.
func TestStaleLockFileTakenOver(t *testing.T) {
	path := filepath.Join(t.TempDir(), "personactl.state.json")
	stale := `{"id":"dead-lock","operation":"apply","who":"ghost","host":"gone","pid":999999,"created":"2020-01-01T00:00:00Z"}`
	os.WriteFile(path+".lock", []byte(stale), 0o600)
	b := open(t, path)
	l, err := b.Lock(context.Background(), "apply", 0)
	if err != nil {
		t.Fatalf("Lock over a stale lock file: %v", err)
	}
	defer l.Release()
	if data, _ := os.ReadFile(path + ".lock"); !strings.Contains(string(data), l.Info().ID) {
		t.Errorf("lock file after takeover: %s", data)
	}
}

// TestForceUnlockRefusesLiveHolder: a live process keeps its flock; force
// unlock explains that instead of pretending to take it away.
func TestForceUnlockRefusesLiveHolder(t *testing.T) {
	st := newStore(t)
	child := statetest.StartChild(t, st, statetest.RoleHold)
	b := st.Open(t)
	err := b.ForceUnlock(context.Background(), child.LockID)
	if err == nil {
		t.Fatal("ForceUnlock of a live holder succeeded")
	}
	for _, w := range []string{"still running", fmt.Sprintf("kill %d", child.PID)} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	var le *state.LockedError
	if _, err := b.Lock(context.Background(), "apply", 0); !errors.As(err, &le) || le.Holder.PID != child.PID {
		t.Errorf("after the refused force-unlock, Lock: %v; want the child still holding", err)
	}
	if err := b.ForceUnlock(context.Background(), "other-id"); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("ForceUnlock with a wrong ID: %v", err)
	}
}

// TestJournalPruned: closed runs beyond retention are dropped, the newest
// kept; open ones always stay.
func TestJournalPruned(t *testing.T) {
	path := filepath.Join(t.TempDir(), "personactl.state.json")
	b, err := file.New(path, file.Options{Retain: 10})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	l, err := b.Lock(ctx, "apply", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if err := l.OpenJournal(ctx, state.JournalEntry{ID: "kept-open", Operation: "apply", Started: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		id := "closed-" + string(rune('A'+i))
		if err := l.OpenJournal(ctx, state.JournalEntry{ID: id, Operation: "apply", Started: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if err := l.CloseJournal(ctx, id, state.OutcomeComplete); err != nil {
			t.Fatal(err)
		}
	}
	runs, err := b.History(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range runs {
		ids = append(ids, e.ID)
	}
	if len(runs) != 11 || runs[0].ID != "closed-"+string(rune('A'+29)) || runs[10].ID != "kept-open" {
		t.Errorf("journal keeps %v; want the last 10 closed, newest first, and the open entry", ids)
	}
}

// TestSymlinkedState: a state file reached through a symbolic link is
// replaced where it lives; the link stays a link.
func TestSymlinkedState(t *testing.T) {
	real := filepath.Join(t.TempDir(), "shared.state.json")
	link := filepath.Join(t.TempDir(), "personactl.state.json")
	b := open(t, real)
	writeStates(t, b, 1)
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	viaLink := open(t, link)
	writeStates(t, viaLink, 1)
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced by a file: %v", err)
	}
	if s, err := b.Read(context.Background()); err != nil || s.Serial != 2 {
		t.Errorf("target after a write through the link: %+v, %v; want serial 2", s, err)
	}
	if _, err := os.Stat(real + ".backup"); err != nil {
		t.Errorf("backup not beside the target: %v", err)
	}
	if viaLink.Describe() != link {
		t.Errorf("Describe() = %q, want the path as given, %q", viaLink.Describe(), link)
	}
}

// BenchmarkJournal: 10,000 steps through a Journal on the file backend;
// bytes written are what the appends added to PATH.journal.
func BenchmarkJournal(b *testing.B) {
	path := filepath.Join(b.TempDir(), "personactl.state.json")
	statetest.BenchJournal(b, func(b *testing.B) state.Backend {
		be, err := file.New(path)
		if err != nil {
			b.Fatal(err)
		}
		return be
	}, func(b *testing.B) int64 {
		fi, err := os.Stat(path + ".journal")
		if err != nil {
			return 0
		}
		return fi.Size()
	})
}

// OpenRetaining opens the store keeping only retain closed runs.
func (s *store) OpenRetaining(t *testing.T, retain int) state.Backend {
	b, err := file.New(s.path, file.Options{Retain: retain})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRecoveryHintNamesAnExistingBackup: once a backup exists, a state that
// cannot be read points at it.
func TestRecoveryHintNamesAnExistingBackup(t *testing.T) {
	for name, content := range map[string]string{
		"malformed":         "{\n  \"version\": 1,,\n}",
		"one address twice": `{"version": 1, "lineage": "l", "serial": 2, "personas": [{"email": "b@personas.mana.test"}, {"email": "b@personas.mana.test"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "personactl.state.json")
			writeStates(t, open(t, path), 2)
			os.WriteFile(path, []byte(content), 0o600)
			_, err := open(t, path).Read(context.Background())
			if err == nil || !strings.Contains(err.Error(), "restore the previous version from "+path+".backup") {
				t.Errorf("Read: %v; want the backup named", err)
			}
		})
	}
}

// TestDanglingSymlinkedState: a link whose target does not exist yet is
// written through, like a valid one: the state appears at the target and
// the link stays a link.
func TestDanglingSymlinkedState(t *testing.T) {
	target := filepath.Join(t.TempDir(), "shared.state.json")
	link := filepath.Join(t.TempDir(), "personactl.state.json")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	viaLink := open(t, link)
	if s, err := viaLink.Read(context.Background()); err != nil || s.Serial != 0 {
		t.Fatalf("Read through a dangling link: %+v, %v; want the empty state", s, err)
	}
	writeStates(t, viaLink, 2)
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the dangling link was replaced by a file: %v", err)
	}
	if s, err := open(t, target).Read(context.Background()); err != nil || s.Serial != 2 {
		t.Errorf("target after writes through the link: %+v, %v; want serial 2", s, err)
	}
	for _, p := range []string{target + ".backup", target + ".journal"} {
		if _, err := os.Stat(p); p == target+".backup" && err != nil {
			t.Errorf("%s missing: %v", filepath.Base(p), err)
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(link)); len(entries) != 1 {
		t.Errorf("the link's directory holds %d entries; want only the link", len(entries))
	}
}

// TestFilesNameWhereNewWrites: Files names a state's files where New
// writes them, before they exist, through a dangling link with an absolute
// target into a linked directory.
func TestFilesNameWhereNewWrites(t *testing.T) {
	real, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	linked := filepath.Join(t.TempDir(), "linked")
	link := filepath.Join(t.TempDir(), "personactl.state.json")
	if err := errors.Join(os.Symlink(real, linked), os.Symlink(filepath.Join(linked, "shared.state.json"), link)); err != nil {
		t.Fatal(err)
	}
	files := file.Files(link)
	writeStates(t, open(t, link), 2)
	for _, name := range []string{"shared.state.json", "shared.state.json.backup"} {
		path := filepath.Join(real, name)
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("New wrote no %s: %v", name, err)
		}
		if files[path] == "" {
			t.Errorf("Files(%s) does not name %s: %v", link, path, files)
		}
	}
}

// TestLockFileRemovedMeansLost: when the lock file is removed under a
// holder (so that another run can lock a new one), the holder's next write
// fails saying the lock was lost, Lost closes, and the log says so.
func TestLockFileRemovedMeansLost(t *testing.T) {
	path := filepath.Join(t.TempDir(), "personactl.state.json")
	log, records := logtest.New()
	b := (&store{path: path}).OpenLogged(t, log)
	ctx := context.Background()
	l, err := b.Lock(ctx, "apply", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if err := l.OpenJournal(ctx, state.JournalEntry{ID: "j1", Operation: "apply", Started: time.Now()}); err != nil {
		t.Fatal(err)
	}
	os.Remove(path + ".lock")
	other, err := open(t, path).Lock(ctx, "apply", 0)
	if err != nil {
		t.Fatalf("a second run after the lock file was removed: %v", err)
	}
	defer other.Release()
	err = l.AppendSteps(ctx, "j1", []state.JournalStep{{Email: "a@personas.mana.test", Action: "delete", Outcome: state.StepDone}})
	if !errors.Is(err, state.ErrLockLost) || !strings.Contains(err.Error(), "removed or replaced") || !strings.Contains(err.Error(), "personactl apply") {
		t.Errorf("append after the lock file was removed: %v", err)
	}
	select {
	case <-l.Lost():
	default:
		t.Error("Lost is still open after a write found the lock file replaced")
	}
	if lost := records.Records("lock lost"); len(lost) != 1 || lost[0]["level"] != "WARN" || !strings.Contains(lost[0]["why"].(string), "removed or replaced") {
		t.Errorf("the loss is logged as %v, want once, as a warning saying why", lost)
	}
	if err := l.Write(ctx, &state.State{}); !errors.Is(err, state.ErrLockLost) {
		t.Errorf("write after the loss: %v", err)
	}
}

// TestJournalIsAppendOnly: a step adds to the end of the journal file; what
// was there (the plan, earlier steps) is not written again.
func TestJournalIsAppendOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "personactl.state.json")
	b := open(t, path)
	ctx := context.Background()
	l, err := b.Lock(ctx, "apply", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	plan := `{"changes":"` + strings.Repeat("x", 100_000) + `"}`
	if err := l.OpenJournal(ctx, state.JournalEntry{ID: "j1", Operation: "apply", Started: time.Now(), Plan: []byte(plan)}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path + ".journal")
	fiBefore, _ := os.Stat(path + ".journal")
	for i := range 3 {
		if err := l.AppendSteps(ctx, "j1", []state.JournalStep{{Email: fmt.Sprintf("p%d@personas.mana.test", i), Action: "create", Outcome: state.StepDone}}); err != nil {
			t.Fatal(err)
		}
	}
	after, _ := os.ReadFile(path + ".journal")
	fiAfter, _ := os.Stat(path + ".journal")
	if !os.SameFile(fiBefore, fiAfter) || !strings.HasPrefix(string(after), string(before)) {
		t.Fatal("the journal file was rewritten by a step; want steps appended")
	}
	added := strings.Split(strings.TrimSuffix(string(after[len(before):]), "\n"), "\n")
	if len(added) != 3 || len(after)-len(before) > 600 {
		t.Errorf("three steps added %d lines, %d bytes; want three short lines", len(added), len(after)-len(before))
	}
	for _, line := range added {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec["type"] != "steps" {
			t.Errorf("appended line %q is not a steps record: %v", line, err)
		}
	}
}

// TestTornLastLineIgnored: a last line a crash cut short is skipped with a
// warning, not a failure; the next append cuts it off and the journal reads
// cleanly again.
func TestTornLastLineIgnored(t *testing.T) {
	path := filepath.Join(t.TempDir(), "personactl.state.json")
	var warnings []string
	b, err := file.New(path, file.Options{Warn: func(msg string) { warnings = append(warnings, msg) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	l, err := b.Lock(ctx, "apply", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	step := func(email string) []state.JournalStep {
		return []state.JournalStep{{Email: email, Action: "create", Outcome: state.StepDone}}
	}
	if err := l.OpenJournal(ctx, state.JournalEntry{ID: "j1", Operation: "apply", Started: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := l.AppendSteps(ctx, "j1", step("a@personas.mana.test")); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(path+".journal", os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"type":"steps","id":"j1","steps":[{"email":"b@perso`)
	f.Close()
	open, err := b.OpenJournals(ctx)
	if err != nil {
		t.Fatalf("OpenJournals with a torn last line: %v; want it ignored", err)
	}
	if len(open) != 1 || len(open[0].Steps) != 1 {
		t.Fatalf("open entries: %+v; want j1 with its one whole step", open)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "cut short") || !strings.Contains(warnings[0], "line 4") {
		t.Errorf("warnings: %q; want one naming the torn line", warnings)
	}
	if err := l.AppendSteps(ctx, "j1", step("c@personas.mana.test")); err != nil {
		t.Fatal(err)
	}
	warnings = nil
	open, err = b.OpenJournals(ctx)
	if err != nil || len(open) != 1 || len(open[0].Steps) != 2 || open[0].Steps[1].Email != "c@personas.mana.test" || len(warnings) != 0 {
		t.Errorf("after the next append: %+v, %v, warnings %q; want steps a and c and no warning", open, err, warnings)
	}
}

// TestCorruptJournalLineRefused: a bad line in the middle is not a crash's
// doing; reading refuses it and says what to do.
func TestCorruptJournalLineRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "personactl.state.json")
	os.WriteFile(path+".journal", []byte("{\"type\":\"journal\",\"version\":2}\nnot json\n{\"type\":\"open\",\"id\":\"j\"}\n"), 0o600)
	_, err := open(t, path).OpenJournals(context.Background())
	if err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "move it aside") {
		t.Errorf("OpenJournals with a corrupt line: %v", err)
	}
}

// TestUnknownCloseOutcomeRefused: a close record whose outcome is none of
// the known ones (a hand edit, or a newer personactl) is refused on read,
// naming the line, rather than shown in the history as if it meant
// something.
func TestUnknownCloseOutcomeRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "personactl.state.json")
	os.WriteFile(path+".journal", []byte(`{"type":"journal","version":2}
{"type":"open","id":"j","operation":"apply","started":"2025-01-01T00:00:00Z"}
{"type":"close","id":"j","closed":"2025-01-01T00:00:02Z","outcome":"exploded"}
`), 0o600)
	b := open(t, path)
	_, openErr := b.OpenJournals(context.Background())
	_, historyErr := b.History(context.Background(), 0)
	for what, err := range map[string]error{"OpenJournals": openErr, "History": historyErr} {
		if err == nil || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), `unknown outcome "exploded"`) || !strings.Contains(err.Error(), "move it aside") {
			t.Errorf("%s of a journal closing an entry with an unknown outcome: %v; want a refusal naming the line and what to do", what, err)
		}
	}
}

// TestWriteAtomic: the helper others use leaves the file with the mode
// asked for and no temporary file beside it.
func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "plan.json")
	for _, content := range []string{"first", "second"} {
		if err := file.WriteAtomic(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("mode after WriteAtomic(0644): %v, %v", fi.Mode(), err)
	}
	if data, _ := os.ReadFile(path); string(data) != "second" {
		t.Errorf("content %q", data)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d files in the directory; a temporary file was left", len(entries))
	}
	if err := file.WriteAtomic(filepath.Join(dir, "missing", "plan.json"), nil, 0o600); err == nil || !strings.Contains(err.Error(), "check that the directory is writable") {
		t.Errorf("WriteAtomic into a missing directory: %v", err)
	}
}

// TestWriteDecodesAStateChangedSinceItsRead: a write skips decoding only
// the bytes the backend read or wrote itself; a file changed behind its
// back is decoded again, and refused when it cannot be read.
func TestWriteDecodesAStateChangedSinceItsRead(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "personactl.state.json")
	b := open(t, path)
	writeStates(t, b, 1)
	s, err := b.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The same serial, cut short: only a decode can tell.
	cut := data[:len(data)-20]
	if err := os.WriteFile(path, cut, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := b.Lock(ctx, "apply", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if err := l.Write(ctx, s); err == nil || !strings.Contains(err.Error(), "not valid JSON") {
		t.Fatalf("Write over a state cut short behind its back = %v, want it refused as not valid JSON", err)
	}
	if now, _ := os.ReadFile(path); string(now) != string(cut) {
		t.Error("the unreadable state was changed")
	}
	// Back to what was read: the write goes through, and the next one
	// (over the bytes it wrote) too.
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := l.Write(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if s.Serial != 3 {
		t.Errorf("serial after two writes = %d, want 3", s.Serial)
	}
}
