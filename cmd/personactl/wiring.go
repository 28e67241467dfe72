package main

import (
	"context"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/mana/personactl/apply/connect"
	"github.com/mana/personactl/catalog"
)

// settings are the flags as apply/connect takes them.
func (g *Globals) settings(s Streams) connect.Settings {
	return connect.Settings{
		Catalog: g.Catalog, CatalogFormat: g.CatalogFormat, Strict: g.Strict,
		Annotate: func(diags []catalog.Diagnostic) { g.annotate(s, diags) },
		Auth:     g.Auth, InsecureHTTP: g.InsecureHTTP, AllowDevSecret: g.AllowDevSecret,
		Token: g.JWT, TokenFile: g.JWTFile, TokenInArgs: g.jwtInArgs,
		AdminEmail: g.AdminEmail, AdminPasswordFile: g.AdminPassFile, Given: g.given, Now: testHooks.Now,
		State: g.State, Workspace: g.Workspace, HistoryRetain: g.HistoryRetain,
		Live:        g.Live,
		Parallelism: g.Parallelism, LockTimeout: g.LockTimeout,
		Stdin: s.In, Stderr: s.Err, StderrTerminal: isTerminal(s.Err),
		Log: g.log,
	}
}

// open opens what a command needs, with the test hooks around the state
// and live reader.
func open(ctx context.Context, g *Globals, s Streams, n connect.Needs) (*connect.Run, error) {
	r, err := connect.Open(ctx, g.settings(s), n)
	if err != nil {
		return nil, err
	}
	r.Loop.Backend = testHooks.WrapBackend(r.Loop.Backend)
	r.Loop.Live = testHooks.WrapLive(r.Loop.Live)
	return r, nil
}

// annotate prints catalog findings as GitHub Actions workflow commands too
// (under GITHUB_ACTIONS=true, or --format=github), so that they show on the
// pull request's diff at their line. When standard output is JSON or
// Markdown they go to standard error, which the runner reads for workflow
// commands too: an annotation line in the JSON would break what reads it.
func (g *Globals) annotate(s Streams, diags []catalog.Diagnostic) {
	if !g.github && os.Getenv("GITHUB_ACTIONS") != "true" {
		return
	}
	out := s.Out
	if g.machineOutput {
		out = s.Err
	}
	catalog.Annotate(out, diags, os.Getenv("GITHUB_WORKSPACE"))
}

// colour reports whether output to w is coloured: as --color (or
// --no-color) says; without either, FORCE_COLOR (set and not 0) forces
// colour and NO_COLOR (set) turns it off, FORCE_COLOR winning as it does
// for Node.js tools, since it is the one set for a single job; else
// colour goes only to a terminal.
func (g *Globals) colour(w io.Writer) bool {
	mode := g.Color
	if g.NoColor {
		mode = "never"
	}
	if !g.given["color"] && !g.given["no-color"] {
		if force := os.Getenv("FORCE_COLOR"); force != "" && force != "0" {
			mode = "always"
		} else if os.Getenv("NO_COLOR") != "" {
			mode = "never"
		}
	}
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	return isTerminal(w)
}

func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	// A character device is not enough: /dev/null is one too.
	return ok && term.IsTerminal(int(f.Fd()))
}
