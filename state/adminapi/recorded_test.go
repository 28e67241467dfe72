package adminapi_test

// Every error answer recorded from the real mana-auth, replayed byte for
// byte to the client: each must come out with the server's own words.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/mana/personactl/state"
	"github.com/mana/personactl/state/adminapi"
)

// exchangesFile is the project's copy of the exchanges recorded from the
// real mana-auth.
const exchangesFile = "../../testdata/contract/mana-auth-exchanges.json"

type exchange struct {
	Seq     int    `json:"seq"`
	ID      string `json:"id"`
	Request struct {
		Method string `json:"method"`
		Path   string `json:"path"`
	} `json:"request"`
	Response struct {
		Status       int               `json:"status"`
		Headers      map[string]string `json:"headers"`
		BodyEncoding string            `json:"body_encoding"`
		Body         json.RawMessage   `json:"body"`
	} `json:"response"`
}

func recordedExchanges(t *testing.T) []exchange {
	t.Helper()
	raw, err := os.ReadFile(exchangesFile)
	must(t, err)
	var file struct {
		Exchanges []exchange `json:"exchanges"`
	}
	must(t, json.Unmarshal(raw, &file))
	return file.Exchanges
}

// body returns the answer's bytes as the service sent them.
func (e exchange) body() []byte {
	if e.Response.BodyEncoding == "text" {
		var s string
		_ = json.Unmarshal(e.Response.Body, &s)
		return []byte(s)
	}
	if string(e.Response.Body) == "null" {
		return nil
	}
	return e.Response.Body
}

// words returns the server's words in the answer: every string of a JSON
// body, or the text.
func (e exchange) words() []string {
	var v any
	if json.Unmarshal(e.body(), &v) != nil {
		return []string{strings.TrimSpace(string(e.body()))}
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			out = append(out, v)
		case []any:
			for _, x := range v {
				walk(x)
			}
		case map[string]any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
	return out
}

func replay(e exchange) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range e.Response.Headers {
			if k != "set-cookie" {
				w.Header().Set(k, v)
			}
		}
		w.WriteHeader(e.Response.Status)
		w.Write(e.body())
	})
}

func TestRecordedErrorAnswersShowTheServersWords(t *testing.T) {
	ctx := context.Background()
	tested := 0
	for _, e := range recordedExchanges(t) {
		req, resp := e.Request, e.Response
		if resp.Status < 300 {
			continue
		}
		path, _, _ := strings.Cut(req.Path, "?")
		id, isPersona := strings.CutPrefix(path, "/api/v1/admin/personas/")
		if isPersona && (id == "" || strings.Contains(id, "/")) {
			continue // trailing slashes: personactl never sends them
		}
		var call func(c *adminapi.Client) error
		switch {
		case req.Method == "GET" && path == "/api/v1/admin/personas":
			call = func(c *adminapi.Client) error { _, err := c.Personas(ctx); return err }
		case req.Method == "GET" && isPersona:
			call = func(c *adminapi.Client) error { _, err := c.Detail(ctx, id); return err }
		case req.Method == "POST" && path == "/api/v1/admin/personas":
			call = func(c *adminapi.Client) error {
				_, err := c.Upsert(ctx, validRequest("persona.anna@mana.test"))
				return err
			}
		case req.Method == "DELETE" && isPersona:
			call = func(c *adminapi.Client) error { return c.Delete(ctx, id) }
		case req.Method == "GET" && path == "/api/v1/admin/users":
			call = func(c *adminapi.Client) error {
				// No personas known: only the search is sent, and replayed.
				owner, err := ownerOf(ctx, c, "persona.anna@mana.test", []state.LivePersona{})
				if resp.Status == http.StatusInternalServerError {
					// The search's bug: an answer, not an error.
					if err != nil || owner != state.AddressUndetermined {
						return fmt.Errorf("search 500 gave %v, %v; want undetermined, no error", owner, err)
					}
					return nil
				}
				return err
			}
		case strings.HasPrefix(path, "/api/auth/"):
			// Better Auth's {message, code}, as if a route answered with it.
			call = func(c *adminapi.Client) error { _, err := c.Personas(ctx); return err }
		default:
			continue // routes personactl never calls
		}
		t.Run(fmt.Sprintf("%d-%s", e.Seq, e.ID), func(t *testing.T) {
			tested++
			c := newClient(t, adminapi.Options{BaseURL: serve(t, replay(e)), Token: jwt(map[string]any{"role": "user", "email": "admin@example.test"})})
			err := call(c)
			if req.Method == "GET" && path == "/api/v1/admin/users" && resp.Status == http.StatusInternalServerError {
				if err != nil {
					t.Error(err)
				}
				return
			}
			text := errText(t, err)
			for _, w := range e.words() {
				wantIn(t, text, w)
			}
			var ae *adminapi.APIError
			if !errors.As(err, &ae) || ae.Status != resp.Status {
				t.Errorf("want an *APIError with status %d, got %#v", resp.Status, err)
			}
			if strings.Contains(text, "; ;") || strings.HasSuffix(text, " ") {
				t.Errorf("badly joined message: %q", text)
			}
		})
	}
	if tested < 30 {
		t.Errorf("only %d recorded answers were replayed; the file changed shape?", tested)
	}
}

func TestServerEchoingTheTokenIsRedacted(t *testing.T) {
	tok := jwt(map[string]any{"role": "admin", "email": "admin@example.test"})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A misbehaving proxy that repeats the request's headers everywhere.
		auth := r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]any{"error": "bad " + auth, "message": auth, "details": []string{auth}, "hint": auth, "code": auth})
	})
	c := newClient(t, adminapi.Options{BaseURL: serve(t, h), Token: tok})
	_, err := c.Personas(context.Background())
	text := errText(t, err)
	wantIn(t, text, "Bearer <redacted>")
	var ae *adminapi.APIError
	if errors.As(err, &ae) {
		for _, field := range append([]string{ae.Message, ae.Hint, ae.Code}, ae.Details...) {
			if strings.Contains(field, tok) {
				t.Errorf("an APIError field holds the token: %q", field)
			}
		}
	}
	if out := fmt.Sprintf("%#v %+v", err, err); strings.Contains(out, tok) {
		t.Errorf("printing the error shows the token")
	}
}
