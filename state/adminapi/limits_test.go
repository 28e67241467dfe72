package adminapi_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mana/personactl/state/adminapi"
)

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://localhost:3001", "http://localhost:3001"},
		{"https://auth.example.test/base?sig=s3cr3t&exp=99#frag", "https://auth.example.test/base?sig=xxxxx&exp=xxxxx#xxxxx"},
		{"http://user:hunter2@127.0.0.1:1/x", "http://user:xxxxx@127.0.0.1:1/x"},
		{"http://user@127.0.0.1:1/x", "http://user@127.0.0.1:1/x"},
		{"postgres://user:pw@host/db?password=x&sslmode=disable", "postgres://user:xxxxx@host/db?password=xxxxx&sslmode=xxxxx"},
		{"postgres://u:hunter2@host:notaport/db?password=x", "postgres://u:xxxxx@host:notaport/db?password=xxxxx"},
		{"postgres://u:p%zz@host/db", "postgres://u:xxxxx@host/db"},
		{"http://h/?token", "http://h/?xxxxx"},
		{"http://h/?a=1&&b", "http://h/?a=xxxxx&&xxxxx"},
		{"host=db user=u password=hunter2 dbname=x", "host=db user=u password=xxxxx dbname=x"},
		{"host=db password='hunter 2' sslmode=disable", "host=db password=xxxxx sslmode=disable"},
		{"localhost:3001", "localhost:3001"},
		{"u:hunter2@host", "u:xxxxx@host"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := adminapi.Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestURLSecretsNeverShow(t *testing.T) {
	// A query secret in --auth is refused, and the refusal does not show it.
	_, err := adminapi.New(adminapi.Options{BaseURL: "https://auth.example.test/?sig=s3cr3t-signature"})
	if err == nil || strings.Contains(err.Error(), "s3cr3t") || !strings.Contains(err.Error(), "sig=xxxxx") {
		t.Errorf("New with a query secret: %v", err)
	}
	_, err = adminapi.New(adminapi.Options{BaseURL: "ftp://u:hunter2@host/?sig=s3cr3t"})
	if err == nil || strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("New with a bad scheme: %v", err)
	}
	// net/http's own errors carry the whole URL: none of it leaks either.
	c := newClient(t, adminapi.Options{BaseURL: "http://user:hunter2@127.0.0.1:1", Token: jwt(map[string]any{"role": "admin"}), Retry: adminapi.RetryBudget{Attempts: 1}})
	_, err = c.Personas(context.Background())
	if err == nil {
		t.Fatal("no error from a closed port")
	}
	for _, form := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), errors.Unwrap(err).Error()} {
		if strings.Contains(form, "hunter2") {
			t.Errorf("the URL's password shows: %s", form)
		}
	}
	wantIn(t, err.Error(), "cannot reach mana-auth at http://user:xxxxx@127.0.0.1:1")
}

// endless writes a JSON answer that never ends: prefix, then unit forever,
// counting what it managed to write.
type endless struct {
	path          string
	prefix, unit  string
	contentLength int64
	written       atomic.Int64
}

func (e *endless) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != e.path {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, listOne)
		return
	}
	if e.contentLength > 0 {
		w.Header().Set("Content-Length", fmt.Sprint(e.contentLength))
	}
	w.Header().Set("Content-Type", "application/json")
	n, err := io.WriteString(w, e.prefix)
	e.written.Add(int64(n))
	chunk := strings.Repeat(e.unit, 64<<10/len(e.unit))
	for err == nil && e.written.Load() < 100<<20 {
		n, err = io.WriteString(w, chunk)
		e.written.Add(int64(n))
	}
}

func TestLongAnswersStopAtTheirCap(t *testing.T) {
	entry := `{"userId":"u1","email":"persona.a@mana.test","name":"A","archetype":"x","tickCadence":"daily","lastActiveAt":null,"createdAt":"2026-04-22T10:11:12.345Z","actions7d":2},`
	tests := []struct {
		name   string
		server *endless
		call   func(c *adminapi.Client) error
		limit  int64
		want   []string
	}{
		{"a list of 100 MB", &endless{path: "/api/v1/admin/personas", prefix: `{"personas":[`, unit: entry},
			func(c *adminapi.Client) error { _, err := c.Personas(context.Background()); return err }, adminapi.MaxListBody,
			[]string{"GET /api/v1/admin/personas: the answer is longer than the 32 MiB this endpoint is allowed"}},
		{"a detail of 100 MB in one string", &endless{path: "/api/v1/admin/personas/u1", prefix: `{"persona":{"userId":"u1","systemPrompt":"`, unit: "Du bist "},
			func(c *adminapi.Client) error { _, err := c.Detail(context.Background(), "u1"); return err }, adminapi.MaxOtherBody,
			[]string{"GET /api/v1/admin/personas/u1: the answer is longer than the 4 MiB this endpoint is allowed"}},
		{"a detail announcing 100 MB", &endless{path: "/api/v1/admin/personas/u1", prefix: `{"persona":{"userId":"u1","systemPrompt":"`, unit: "Du bist ", contentLength: 100 << 20},
			func(c *adminapi.Client) error { _, err := c.Detail(context.Background(), "u1"); return err }, 0,
			[]string{"GET /api/v1/admin/personas/u1: the answer is 104857600 bytes, more than the 4 MiB this endpoint is allowed"}},
		{"an upsert answer of 100 MB", &endless{path: "/api/v1/admin/personas", prefix: `{"ok":true,"padding":"`, unit: "x"},
			func(c *adminapi.Client) error {
				_, err := c.Upsert(context.Background(), validRequest("persona.a@mana.test"))
				return err
			}, adminapi.MaxOtherBody,
			[]string{"POST /api/v1/admin/personas: the answer is longer than the 4 MiB"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, adminapi.Options{BaseURL: serve(t, tt.server), Token: jwt(map[string]any{"role": "admin"})})
			defer debug.SetGCPercent(debug.SetGCPercent(25))
			runtime.GC()
			base := heapNow()
			sampler := startHeapSampler()
			err := tt.call(c)
			peak := sampler.Stop()
			text := errText(t, err)
			wantIn(t, text, tt.want...)
			wantIn(t, text, "personactl stopped reading it", "MANA_AUTH_URL (or --auth)")
			var tl *adminapi.BodyTooLargeError
			if !errors.As(err, &tl) {
				t.Errorf("error is %T, want *adminapi.BodyTooLargeError", err)
			}
			// The server may have filled the socket buffers past the cap,
			// never the whole answer.
			if w := tt.server.written.Load(); w >= 100<<20 {
				t.Errorf("the server wrote all %d bytes: the client read the answer whole", w)
			}
			// What is kept of a list entry is larger than its JSON, so a
			// list capped at 32 MiB may take more; no answer takes the 100 MB.
			allowed := int64(16 * mib)
			if tt.limit == adminapi.MaxListBody {
				allowed = 96 * mib
			}
			t.Logf("heap grew by %.1f MiB; the server wrote %.1f MiB", float64(int64(peak)-int64(base))/mib, float64(tt.server.written.Load())/mib)
			if grown := int64(peak) - int64(base); grown > allowed {
				t.Errorf("the heap grew by %.1f MiB reading an answer capped at %.0f MiB, want at most %d MiB", float64(grown)/mib, float64(tt.limit)/mib, allowed/mib)
			}
		})
	}
}

// TestPersonaTooLargeToReadIsKeptAsListed: a persona whose detail is over
// its cap does not fail the whole read (every plan, drift and destroy did):
// it is kept as the list shows it, marked Unreadable, for the plan to name.
func TestPersonaTooLargeToReadIsKeptAsListed(t *testing.T) {
	for _, contentLength := range []int64{0, 100 << 20} {
		server := &endless{path: "/api/v1/admin/personas/u1", prefix: `{"persona":{"userId":"u1","systemPrompt":"`, unit: "Du bist ", contentLength: contentLength}
		c := newClient(t, adminapi.Options{BaseURL: serve(t, server), Token: jwt(map[string]any{"role": "admin"})})
		live, err := c.Personas(context.Background())
		if err != nil {
			t.Fatalf("Content-Length %d: %v", contentLength, errText(t, err))
		}
		if len(live) != 1 || !live[0].Unreadable || live[0].UserID != "u1" || live[0].Values.Email != "persona.a@mana.test" {
			t.Errorf("Content-Length %d: read %+v, want u1 as listed, unreadable", contentLength, live)
		}
	}
}

func TestBare500IsExplainedForItsEndpoint(t *testing.T) {
	bare := status(500, nil, `{"statusCode":500,"message":"Internal server error"}`)
	ctx := context.Background()
	listWithCapitals := `{"personas":[{"userId":"u9","email":"Persona.Anna@mana.test","createdAt":"2026-04-22T10:11:12.345Z","actions7d":0}]}`
	tests := []struct {
		name      string
		call      func(c *adminapi.Client) error
		want      []string
		wantNot   string
		listFirst bool
	}{
		{"list", func(c *adminapi.Client) error { _, err := c.Personas(ctx); return err },
			[]string{"GET /api/v1/admin/personas: mana-auth answered 500 (Internal server error)", "failed to list the personas (nothing was changed)"}, "letter case", false},
		{"detail", func(c *adminapi.Client) error { _, err := c.Detail(ctx, "u1"); return err },
			[]string{"failed to read this persona (nothing was changed)"}, "letter case", false},
		{"delete", func(c *adminapi.Client) error { return c.Delete(ctx, "u1") },
			[]string{"failed while deleting this persona; it may or may not be deleted"}, "letter case", false},
		{"upsert", func(c *adminapi.Client) error {
			_, err := c.Upsert(ctx, validRequest("persona.ben@mana.test"))
			return err
		},
			[]string{"upsert persona.ben@mana.test: POST /api/v1/admin/personas: mana-auth answered 500", "gives no reason", "the upsert is safe to repeat", "its log has the cause"}, "letter case", false},
		{"upsert of a live persona's address in other letter case", func(c *adminapi.Client) error {
			_, err := c.Upsert(ctx, validRequest("persona.anna@mana.test"))
			return err
		}, []string{"the live persona Persona.Anna@mana.test has this address in other letter case", "fix the address in mana-auth's database (lowercase)"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			answers := []func(http.ResponseWriter){bare}
			if tt.listFirst {
				answers = []func(http.ResponseWriter){status(200, nil, listWithCapitals), status(404, nil, `{"error":"Not found"}`), bare}
			}
			h := &scripted{answers: answers}
			c := newClient(t, adminapi.Options{BaseURL: serve(t, h), Token: jwt(map[string]any{"role": "admin"})})
			if tt.listFirst {
				if _, err := c.Personas(ctx); err != nil {
					t.Fatal(errText(t, err))
				}
			}
			text := errText(t, tt.call(c))
			wantIn(t, text, tt.want...)
			if tt.wantNot != "" && strings.Contains(text, tt.wantNot) {
				t.Errorf("a bare 500 of %s is hinted as a letter-case problem: %s", tt.name, text)
			}
		})
	}
}
