package main

import (
	"strings"
	"testing"
)

// TestTerraformSpellingsAreAnswered: a long flag given with one dash, as
// Terraform spells them, is refused with its two-dash spelling, value
// kept, rather than read as short flags; a real short flag still works.
func TestTerraformSpellingsAreAnswered(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"plan", "-out=plan.bin"}, "--out=plan.bin"},
		{[]string{"plan", "-out", "plan.bin"}, "--out"},
		{[]string{"apply", "-auto-approve"}, "--auto-approve"},
		{[]string{"plan", "-detailed-exitcode"}, "--detailed-exitcode"},
		{[]string{"plan", "-target=persona.anna@mana.test"}, "--target=persona.anna@mana.test"},
		{[]string{"apply", "-replace=persona.anna@mana.test"}, "--replace=persona.anna@mana.test"},
		{[]string{"plan", "-destroy"}, "--destroy"},
		{[]string{"-no-color", "plan"}, "--no-color"},
		{[]string{"destroy", "-auto-approve", "-target=a@mana.test"}, "--auto-approve --target=a@mana.test"},
	} {
		out, errOut, code := cliOutput(tt.args...)
		want := "Error: personactl spells flags with two dashes: " + tt.want + "\n"
		if code != 1 || out != "" || !strings.HasPrefix(errOut, want) {
			t.Errorf("personactl %q: exit %d, stdout %q, stderr %q; want exit 1 and %q", tt.args, code, out, errOut, want)
		}
	}
	for _, args := range [][]string{{"-h"}, {"plan", "-h"}} {
		out, errOut, code := cliOutput(args...)
		if code != 0 || !strings.Contains(out, "Usage: personactl") {
			t.Errorf("personactl %q: exit %d, stdout %q, stderr %q; want the help", args, code, out, errOut)
		}
	}
}
