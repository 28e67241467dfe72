package main

import (
	"context"
	"io"
	"slices"

	"github.com/alecthomas/kong"

	"github.com/mana/personactl/apply/connect"
	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/cmd/personactl/internal/kongdoc"
	"github.com/mana/personactl/state/file"
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
func (c *CompleteCmd) Run(kctx *kong.Context, g *Globals, s Streams) error {
	cands, files := kongdoc.Complete(kctx.Model, c.Words, map[string]kongdoc.Predictor{"address": g.knownAddresses})
	return kongdoc.WriteAnswer(s.Out, cands, files)
}

// knownAddresses are the persona addresses of the catalog and the recorded
// state, found as the command being completed would find them: by the
// flags typed, the environment and personactl.yaml. A <TAB> must answer
// at once and print nothing but candidates: a state in PostgreSQL, which
// would take a connection, gives none, nor does anything that cannot be
// read.
func (g *Globals) knownAddresses(typed map[string]string) []string {
	for name, setting := range map[string]*string{"catalog": &g.Catalog, "catalog-format": &g.CatalogFormat, "state": &g.State, "env": &g.Env} {
		if v, ok := typed[name]; ok {
			*setting, g.given[name] = v, true
		}
	}
	if err := g.layer(nil, io.Discard); err != nil {
		return nil
	}
	var emails []string
	if g.Catalog != "-" { // standard input is the terminal
		if c, err := catalog.Load(g.Catalog, catalog.Options{Format: g.CatalogFormat}); err == nil {
			for _, p := range c.Personas {
				emails = append(emails, p.Email)
			}
		}
	}
	if !connect.IsDSN(g.State) {
		if b, err := file.New(g.State, file.Options{Retain: g.HistoryRetain, Warn: func(string) {}}); err == nil {
			if st, err := b.Read(context.Background()); err == nil {
				for _, p := range st.Personas {
					emails = append(emails, p.Email)
				}
			}
		}
	}
	slices.Sort(emails)
	return slices.Compact(emails)
}
