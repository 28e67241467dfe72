package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

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
			return nil, fmt.Errorf("the catalog has %d error(s); fix them and run again:\n%w", len(diags), err)
		}
		return nil, err
	}
	for _, w := range c.Warnings {
		fmt.Fprintln(s.Err, w.String())
	}
	return c, nil
}

// authURL parses --auth and refuses plain http to a host off loopback.
func (g *Globals) authURL() (*url.URL, error) {
	u, err := url.Parse(g.Auth)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--auth / MANA_AUTH_URL %q is not an http(s) URL; set it to mana-auth's base URL, e.g. http://localhost:3001", g.Auth)
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
	if g.JWT == "" {
		return nil, errors.New("no admin token: set MANA_ADMIN_JWT (or pass --jwt) to an admin JWT for " + u.Redacted())
	}
	return adminapi.New(adminapi.Options{BaseURL: u.String(), Token: g.JWT, Parallelism: g.Parallelism})
}

// backend opens the recorded state named by --state.
func (g *Globals) backend(ctx context.Context) (state.Backend, error) {
	if strings.HasPrefix(g.State, "postgres://") || strings.HasPrefix(g.State, "postgresql://") {
		return postgres.Open(ctx, g.State, g.Workspace)
	}
	return file.New(g.State)
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

// reportInterrupted tells about applies that died before they finished.
func reportInterrupted(ctx context.Context, b state.Backend, w io.Writer) ([]state.JournalEntry, error) {
	open, err := b.OpenJournals(ctx)
	if err != nil {
		return nil, err
	}
	for _, e := range open {
		done := 0
		for _, s := range e.Steps {
			if s.Outcome == state.StepDone {
				done++
			}
		}
		fmt.Fprintf(w, "Warning: an earlier %s (journal %s) started %s was interrupted after %d finished step(s) of its plan; live personas are read afresh and apply converges them.\n",
			e.Operation, e.ID, e.Started.UTC().Format(time.RFC3339), done)
	}
	return open, nil
}
