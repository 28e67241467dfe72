package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/mana/personactl/apply/reconcile"
	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/state"
	"github.com/mana/personactl/state/adminapi"
	"github.com/mana/personactl/state/authdb"
)

// session holds the adapters a command opened and the loop built on them.
type session struct {
	g      *Globals
	secret *catalog.Secret
	// client writes (and reads, without --live); nil for a read-only run
	// with --live and no token.
	client  *adminapi.Client
	live    state.Live
	backend state.Backend
	loop    *reconcile.Session
}

// needs says what a command needs from open.
type needs struct {
	// catalog: false when a saved plan already holds the desired values.
	catalog bool
	// catalogOptional: a missing catalog file is an empty catalog (destroy).
	catalogOptional bool
	// secret: the run may derive passwords (creates, updates, replaces).
	secret bool
	// secretIfSet: use the seed secret only when PERSONA_SEED_SECRET is set
	// (drift checks credentials then, and says it did not otherwise).
	secretIfSet bool
	// writes: the run writes through the admin API, which needs a token
	// even when --live reads from mana-auth's database.
	writes bool
}

// open checks everything that can be checked before a request is sent (the
// URL, the seed secret, the token, the flags), then opens the state and the
// live reader. The catalog is read by the loop, while live is read.
func open(ctx context.Context, g *Globals, s Streams, n needs) (*session, error) {
	if g.Parallelism < 1 {
		return nil, fmt.Errorf("--parallelism=%d: it must be at least 1", g.Parallelism)
	}
	if g.LockTimeout < 0 {
		return nil, fmt.Errorf("--lock-timeout=%s: it must not be negative; 0s fails at once when the state is locked", g.LockTimeout)
	}
	sess := &session{g: g}
	u, err := g.authURL()
	if err != nil {
		return nil, err
	}
	if _, set := os.LookupEnv("PERSONA_SEED_SECRET"); n.secret || (n.secretIfSet && set) {
		sec, err := g.secret(u)
		if err != nil {
			return nil, err
		}
		sess.secret = &sec
	}
	if g.Live == "" || n.writes || g.JWT != "" {
		if sess.client, err = g.client(u); err != nil {
			return nil, err
		}
		sess.live = sess.client.Reader()
	}
	if g.Live != "" {
		reader, err := authdb.Open(ctx, g.Live)
		if err != nil {
			sess.close()
			return nil, err
		}
		sess.live = reader
	}
	backend, err := g.backend(ctx)
	if err != nil {
		sess.close()
		return nil, err
	}
	sess.backend = backend
	sess.loop = &reconcile.Session{
		Backend:        testHooks.WrapBackend(backend),
		Live:           testHooks.WrapLive(sess.live),
		Secret:         sess.secret,
		Workspace:      g.Workspace,
		Parallelism:    g.Parallelism,
		CountsRequests: g.Live == "",
		Notify:         func(msg string) { fmt.Fprintln(s.Err, msg) },
	}
	if n.catalog {
		sess.loop.Catalog = func() (*catalog.Catalog, error) {
			c, err := g.loadCatalog(s)
			if n.catalogOptional && errors.Is(err, fs.ErrNotExist) {
				return &catalog.Catalog{Path: g.Catalog}, nil
			}
			return c, err
		}
	}
	return sess, nil
}

func (s *session) close() {
	if r, ok := s.live.(*authdb.Reader); ok {
		r.Close()
	}
	if s.client != nil {
		s.client.Close()
	}
	if s.backend != nil {
		s.backend.Close()
	}
}
