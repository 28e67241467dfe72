package main

import (
	"context"
	"errors"
	"fmt"
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

// needs says what a command needs from open.
type needs struct {
	// catalog: false when a saved plan already holds the desired values.
	catalog bool
	// catalogOptional: a missing catalog file is an empty catalog (destroy).
	catalogOptional bool
	// secret: the run may derive passwords (creates, updates, replaces).
	secret bool
	// writes: the run writes through the admin API, which needs a token
	// even when --live reads from mana-auth's database.
	writes bool
}

// open checks everything that can be checked before a request is sent (the
// catalog, the URL, the seed secret, the token), then opens the state and the
// live reader.
func open(ctx context.Context, g *Globals, s Streams, n needs) (*session, error) {
	sess := &session{g: g, catalog: &catalog.Catalog{Path: g.Catalog}}
	if g.Parallelism < 1 {
		return nil, fmt.Errorf("--parallelism=%d: it must be at least 1", g.Parallelism)
	}
	if n.catalog {
		c, err := g.loadCatalog(s)
		switch {
		case err == nil:
			sess.catalog = c
		case !n.catalogOptional || !errors.Is(err, fs.ErrNotExist):
			return nil, err
		}
	}
	u, err := g.authURL()
	if err != nil {
		return nil, err
	}
	if n.secret {
		if sess.secret, err = g.secret(u); err != nil {
			return nil, err
		}
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
	live, err := s.live.Personas(ctx)
	if err != nil {
		return err
	}
	s.recorded = st
	s.input = plan.Input{Desired: s.catalog.Personas, Recorded: st.Personas, Live: live, Workspace: s.g.Workspace, Lineage: st.Lineage, Serial: st.Serial}
	return nil
}

// takenAmong records which of the addresses belong to a user who is not a
// persona, in the input the next plan or staleness check reads.
func (s *session) takenAmong(ctx context.Context, emails []string) error {
	taken, err := state.TakenAddresses(ctx, s.live, emails, s.g.Parallelism)
	s.input.NotPersonas = taken
	return err
}

// plan reads afresh and computes the plan. The addresses it would create are
// checked with mana-auth; when one belongs to a person, the plan is computed
// again with that error in it.
func (s *session) plan(ctx context.Context, opts plan.Options) (*plan.Plan, error) {
	if err := s.read(ctx); err != nil {
		return nil, err
	}
	p := plan.Compute(s.input, opts)
	if creates := p.Creates(); len(creates) > 0 {
		if err := s.takenAmong(ctx, creates); err != nil {
			return nil, err
		}
		if len(s.input.NotPersonas) > 0 {
			p = plan.Compute(s.input, opts)
		}
	}
	return p, nil
}

// saved reads afresh and checks a saved plan against it: the recorded state,
// every live persona it acts on, and the owners of the addresses it creates.
func (s *session) saved(ctx context.Context, p *plan.Plan) (stale []string, err error) {
	if err := s.read(ctx); err != nil {
		return nil, err
	}
	if err := s.takenAmong(ctx, p.Creates()); err != nil {
		return nil, err
	}
	return p.Stale(s.input), nil
}
