package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/mana/personactl/plan"
	"github.com/mana/personactl/state/file"
)

// ShapeFlags shape a new plan; plan takes them, and apply without a plan file.
type ShapeFlags struct {
	Destroy     bool     `help:"Plan the deletion of every live persona."`
	RefreshOnly bool     `help:"Only drift: what changed outside personactl; an apply only records it in the state."`
	Prune       bool     `help:"Delete live personas that are neither in the catalog nor recorded."`
	Replace     []string `help:"Delete and re-create this persona (the only way to apply a name); repeatable." placeholder:"EMAIL"`
	Target      []string `help:"Plan only this persona; repeatable. The plan warns that it is partial." placeholder:"EMAIL"`
}

func (f *ShapeFlags) options() plan.Options {
	return plan.Options{Destroy: f.Destroy, RefreshOnly: f.RefreshOnly, Prune: f.Prune, Replace: f.Replace, Targets: f.Target}
}

// given reports whether any of the flags was given.
func (f *ShapeFlags) given() bool {
	return f.Destroy || f.RefreshOnly || f.Prune || len(f.Replace) > 0 || len(f.Target) > 0
}

// PlanCmd shows what apply would change.
type PlanCmd struct {
	Out              string `help:"Write the plan to FILE for a later apply." placeholder:"FILE" type:"path"`
	DetailedExitcode bool   `help:"Exit 0 for no changes, 2 for changes (with --refresh-only: drift), 1 for errors."`
	Format           string `help:"Output format: text, json, markdown, or github (text, with catalog findings also as GitHub Actions annotations; automatic under GITHUB_ACTIONS=true)." enum:"text,json,markdown,github" default:"text"`
	ShapeFlags
}

// Run reads catalog, state and live, computes and renders the plan. It
// never writes to mana-auth or the state.
func (c *PlanCmd) Run(g *Globals, s Streams) error {
	g.github, g.machineOutput = c.Format == "github", c.Format == "json" || c.Format == "markdown"
	ctx := context.Background()
	// A read-only plan (--live and no admin token, as in a pull request's
	// job) derives no password and needs no seed secret; it checks
	// credentials only when one is set.
	readOnly := g.Live != "" && g.JWT == "" && g.JWTFile == ""
	derives := !c.Destroy && !c.RefreshOnly && !readOnly
	sess, err := open(ctx, g, s, needs{catalog: true, catalogOptional: c.Destroy, secret: derives, secretIfSet: !derives})
	if err != nil {
		return err
	}
	defer sess.close()
	p, err := sess.loop.Plan(ctx, c.options())
	if err != nil {
		return err
	}
	if err := render(s.Out, p, c.Format, g.colour(s.Out)); err != nil {
		return err
	}
	if c.Out != "" && len(p.Errors) == 0 {
		if err := g.checkOut(c.Out); err != nil {
			return err
		}
		if err := writePlanFile(c.Out, p); err != nil {
			return err
		}
		fmt.Fprintf(s.Err, "Saved the plan to %s; apply exactly it with: personactl apply %s\n", c.Out, c.Out)
	}
	if len(p.Errors) > 0 {
		return &exitCode{1, errors.New("the plan has errors (above); nothing can be applied until they are fixed")}
	}
	if c.DetailedExitcode && p.Differs() {
		return &exitCode{code: 2}
	}
	return nil
}

// render writes p in the chosen format.
func render(w io.Writer, p *plan.Plan, format string, colour bool) error {
	switch format {
	case "json":
		return plan.RenderJSON(w, p)
	case "markdown":
		return plan.RenderMarkdown(w, p, plan.MarkdownOptions{})
	default:
		return plan.RenderText(w, p, plan.TextOptions{Color: colour})
	}
}

// checkOut refuses an --out path that would overwrite the recorded state,
// its backup, journal or lock file, or the catalog: a plan written there
// would destroy what it was computed from.
func (g *Globals) checkOut(out string) error {
	protected := map[string]string{g.Catalog: "the catalog"}
	if !isDSN(g.State) {
		protected[g.State] = "the recorded state"
		real := g.State
		if target, err := filepath.EvalSymlinks(g.State); err == nil {
			real = target
		} else if target, err := os.Readlink(g.State); err == nil {
			real = filepath.Join(filepath.Dir(g.State), target) // a dangling link: its target is the state
		}
		protected[real] = "the recorded state"
		for _, suffix := range []string{".backup", ".journal", ".lock"} {
			protected[real+suffix] = "the recorded state's " + strings.TrimPrefix(suffix, ".") + " file"
		}
	}
	outInfo, outErr := os.Stat(out)
	for path, what := range protected {
		if path == "" || path == "-" {
			continue
		}
		same := samePath(out, path)
		if !same && outErr == nil {
			if info, err := os.Stat(path); err == nil {
				same = os.SameFile(outInfo, info)
			}
		}
		if same {
			return fmt.Errorf("--out=%s is %s; the plan would overwrite it; write the plan to another file, e.g. --out=personactl.plan", out, what)
		}
	}
	return nil
}

// samePath compares two paths once made absolute and cleaned.
func samePath(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == bb
}

// writePlanFile writes the plan atomically with mode 0600.
func writePlanFile(path string, p *plan.Plan) error {
	b, err := plan.Encode(p)
	if err != nil {
		return err
	}
	if err := file.WriteAtomic(path, b, 0o600); err != nil {
		return fmt.Errorf("writing plan file %s: %w; check that its directory exists and is writable", path, err)
	}
	return nil
}

// maxPlanFile bounds what is read as a plan file: a plan of 10,000 personas
// with their prompts takes some tens of megabytes.
const maxPlanFile = 512 << 20

// readPlanFile reads a saved plan. Only a regular file is read: a FIFO or
// a device would block or never end, so it is refused at once.
func readPlanFile(path string) (*plan.Plan, error) {
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
