package main

// The lower bounds. Each runs in a child process of its own (the bench
// program started again with childEnv set), so that its CPU time and peak
// resident set come from the operating system exactly as personactl's do,
// apart from the server, which stays in the parent and counts requests.

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/state/authdb"
)

// childEnv names the environment variable that makes the program run one
// child job (its value) instead of the benchmark.
const childEnv = "PERSONACTL_BENCH_CHILD"

// childResult is what a child job prints on its standard output, as JSON.
type childResult struct {
	Items int `json:"items"` // personas handled
}

// childMain runs the job named by childEnv and returns the exit status.
func childMain(job string, args []string, stdout, stderr io.Writer) int {
	if job == "launch" {
		return launchMain(args)
	}
	fs := flag.NewFlagSet(job, flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "", "mana-auth-dev's base URL")
	parallelism := fs.Int("parallelism", 10, "requests in flight")
	catalogPath := fs.String("catalog", "", "catalog file")
	dsn := fs.String("dsn", "", "mana-auth's database")
	pending := fs.String("pending", "", "file of the addresses to check, one a line")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx := context.Background()
	var res childResult
	var err error
	switch job {
	case "bare-plan":
		res.Items, err = newBare(*base, *parallelism).read(ctx, false)
	case "bare-destroy":
		res.Items, err = newBare(*base, *parallelism).read(ctx, true)
	case "bare-apply":
		res.Items, err = newBare(*base, *parallelism).create(ctx, *catalogPath)
	case "bare-live":
		res.Items, err = bareLive(ctx, *dsn, *pending)
	default:
		err = fmt.Errorf("unknown child job %q", job)
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", job, err)
		return 1
	}
	if err := json.NewEncoder(stdout).Encode(res); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", job, err)
		return 1
	}
	return 0
}

// bare issues admin API requests with the transport personactl's client
// builds for itself: keep-alive, as many connections as requests in flight.
type bare struct {
	hc          *http.Client
	base, token string
	parallelism int
}

func newBare(base string, parallelism int) *bare {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxConnsPerHost = parallelism
	t.MaxIdleConnsPerHost = parallelism
	t.MaxIdleConns = parallelism
	return &bare{hc: &http.Client{Transport: t}, base: base, token: os.Getenv("MANA_ADMIN_JWT"), parallelism: parallelism}
}

// do sends one request and reads its answer whole; want is the status
// expected.
func (b *bare) do(ctx context.Context, method, path string, body []byte, want int) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, b.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+b.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != want {
		err = fmt.Errorf("%s %s: status %d, want %d", method, path, resp.StatusCode, want)
	}
	return raw, err
}

// each runs fn for every item, parallelism at a time, and returns the
// first error.
func each[T any](parallelism int, items []T, fn func(T) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	sem := make(chan struct{}, parallelism)
	for _, it := range items {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := fn(it); err != nil {
				mu.Lock()
				first = cmp(first, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return first
}

func cmp(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

const pathPersonas = "/api/v1/admin/personas"

// list reads the persona list and returns the user ids in it.
func (b *bare) list(ctx context.Context) ([]string, error) {
	raw, err := b.do(ctx, http.MethodGet, pathPersonas, nil, http.StatusOK)
	if err != nil {
		return nil, err
	}
	var answer struct {
		Personas []struct {
			UserID string `json:"userId"`
		} `json:"personas"`
	}
	if err := json.Unmarshal(raw, &answer); err != nil {
		return nil, err
	}
	ids := make([]string, len(answer.Personas))
	for i, p := range answer.Personas {
		ids[i] = p.UserID
	}
	return ids, nil
}

// read is the lower bound of a plan over the API: the list and each
// persona's detail, read whole. With del it then deletes each of them, the
// lower bound of a destroy.
func (b *bare) read(ctx context.Context, del bool) (int, error) {
	ids, err := b.list(ctx)
	if err != nil {
		return 0, err
	}
	if err := each(b.parallelism, ids, func(id string) error {
		_, err := b.do(ctx, http.MethodGet, pathPersonas+"/"+id, nil, http.StatusOK)
		return err
	}); err != nil {
		return 0, err
	}
	if del {
		if err := each(b.parallelism, ids, func(id string) error {
			_, err := b.do(ctx, http.MethodDelete, pathPersonas+"/"+id, nil, http.StatusOK)
			return err
		}); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// create is the lower bound of an apply of creates, in personactl's
// order: the list (which finds nobody), the users search for each
// persona's exact address, then the upsert of each. (Interleaving them
// would make every search scan the users created so far: slower, so no
// lower bound.)
func (b *bare) create(ctx context.Context, catalogPath string) (int, error) {
	c, err := readCatalog(catalogPath)
	if err != nil {
		return 0, err
	}
	secret, err := catalog.ResolveSecret(os.LookupEnv)
	if err != nil {
		return 0, err
	}
	if _, err := b.list(ctx); err != nil {
		return 0, err
	}
	err = each(b.parallelism, c.Personas, func(p benchPersona) error {
		raw, err := b.do(ctx, http.MethodGet, "/api/v1/admin/users?search="+url.QueryEscape(p.Email)+"&limit=100", nil, http.StatusOK)
		if err != nil {
			return err
		}
		var found struct {
			Users []struct {
				Email string `json:"email"`
			} `json:"users"`
		}
		if err := json.Unmarshal(raw, &found); err != nil {
			return err
		}
		for _, u := range found.Users {
			if strings.EqualFold(u.Email, p.Email) {
				return fmt.Errorf("%s is taken", p.Email)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	type upsert struct {
		benchPersona
		Password string `json:"password"`
	}
	err = each(b.parallelism, c.Personas, func(p benchPersona) error {
		body, err := json.Marshal(upsert{benchPersona: p, Password: secret.Password(p.Email)})
		if err != nil {
			return err
		}
		_, err = b.do(ctx, http.MethodPost, pathPersonas, body, http.StatusOK)
		return err
	})
	return len(c.Personas), err
}

// bareLive is the lower bound of plan --live: connect, read every persona
// with the reader's query in a read-only transaction, and, when addresses
// are pending, look them all up with the reader's one bulk query.
func bareLive(ctx context.Context, dsn, pendingFile string) (int, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read only
	rows, err := tx.Query(ctx, authdb.PersonasQuery, time.Now().Add(-7*24*time.Hour))
	if err != nil {
		return 0, err
	}
	n := 0
	for rows.Next() {
		var (
			id, email, name, archetype, prompt, cadence string
			mix                                         []byte
			created                                     time.Time
			lastActive                                  *time.Time
			a7d, actions, feedback                      int64
		)
		if err := rows.Scan(&id, &email, &name, &archetype, &prompt, &mix, &cadence, &created, &lastActive, &a7d, &actions, &feedback); err != nil {
			rows.Close()
			return 0, err
		}
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if pendingFile == "" {
		return n, nil
	}
	data, err := os.ReadFile(pendingFile)
	if err != nil {
		return 0, err
	}
	addrs := strings.Fields(string(data))
	rows, err = conn.Query(ctx, authdb.AddressOwnersQuery, addrs)
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var email, kind string
		if err := rows.Scan(&email, &kind); err != nil {
			rows.Close()
			return 0, err
		}
	}
	rows.Close()
	return n, rows.Err()
}
