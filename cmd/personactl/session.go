package main

import (
	"context"
	"errors"
	"io/fs"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/plan"
	"github.com/mana/personactl/state"
	"github.com/mana/personactl/state/adminapi"
	"github.com/mana/personactl/state/authdb"
)

// session holds the pieces a plan or apply is built from.
type session struct {
	g       *Globals
	catalog *catalog.Catalog
	secret  catalog.Secret
	// client writes (and reads, without --live); nil for a read-only run
	// with --live and no token.
	client  *adminapi.Client
	live    state.Live
	backend state.Backend

	recorded *state.State
	input    plan.Input
}

// open checks everything that can be checked before a request is sent (the
// catalog, the URL, the seed secret, the token), then opens the state and the
// live reader. A destroy may run without a catalog file: every persona then
// counts as not in the catalog. writes says the run will write to mana-auth,
// which needs the admin API even when --live reads from its database.
func open(ctx context.Context, g *Globals, s Streams, destroy, writes bool) (*session, error) {
	sess := &session{g: g}
	var err error
	sess.catalog, err = g.loadCatalog(s)
	if err != nil {
		if !destroy || !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		sess.catalog = &catalog.Catalog{Path: g.Catalog}
	}
	u, err := g.authURL()
	if err != nil {
		return nil, err
	}
	if sess.secret, err = g.secret(u); err != nil {
		return nil, err
	}
	if g.Live == "" || writes || g.JWT != "" {
		if sess.client, err = g.client(u); err != nil {
			return nil, err
		}
		sess.live = &apiLive{c: sess.client}
	}
	if g.Live != "" {
		reader, err := authdb.Open(ctx, g.Live)
		if err != nil {
			sess.close()
			return nil, err
		}
		sess.live = reader
	}
	if sess.backend, err = g.backend(ctx); err != nil {
		sess.close()
		return nil, err
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

// read takes fresh snapshots of the recorded and live sides.
func (s *session) read(ctx context.Context) error {
	st, err := s.backend.Read(ctx)
	if err != nil {
		return err
	}
	s.recorded = st
	s.input, err = snapshot(ctx, s.g, s.catalog.Personas, st, s.live)
	return err
}

// plan reads afresh and computes the plan.
func (s *session) plan(ctx context.Context, opts plan.Options) (*plan.Plan, error) {
	if err := s.read(ctx); err != nil {
		return nil, err
	}
	return plan.Compute(s.input, opts), nil
}
