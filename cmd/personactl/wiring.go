package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/state"
	"github.com/mana/personactl/state/adminapi"
	"github.com/mana/personactl/state/file"
	"github.com/mana/personactl/state/postgres"
)

// loadCatalog reads and validates the catalog, printing its warnings.
func (g *Globals) loadCatalog(s Streams) (*catalog.Catalog, error) {
	c, err := catalog.Load(g.Catalog, catalog.Options{Format: g.CatalogFormat, Strict: g.Strict, Stdin: s.In})
	if err != nil {
		var diags catalog.Errors
		if errors.As(err, &diags) {
			g.annotate(s, diags)
			return nil, fmt.Errorf("the catalog has %d error(s); fix them and run again:\n%w", len(diags), err)
		}
		return nil, err
	}
	for _, w := range c.Warnings {
		fmt.Fprintln(s.Err, w.String())
	}
	g.annotate(s, c.Warnings)
	return c, nil
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
		out = s.Err // the runner reads workflow commands there too
	}
	catalog.Annotate(out, diags, os.Getenv("GITHUB_WORKSPACE"))
}

// authURL parses --auth and refuses plain http to a host off loopback.
func (g *Globals) authURL() (*url.URL, error) {
	u, err := url.Parse(g.Auth)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--auth / MANA_AUTH_URL %q is not an http(s) URL; set it to mana-auth's base URL, e.g. http://localhost:3001", adminapi.Redact(g.Auth))
	}
	if u.Scheme == "http" && !catalog.IsLoopback(u) && !g.InsecureHTTP {
		return nil, fmt.Errorf("refusing plain http:// to %s, which is not on loopback: the admin token and persona passwords would cross the network unencrypted; use https://, or pass --insecure-http if you must", u.Host)
	}
	return u, nil
}

// secret resolves PERSONA_SEED_SECRET with every refusal of catalog.md.
func (g *Globals) secret(u *url.URL) (catalog.Secret, error) {
	sec, err := catalog.ResolveSecret(os.LookupEnv)
	if err != nil {
		return catalog.Secret{}, err
	}
	return sec, sec.CheckServer(u, g.AllowDevSecret)
}

// client builds the admin API client once the URL and token are checked.
func (g *Globals) client(u *url.URL) (*adminapi.Client, error) {
	token, err := g.token()
	if err != nil {
		return nil, err
	}
	if token == "" {
		return nil, errors.New("no admin token: set MANA_ADMIN_JWT, or MANA_ADMIN_JWT_FILE / --jwt-file to a file holding it, to an admin JWT for " + adminapi.Redact(u.String()))
	}
	return adminapi.New(adminapi.Options{BaseURL: u.String(), Token: token, Parallelism: g.Parallelism})
}

// token returns the admin JWT from --jwt / MANA_ADMIN_JWT, or from the
// file --jwt-file / MANA_ADMIN_JWT_FILE names ("-": standard input).
func (g *Globals) token() (string, error) {
	if g.JWTFile == "" {
		if g.jwtInArgs && g.JWT != "" && g.stderr != nil {
			fmt.Fprintln(g.stderr, "Warning: --jwt on the command line is visible to every user of this machine (ps, /proc/PID/cmdline) and stays in your shell history; set MANA_ADMIN_JWT, or --jwt-file=PATH / MANA_ADMIN_JWT_FILE, instead.")
		}
		return g.JWT, nil
	}
	if g.JWT != "" {
		return "", errors.New("both an admin JWT (--jwt or MANA_ADMIN_JWT) and a file holding one (--jwt-file or MANA_ADMIN_JWT_FILE) are set; keep one")
	}
	var data []byte
	var err error
	if g.JWTFile == "-" {
		data, err = io.ReadAll(io.LimitReader(g.stdin, 64<<10))
	} else {
		data, err = os.ReadFile(g.JWTFile)
	}
	if err != nil {
		return "", fmt.Errorf("reading the admin JWT from %s: %w; point --jwt-file / MANA_ADMIN_JWT_FILE at a readable file holding the token", g.JWTFile, err)
	}
	token := strings.TrimSpace(string(data))
	if token == "" || strings.ContainsAny(token, " \t\n") {
		return "", fmt.Errorf("%s does not hold one admin JWT (it is empty or has several words); write only the token to it", g.JWTFile)
	}
	return token, nil
}

// jwtInArgs reports whether the admin JWT was passed as a command-line
// argument, where every user of the machine can read it.
func jwtInArgs(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "--jwt" || strings.HasPrefix(a, "--jwt=") {
			return true
		}
	}
	return false
}

// backend opens the recorded state named by --state.
func (g *Globals) backend(ctx context.Context) (state.Backend, error) {
	if isDSN(g.State) {
		if strings.TrimSpace(g.Workspace) == "" {
			return nil, errors.New("--workspace / PERSONACTL_WORKSPACE is empty; name the workspace of the PostgreSQL state, e.g. --workspace=default")
		}
		b, err := postgres.Open(ctx, g.State, g.Workspace, postgres.Options{Retain: g.HistoryRetain})
		if err != nil {
			return nil, err // never a typed nil: callers test the interface
		}
		return b, nil
	}
	b, err := file.New(g.State, file.Options{Retain: g.HistoryRetain, Warn: func(msg string) { fmt.Fprintln(g.stderr, "Warning: "+msg) }})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// isDSN reports whether --state names a PostgreSQL database.
func isDSN(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// colour reports whether output to w may be coloured.
func (g *Globals) colour(w io.Writer) bool {
	if g.NoColor || os.Getenv("NO_COLOR") != "" {
		return false
	}
	return isTerminal(w)
}

func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	// A character device is not enough: /dev/null is one too.
	return ok && term.IsTerminal(int(f.Fd()))
}
