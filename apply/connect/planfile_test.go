package connect

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mana/personactl/plan"
	"github.com/mana/personactl/state/file"
)

// TestSaveAndLoadPlan: a saved plan reads back; a path that is one of the
// plan's inputs (through a symbolic link too) is refused and left as it
// was; what is not a regular file is refused at once, without blocking.
func TestSaveAndLoadPlan(t *testing.T) {
	dir := t.TempDir()
	p := &plan.Plan{Workspace: "default", Changes: []plan.Change{{Email: "persona.anna@mana.test", Action: plan.Delete, UserID: "u1"}}}
	out := filepath.Join(dir, "personas.plan")
	statePath := filepath.Join(dir, "personactl.state.json")
	os.WriteFile(statePath, []byte("{}"), 0o600)
	link := filepath.Join(dir, "link.json")
	os.Symlink(statePath, link)
	inputs := file.Files(link)
	if err := SavePlan(out, p, inputs, nil); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(out); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("plan file: %v, %v; want mode 0600", info, err)
	}
	back, err := LoadPlan(out)
	if err != nil || len(back.Changes) != 1 || back.Changes[0].UserID != "u1" {
		t.Fatalf("LoadPlan = %+v, %v", back, err)
	}
	for _, target := range []string{statePath, statePath + ".journal", link} {
		if err := SavePlan(target, p, inputs, nil); err == nil || !strings.Contains(err.Error(), "the plan would overwrite it") {
			t.Errorf("SavePlan(%s) = %v; want a refusal", target, err)
		}
	}
	if data, _ := os.ReadFile(statePath); string(data) != "{}" {
		t.Errorf("the state was overwritten: %q", data)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	if _, err := LoadPlan(fifo); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("LoadPlan(FIFO) = %v; want a refusal", err)
	}
}

// TestSavePlanReplacesOnlyARegularFile: --out naming a FIFO, a directory
// or a device (through a link too) is refused and left as it was; a link
// to a regular file, or a dangling one, is written through at its target
// and stays a link; - writes the plan file to standard output.
func TestSavePlanReplacesOnlyARegularFile(t *testing.T) {
	dir := t.TempDir()
	p := &plan.Plan{Workspace: "default", Changes: []plan.Change{{Email: "persona.anna@mana.test", Action: plan.Delete, UserID: "u1"}}}
	fifo, sub := filepath.Join(dir, "fifo"), filepath.Join(dir, "sub")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	toFIFO := filepath.Join(dir, "to-fifo")
	os.Symlink(fifo, toFIFO)
	refused := map[string]fs.FileMode{fifo: fs.ModeNamedPipe, toFIFO: fs.ModeNamedPipe, sub: fs.ModeDir}
	if dev := device(t, dir); dev != "" {
		refused[dev] = fs.ModeDevice | fs.ModeCharDevice
	}
	for out, mode := range refused {
		if err := SavePlan(out, p, nil, nil); err == nil || !strings.Contains(err.Error(), "a plan is written only to a regular file") {
			t.Errorf("SavePlan(%s) = %v; want a refusal", out, err)
		}
		if info, err := os.Stat(out); err != nil || info.Mode().Type() != mode {
			t.Errorf("%s after SavePlan: %v, %v; want it as it was (%v)", out, info, err, mode)
		}
	}
	if entries, _ := os.ReadDir(sub); len(entries) > 0 {
		t.Errorf("SavePlan wrote into the directory: %v", entries)
	}

	target, dangling := filepath.Join(dir, "reviewed.plan"), filepath.Join(sub, "later.plan")
	os.WriteFile(target, []byte("old"), 0o600)
	for link, at := range map[string]string{filepath.Join(dir, "link.plan"): target, filepath.Join(dir, "dangling.plan"): dangling} {
		os.Symlink(at, link)
		if err := SavePlan(link, p, nil, nil); err != nil {
			t.Fatalf("SavePlan(%s) = %v", link, err)
		}
		if info, err := os.Lstat(link); err != nil || info.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("%s was replaced: %v, %v; want it a link still", link, info, err)
		}
		if back, err := LoadPlan(at); err != nil || len(back.Changes) != 1 {
			t.Errorf("the plan at the link's target %s: %+v, %v", at, back, err)
		}
	}

	var stdout bytes.Buffer
	if err := SavePlan("-", p, nil, &stdout); err != nil {
		t.Fatal(err)
	}
	if back, err := plan.Decode(stdout.Bytes()); err != nil || len(back.Changes) != 1 {
		t.Errorf("the plan on standard output: %+v, %v", back, err)
	}
}

// device returns a character device that a test may try to replace: a
// copy of /dev/null made here as root (where a regression would replace
// /dev/null itself), else /dev/null, which only root could replace; "" when
// there is neither.
func device(t *testing.T, dir string) string {
	info, err := os.Stat("/dev/null")
	if err != nil || info.Mode()&fs.ModeCharDevice == 0 {
		return ""
	}
	if os.Geteuid() != 0 {
		return "/dev/null"
	}
	dev := filepath.Join(dir, "null")
	if err := syscall.Mknod(dev, syscall.S_IFCHR|0o666, int(info.Sys().(*syscall.Stat_t).Rdev)); err != nil {
		t.Logf("no device to try: %v", err)
		return ""
	}
	return dev
}

// TestSavePlanComparesResolvedInputs: a link to the state, or to its
// journal or lock before they exist, and a state reached through a linked
// directory are the state's files all the same: refused, and nothing is
// written.
func TestSavePlanComparesResolvedInputs(t *testing.T) {
	dir := t.TempDir()
	p := &plan.Plan{Workspace: "default"}
	real := filepath.Join(dir, "real")
	os.Mkdir(real, 0o700)
	statePath := filepath.Join(real, "personactl.state.json")
	os.WriteFile(statePath, []byte("{}"), 0o600)
	linkedDir := filepath.Join(dir, "linked")
	os.Symlink(real, linkedDir)
	for name, out := range map[string]string{
		"a link to the state":         statePath,
		"a link to the journal":       statePath + ".journal",
		"a link to the lock":          statePath + ".lock",
		"the lock, by the other name": filepath.Join(linkedDir, "personactl.state.json.lock"),
	} {
		t.Run(name, func(t *testing.T) {
			if strings.HasPrefix(name, "a link") {
				link := filepath.Join(dir, "link-"+filepath.Base(out))
				os.Symlink(out, link)
				out = link
			}
			if err := SavePlan(out, p, file.Files(statePath), nil); err == nil || !strings.Contains(err.Error(), "the plan would overwrite it") {
				t.Errorf("SavePlan(%s) = %v; want a refusal", out, err)
			}
		})
	}
	// A state not written yet, named through the linked directory; the
	// plan through the real one.
	if err := SavePlan(filepath.Join(real, "new.json.journal"), p, file.Files(filepath.Join(linkedDir, "new.json")), nil); err == nil {
		t.Error("the journal of a state named through a linked directory is not refused")
	}
	if data, _ := os.ReadFile(statePath); string(data) != "{}" {
		t.Errorf("the state was overwritten: %q", data)
	}
	for _, f := range []string{".journal", ".lock"} {
		if _, err := os.Stat(statePath + f); err == nil {
			t.Errorf("%s was written", f)
		}
	}
}
