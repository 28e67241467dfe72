package main

import (
	"io"

	"github.com/alecthomas/kong"

	"github.com/mana/personactl/cmd/personactl/internal/kongdoc"
)

// CompletionCmd prints a shell completion script.
//
// The scripts hold no list of commands or flags: on each <TAB> they ask
// the personactl being completed (its hidden __complete command), which
// answers from its own kong model. A command or flag added to the CLI
// struct is completed without touching this file, and a script installed
// once stays right after an upgrade.
type CompletionCmd struct {
	Shell string `arg:"" enum:"bash,zsh,fish" help:"The shell to complete in: bash, zsh or fish."`
}

// Run writes the script for c.Shell.
func (c *CompletionCmd) Run(kctx *kong.Context, s Streams) error {
	script, err := kongdoc.Script(c.Shell, kctx.Model.Name)
	if err != nil {
		return err
	}
	_, err = io.WriteString(s.Out, script)
	return err
}

// CompleteCmd answers the completion scripts: it prints the candidates for
// the last of Words, one a line as "value<TAB>description", then a last
// line that tells whether the shell should offer file paths instead.
type CompleteCmd struct {
	Words []string `arg:"" optional:"" help:"The words after the program name; the last is the one being completed."`
}

// Run prints the candidates.
func (c *CompleteCmd) Run(kctx *kong.Context, s Streams) error {
	cands, files := kongdoc.Complete(kctx.Model, c.Words)
	return kongdoc.WriteAnswer(s.Out, cands, files)
}
