package plan

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mana/personactl/internal/failure"
)

// Check refuses options that name an empty or blank address in Targets or
// Replace. An unset shell variable gives one (--target="$EMAIL"), and a
// --target that narrows to nothing must not be read as no --target at
// all, which plans (or destroys) every persona. Both flags are reported
// together, with a destroy that --prune would widen and an --all without
// a destroy to widen: each would do other than the user meant.
func (o Options) Check() error {
	var scope error
	switch {
	case o.Destroy && o.Prune:
		scope = errors.New("--destroy --prune: a destroy deletes the personas this catalog and state manage, and --prune does not widen it; to delete every live persona, managed here or not, use --all (personactl destroy --all)")
	case o.All && !o.Destroy:
		scope = errors.New("--all widens a destroy to every live persona, and this run destroys nothing; add --destroy (or run personactl destroy --all), or drop --all")
	}
	return failure.Join(scope, CheckAddresses("target", o.Targets), CheckAddresses("replace", o.Replace))
}

// CheckAddresses refuses an empty or blank address among those given to
// the flag --name (target or replace), naming the flag and what to do.
func CheckAddresses(name string, emails []string) error {
	for _, e := range emails {
		if strings.TrimSpace(e) != "" {
			continue
		}
		what := "an empty address names no persona (is the shell variable it came from unset?)"
		if e != "" {
			what = "a blank address names no persona"
		}
		return fmt.Errorf("--%s=%q: %s; give each persona's address, in repeated --%s flags or separated by commas", name, e, what, name)
	}
	return nil
}

// Addresses are emails as --target and --replace compare them, with the
// catalog's and live's addresses: in lower case, each once, sorted.
func Addresses(emails []string) []string {
	if len(emails) == 0 {
		return nil
	}
	out := make([]string, 0, len(emails))
	for _, e := range emails {
		out = append(out, strings.ToLower(e))
	}
	slices.Sort(out)
	return slices.Compact(out)
}
