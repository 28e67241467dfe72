package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mana/personactl/manaauthdev"
	"github.com/mana/personactl/manaauthdev/devtest"
)

// server is mana-auth-dev, served from this process on loopback so that
// its request counters (Faults) can be read between runs.
type server struct {
	store string // "memory" or "postgres"
	url   string
	token string // an admin token the server minted; never printed
	dsn   string // the database of a PostgreSQL store
	srv   *manaauthdev.Server
	pg    *manaauthdev.PostgresStore
	hs    *http.Server
	drop  func() error // drops the database of a PostgreSQL store
}

// startServer serves mana-auth-dev with its data in memory, or in a new
// database created on the PostgreSQL server at baseDSN.
func startServer(ctx context.Context, store, baseDSN string) (*server, error) {
	s := &server{store: store}
	var st manaauthdev.Store
	switch store {
	case "memory":
		st = manaauthdev.NewMemoryStore()
	case "postgres":
		dsn, drop, err := devtest.CreateDatabase(ctx, baseDSN, "")
		if errors.Is(err, devtest.ErrNoServer) {
			return nil, fmt.Errorf("%w; start it, point --db at one, or pass --stores=memory", err)
		} else if err != nil {
			return nil, err
		}
		s.dsn, s.drop = dsn, drop
		if s.pg, err = manaauthdev.OpenPostgres(ctx, dsn); err != nil {
			drop()
			return nil, err
		}
		st = s.pg
	default:
		return nil, fmt.Errorf("unknown store %q; use memory or postgres", store)
	}
	s.srv = manaauthdev.New(manaauthdev.Options{Store: st})
	s.token = s.srv.MintToken(manaauthdev.RoleAdmin, 12*time.Hour)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.close()
		return nil, err
	}
	s.url = "http://" + ln.Addr().String()
	s.hs = &http.Server{Handler: s.srv, ReadHeaderTimeout: 10 * time.Second}
	go s.hs.Serve(ln)
	return s, nil
}

// counts returns the server's request counters now.
func (s *server) counts() map[string]int { return s.srv.Faults().Counts() }

// since returns the requests counted after before.
func (s *server) since(before map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range s.counts() {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// personas counts the live personas, as the store holds them.
func (s *server) personas(ctx context.Context) (int, error) {
	l, err := s.srv.Store().ListPersonas(ctx, time.Now())
	return len(l), err
}

func (s *server) close() {
	if s.hs != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.hs.Shutdown(ctx)
		cancel()
	}
	if s.pg != nil {
		s.pg.Close()
	}
	if s.drop != nil {
		s.drop()
	}
}

// exec runs one statement on the PostgreSQL store's database.
func (s *server) exec(ctx context.Context, sql string, args ...any) error {
	conn, err := pgx.Connect(ctx, s.dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql, args...)
	return err
}

// seedUsers adds people (kind human, never signed in) to the users table
// until it holds total rows, straight in the database as sign-ups would
// leave them.
func (s *server) seedUsers(ctx context.Context, total int) error {
	err := s.exec(ctx, `
INSERT INTO auth.users (id, name, email, email_verified, kind, created_at, updated_at)
SELECT 'human' || g, 'Person ' || g, 'person.' || g || '@example.test', true, 'human', now() - g * interval '1 minute', now()
FROM generate_series(1, $1 - (SELECT count(*) FROM auth.users)) AS g`, total)
	if err != nil {
		return err
	}
	return s.exec(ctx, `ANALYZE auth.users`)
}

// dropSeededUsers removes what seedUsers added.
func (s *server) dropSeededUsers(ctx context.Context) error {
	return s.exec(ctx, `DELETE FROM auth.users WHERE id LIKE 'human%' AND kind = 'human'`)
}

// settle cleans up a PostgreSQL store (VACUUM ANALYZE) as autovacuum
// would on a database in steady use, so that both sides of a row meet the
// same tables: without it, a side that runs after 10,000 deletes has every
// users search scan 10,000 dead rows, and the foreign keys' cascades keep
// plans made while a table was still empty. A memory store has nothing to
// settle.
func (s *server) settle(ctx context.Context) error {
	if s.dsn == "" {
		return nil
	}
	return s.exec(ctx, `VACUUM ANALYZE`)
}
