package main

// The lower bounds. Each runs in a child process of its own (the bench
// program started again with childEnv set), so that its CPU time and peak
// resident set come from the operating system exactly as personactl's do,
// apart from the server, which stays in the parent and counts requests:
// a lower bound that sent other requests than personactl fails its row.

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
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/state/adminapi"
	"github.com/mana/personactl/state/authdb"
)

// childEnv names the environment variable that makes the program run one
// child job (its value) instead of the benchmark.
const childEnv = "PERSONACTL_BENCH_CHILD"

// childMain runs the job named by childEnv and returns the exit status.
func childMain(job string, args []string, stderr io.Writer) int {
	if job == "launch" {
		return launchMain(args)
	}
	fs := flag.NewFlagSet(job, flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "", "mana-auth-dev's base URL")
	n := fs.Int("n", 0, "bare-apply: personas to create")
	dsn := fs.String("dsn", "", "mana-auth's database")
	pending := fs.String("pending", "", "file of the addresses to check, one a line")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx := context.Background()
	var err error
	switch job {
	case "bare-plan":
		err = newBare(*base).read(ctx, false)
	case "bare-destroy":
		err = newBare(*base).read(ctx, true)
	case "bare-apply":
		err = newBare(*base).create(ctx, catalogOf(*n, 0))
	case "bare-live":
		err = bareLive(ctx, *dsn, *pending)
	default:
		err = fmt.Errorf("unknown child job %q", job)
	}
	if err != nil {
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
}

func newBare(base string) *bare {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxConnsPerHost = parallelism
	t.MaxIdleConnsPerHost = parallelism
	t.MaxIdleConns = parallelism
	return &bare{hc: &http.Client{Transport: t}, base: base, token: os.Getenv("MANA_ADMIN_JWT")}
}

// call is one request of a bare loop.
type call struct {
	method, path string
	body         []byte
}

// do sends one request and reads its answer whole; any status but 200 fails.
func (b *bare) do(ctx context.Context, c call) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, c.method, b.base+c.path, bytes.NewReader(c.body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+b.token)
	if c.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s %s: status %d", c.method, c.path, resp.StatusCode)
	}
	return raw, err
}

// send sends every call, parallelism at a time, and returns the first failure.
func (b *bare) send(ctx context.Context, calls []call) error {
	var g errgroup.Group
	g.SetLimit(parallelism)
	for _, c := range calls {
		g.Go(func() error {
			_, err := b.do(ctx, c)
			return err
		})
	}
	return g.Wait()
}

const pathPersonas = "/api/v1/admin/personas"

// list reads the persona list and returns the user ids in it.
func (b *bare) list(ctx context.Context) ([]string, error) {
	raw, err := b.do(ctx, call{method: http.MethodGet, path: pathPersonas})
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
func (b *bare) read(ctx context.Context, del bool) error {
	ids, err := b.list(ctx)
	if err != nil {
		return err
	}
	gets, deletes := make([]call, len(ids)), make([]call, len(ids))
	for i, id := range ids {
		gets[i] = call{method: http.MethodGet, path: pathPersonas + "/" + id}
		deletes[i] = call{method: http.MethodDelete, path: gets[i].path}
	}
	if err := b.send(ctx, gets); err != nil || !del {
		return err
	}
	return b.send(ctx, deletes)
}

// create is the lower bound of an apply of creates, in personactl's
// order: the list (which finds nobody), the users search for each
// persona's exact address, then the upsert of each, its body encoded as
// personactl's client encodes it. (Interleaving them would make every
// search scan the users created so far: slower, so no lower bound.)
func (b *bare) create(ctx context.Context, personas []catalog.Persona) error {
	secret, err := catalog.ResolveSecret(os.LookupEnv)
	if err != nil {
		return err
	}
	if _, err := b.list(ctx); err != nil {
		return err
	}
	searches, upserts := make([]call, len(personas)), make([]call, len(personas))
	for i, p := range personas {
		searches[i] = call{method: http.MethodGet, path: "/api/v1/admin/users?search=" + url.QueryEscape(p.Email) + "&limit=100"}
		body, err := json.Marshal(adminapi.UpsertRequest{Email: p.Email, Name: p.Name, Password: secret.Password(p.Email),
			Archetype: p.Archetype, SystemPrompt: p.SystemPrompt, ModuleMix: p.ModuleMix, TickCadence: p.TickCadence})
		if err != nil {
			return err
		}
		upserts[i] = call{method: http.MethodPost, path: pathPersonas, body: body}
	}
	if err := b.send(ctx, searches); err != nil {
		return err
	}
	return b.send(ctx, upserts)
}

// bareLive is the lower bound of plan --live: connect, read every persona
// with the reader's query in a read-only transaction, and, when addresses
// are pending, look them all up with the reader's one bulk query.
func bareLive(ctx context.Context, dsn, pendingFile string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read only
	var (
		id, email, name, archetype, prompt, cadence string
		mix                                         []byte
		created                                     time.Time
		lastActive                                  *time.Time
		a7d, actions, feedback                      int64
	)
	rows, err := tx.Query(ctx, authdb.PersonasQuery, time.Now().Add(-7*24*time.Hour))
	if err != nil {
		return err
	}
	if _, err := pgx.ForEachRow(rows, []any{&id, &email, &name, &archetype, &prompt, &mix, &cadence, &created, &lastActive, &a7d, &actions, &feedback}, func() error { return nil }); err != nil {
		return err
	}
	if pendingFile == "" {
		return nil
	}
	data, err := os.ReadFile(pendingFile)
	if err != nil {
		return err
	}
	var (
		kind     string
		signedIn bool
	)
	if rows, err = conn.Query(ctx, authdb.AddressHoldersQuery, strings.Fields(string(data))); err != nil {
		return err
	}
	_, err = pgx.ForEachRow(rows, []any{&email, &kind, &id, &created, &signedIn}, func() error { return nil })
	return err
}
