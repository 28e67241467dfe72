package connect

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/mana/personactl/plan"
	"github.com/mana/personactl/state/file"
)

// SavePlan writes p to path, atomically and with mode 0600, for a later
// apply, or to stdout when path is "-". It writes only where CheckOut
// allows, checked again now that the plan is computed.
func SavePlan(path string, p *plan.Plan, inputs map[string]string, stdout io.Writer) error {
	target, err := CheckOut(path, inputs)
	if err != nil {
		return err
	}
	b, err := plan.Encode(p)
	if err != nil {
		return err
	}
	if target == "-" {
		if _, err := stdout.Write(b); err != nil {
			return fmt.Errorf("writing the plan file to standard output: %w", err)
		}
		return nil
	}
	if err := file.WriteAtomic(target, b, 0o600); err != nil {
		return fmt.Errorf("writing plan file %s: %w; check that its directory exists and is writable", path, err)
	}
	return nil
}

// CheckOut checks the path plan --out names, before anything is read, and
// returns where the plan file is to be written. "-" is standard output. A
// symbolic link is written through, at the file it ends at (which, as for
// the state file, need not exist yet: its directory must), and stays a
// link. What is there must be a regular file: a device, FIFO, directory or
// socket would be replaced by the plan file. And it must not be one of
// inputs (a path → what it is), the files the plan is computed from, which
// a plan written there would destroy: both sides are compared with their
// links and relative parts resolved.
func CheckOut(path string, inputs map[string]string) (string, error) {
	if path == "-" {
		return path, nil
	}
	target, err := resolve(path)
	if err != nil {
		return "", fmt.Errorf("--out=%s: %w; name another file", path, err)
	}
	info, err := os.Lstat(target)
	if err == nil && !info.Mode().IsRegular() {
		return "", fmt.Errorf("--out=%s names %s; a plan is written only to a regular file, which it replaces: name one, e.g. --out=personactl.plan, or --out=- for standard output", path, kind(info.Mode()))
	}
	for in, what := range inputs {
		if in == "" || in == "-" {
			continue
		}
		same := false
		if r, err := resolve(in); err == nil {
			same = r == target
		}
		if !same && info != nil {
			if inInfo, err := os.Stat(in); err == nil {
				same = os.SameFile(info, inInfo) // a hard link
			}
		}
		if same {
			return "", fmt.Errorf("--out=%s is %s; the plan would overwrite it; write the plan to another file, e.g. --out=personactl.plan", path, what)
		}
	}
	return target, nil
}

// resolve makes path absolute, through its symbolic links and its
// directory's, as the state file resolves its own.
func resolve(path string) (string, error) {
	real, err := file.Resolve(path)
	if err != nil {
		return "", err
	}
	return filepath.Abs(real)
}

// kind names what a file that is not a regular one is.
func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}

// maxPlanFile bounds what is read as a plan file: a plan of 10,000 personas
// with their prompts takes some tens of megabytes.
const maxPlanFile = 512 << 20

// LoadPlan reads a plan saved by SavePlan. Only a regular file is read: a FIFO or
// a device would block or never end, so it is refused at once.
func LoadPlan(path string) (*plan.Plan, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("reading plan file: %w; name a file written by personactl plan --out", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("plan file %s is not a regular file (%s); name a file written by personactl plan --out", path, info.Mode().Type())
	}
	if info.Size() > maxPlanFile {
		return nil, fmt.Errorf("plan file %s is %d MiB, more than the %d MiB a plan file can be; it is not one personactl wrote", path, info.Size()>>20, maxPlanFile>>20)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("reading plan file: %w", err)
	}
	defer f.Close()
	if info, err := f.Stat(); err != nil || !info.Mode().IsRegular() {
		return nil, fmt.Errorf("plan file %s is not a regular file; name a file written by personactl plan --out", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxPlanFile+1))
	if err != nil {
		return nil, fmt.Errorf("reading plan file %s: %w", path, err)
	}
	if len(b) > maxPlanFile {
		return nil, fmt.Errorf("plan file %s is more than the %d MiB a plan file can be; it is not one personactl wrote", path, maxPlanFile>>20)
	}
	p, err := plan.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}
