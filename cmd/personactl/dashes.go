package main

import (
	"fmt"
	"strings"

	"github.com/alecthomas/kong"
)

// singleDashed refuses, before kong reads them, the long flags given with
// one dash as Terraform spells them (-auto-approve, -out=plan.bin): kong
// would read -out as -o -u -t and answer with a did-you-mean for -h. The
// flag names come from the model, so every flag of every command counts.
// Nothing after "--" is a flag.
func singleDashed(app *kong.Application, args []string) error {
	long := map[string]bool{}
	_ = kong.Visit(app, func(v kong.Visitable, next kong.Next) error {
		if f, ok := v.(*kong.Flag); ok {
			long[f.Name] = true
			for _, alias := range f.Aliases {
				long[alias] = true
			}
		}
		return next(nil)
	})
	var fixed []string
	for _, a := range args {
		if a == "--" {
			break
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "-"), "=")
		if strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && len(name) > 1 && long[name] {
			fixed = append(fixed, "-"+a)
		}
	}
	if len(fixed) > 0 {
		return fmt.Errorf("personactl spells flags with two dashes: %s", strings.Join(fixed, " "))
	}
	return nil
}
