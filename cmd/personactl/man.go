package main

import (
	"github.com/alecthomas/kong"

	"github.com/mana/personactl/cmd/personactl/internal/buildinfo"
	"github.com/mana/personactl/cmd/personactl/internal/kongdoc"
)

// ManCmd writes personactl's man page.
//
// The page is built from the kong model, like --help and completion, so it
// lists every command and flag the binary has; make man writes it to a file.
type ManCmd struct{}

// Run writes the page, in roff, to standard output.
func (c *ManCmd) Run(kctx *kong.Context, s Streams) error {
	return kongdoc.WriteManPage(s.Out, kctx.Model, manPage(buildVersion()))
}

// manPage is what personactl's man page says beyond the kong model: the
// version, the variables read outside the flags and the spec's exit codes.
func manPage(v buildinfo.Version) kongdoc.ManPage {
	date := ""
	if len(v.CommitTime) >= len("2006-01-02") {
		date = v.CommitTime[:len("2006-01-02")]
	}
	return kongdoc.ManPage{
		Version: v.Version,
		Date:    date,
		Environment: []kongdoc.ManEntry{
			{Name: "PERSONA_SEED_SECRET", Help: "The secret each persona's password is derived from. Set but empty is an error. Unset, the public development secret is used, and refused against a server that is not on loopback (unless --allow-dev-secret) or with NODE_ENV=production."},
			{Name: "NODE_ENV", Help: "With the value production, the public development seed secret is refused."},
			{Name: "NO_COLOR", Help: "Any value turns colour off, as --color=never does, unless --color or FORCE_COLOR says otherwise."},
			{Name: "FORCE_COLOR", Help: "Any value but 0 colours the output even when it is not a terminal, as --color=always does, unless --color or --no-color says otherwise."},
		},
		ExitStatus: []kongdoc.ManEntry{
			{Name: "0", Help: "Success; for plan with --detailed-exitcode, also: no changes."},
			{Name: "1", Help: "An error, a refusal or a crash. A crash is never 2, so a CI job does not read it as drift."},
			{Name: "2", Help: "Only from plan --detailed-exitcode: the plan has changes, including a name that needs --replace (with --refresh-only: drift was found); from drift: something changed outside personactl; from verify: a persona is not ready."},
		},
	}
}
