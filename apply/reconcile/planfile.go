package reconcile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/mana/personactl/plan"
	"github.com/mana/personactl/state/file"
)

// SavePlan writes p to path, atomically and with mode 0600, for a later
// apply. It refuses a path that is one of inputs (a path → what it is),
// the files the plan was computed from: a plan written there would destroy
// them.
func SavePlan(path string, p *plan.Plan, inputs map[string]string) error {
	outInfo, outErr := os.Stat(path)
	for in, what := range inputs {
		if in == "" || in == "-" {
			continue
		}
		same := samePath(path, in)
		if !same && outErr == nil {
			if info, err := os.Stat(in); err == nil {
				same = os.SameFile(outInfo, info)
			}
		}
		if same {
			return fmt.Errorf("--out=%s is %s; the plan would overwrite it; write the plan to another file, e.g. --out=personactl.plan", path, what)
		}
	}
	b, err := plan.Encode(p)
	if err != nil {
		return err
	}
	if err := file.WriteAtomic(path, b, 0o600); err != nil {
		return fmt.Errorf("writing plan file %s: %w; check that its directory exists and is writable", path, err)
	}
	return nil
}

// samePath compares two paths once made absolute and cleaned.
func samePath(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == bb
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
