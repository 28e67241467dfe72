package adminapi_test

// The client against mana-auth-dev over HTTP on 127.0.0.1: the stand-in
// behaves like mana-auth, quirks included, so these tests exercise the same
// exchanges personactl has with the real service.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/manaauthdev"
	"github.com/mana/personactl/manaauthdev/devtest"
	"github.com/mana/personactl/state"
	"github.com/mana/personactl/state/adminapi"
)

var testSecret = func() catalog.Secret {
	s, err := catalog.NewSecret("adminapi-test-secret")
	if err != nil {
		panic(err)
	}
	return s
}()

func start(t testing.TB) *devtest.Instance {
	t.Helper()
	inst := devtest.Start(t)
	secret(inst.AdminToken)
	secret(inst.UserToken)
	return inst
}

func adminClient(t *testing.T, inst *devtest.Instance, opts adminapi.Options) *adminapi.Client {
	t.Helper()
	opts.BaseURL = inst.URL
	if opts.Token == "" {
		opts.Token = inst.AdminToken
	}
	return newClient(t, opts)
}

// personaRequest is the body for the i-th test persona; the values differ
// from persona to persona so that a mix-up would show.
func personaRequest(email string, i int) adminapi.UpsertRequest {
	cadences := catalog.Cadences()
	return adminapi.UpsertRequest{
		Email:        email,
		Name:         fmt.Sprintf("Persona %d", i),
		Password:     testSecret.Password(email),
		Archetype:    fmt.Sprintf("archetype-%d", i%3),
		SystemPrompt: fmt.Sprintf("Du bist Persona %d. Du schreibst kurz und vergisst Dinge.", i),
		ModuleMix:    map[string]float64{"todo": float64(i%10) / 10, "journal": 1 - float64(i%10)/10, fmt.Sprintf("m%d", i): 0},
		TickCadence:  cadences[i%len(cadences)],
	}
}

// wantValues is what mana-auth stores for a request.
func wantValues(r adminapi.UpsertRequest) catalog.Persona {
	return catalog.Persona{Name: r.Name, Email: r.Email, Archetype: r.Archetype, SystemPrompt: r.SystemPrompt, ModuleMix: r.ModuleMix, TickCadence: r.TickCadence}
}

func samePersona(t *testing.T, got state.LivePersona, want catalog.Persona, wantID string) {
	t.Helper()
	if d := catalog.Differences(got.Values, want); len(d) > 0 || got.Values.Email != want.Email || got.Values.TickCadence != want.TickCadence {
		t.Errorf("%s: fields %v differ:\n got %+v\nwant %+v", want.Email, d, got.Values, want)
	}
	if got.UserID != wantID {
		t.Errorf("%s: user id %q, want %q", want.Email, got.UserID, wantID)
	}
}

// createPersonas upserts n personas through the API, in an order unlike the
// email order, and returns their requests and user ids by email.
func createPersonas(t *testing.T, c *adminapi.Client, n int) (map[string]adminapi.UpsertRequest, map[string]string) {
	t.Helper()
	reqs, ids := map[string]adminapi.UpsertRequest{}, map[string]string{}
	for i := range n {
		email := fmt.Sprintf("persona.%03d@mana.test", (i*7)%n)
		r := personaRequest(email, i)
		id, err := c.Upsert(context.Background(), r)
		if err != nil {
			t.Fatalf("creating %s: %s", email, errText(t, err))
		}
		reqs[email], ids[email] = r, id
	}
	return reqs, ids
}

func TestPersonasMergesListAndDetailsSortedByEmail(t *testing.T) {
	inst := start(t)
	c := adminClient(t, inst, adminapi.Options{})
	ctx := context.Background()
	before := time.Now().Add(-time.Second)
	const n = 23
	reqs, ids := createPersonas(t, c, n)

	// The runner's traces, written behind the API's back: three actions this
	// week, one ten days old, three ratings, a last activity.
	busy := "persona.005@mana.test"
	now := time.Now().UTC()
	for i, age := range []time.Duration{time.Hour, 2 * time.Hour, 50 * time.Hour, 240 * time.Hour} {
		must(t, inst.Store.AddAction(ctx, manaauthdev.Action{ID: fmt.Sprintf("act-%d", i), PersonaID: ids[busy], TickID: "tick", ToolName: "todo.create", Result: "ok", CreatedAt: now.Add(-age)}))
	}
	for i, module := range []string{"todo", "todo", "mood"} {
		must(t, inst.Store.AddFeedback(ctx, manaauthdev.Feedback{ID: fmt.Sprintf("fb-%d", i), PersonaID: ids[busy], TickID: "tick", Module: module, Rating: 4, CreatedAt: now}))
	}
	lastActive := now.Add(-50 * time.Minute).Truncate(time.Millisecond)
	must(t, inst.Store.SetLastActiveAt(ctx, ids[busy], &lastActive))
	inst.Server.Faults().ResetCounts()

	got, err := c.Personas(ctx)
	if err != nil {
		t.Fatal(errText(t, err))
	}
	if len(got) != n {
		t.Fatalf("%d personas, want %d", len(got), n)
	}
	if !sort.SliceIsSorted(got, func(i, j int) bool { return got[i].Values.Email < got[j].Values.Email }) {
		t.Error("personas are not sorted by email")
	}
	for _, p := range got {
		samePersona(t, p, wantValues(reqs[p.Values.Email]), ids[p.Values.Email])
		if p.CreatedAt.Before(before) || p.CreatedAt.After(time.Now()) {
			t.Errorf("%s: createdAt %v is not the time it was created", p.Values.Email, p.CreatedAt)
		}
		if p.Values.Email == busy {
			if p.Actions != 4 || p.Actions7d != 3 || p.Feedback != 3 {
				t.Errorf("%s: actions %d, actions7d %d, feedback %d; want 4, 3, 3", busy, p.Actions, p.Actions7d, p.Feedback)
			}
			if p.LastActiveAt == nil || !p.LastActiveAt.Equal(lastActive) {
				t.Errorf("%s: lastActiveAt %v, want %v", busy, p.LastActiveAt, lastActive)
			}
		} else if p.Actions != 0 || p.Actions7d != 0 || p.Feedback != 0 || p.LastActiveAt != nil {
			t.Errorf("%s: has activity it never had: %+v", p.Values.Email, p)
		}
	}
	f := inst.Server.Faults()
	if list, details := f.Requests("GET", manaauthdev.PathPersonas), f.Requests("GET", manaauthdev.PathPersona); list != 1 || details != n {
		t.Errorf("%d list and %d detail requests, want 1 and %d", list, details, n)
	}

	d, err := c.Detail(ctx, ids[busy])
	if err != nil {
		t.Fatal(errText(t, err))
	}
	samePersona(t, d, wantValues(reqs[busy]), ids[busy])
	if d.Actions != 4 || d.Feedback != 3 {
		t.Errorf("detail: actions %d, feedback %d; want 4, 3", d.Actions, d.Feedback)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// hookTransport calls after once each response has arrived; tests use it to
// change the world between two requests of one call.
type hookTransport struct {
	base  http.RoundTripper
	after func(*http.Request, *http.Response)
}

func (h *hookTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := h.base.RoundTrip(r)
	if err == nil {
		h.after(r, resp)
	}
	return resp, err
}

func (h *hookTransport) CloseIdleConnections() { closeIdle(h.base) }

func TestPersonaDeletedBetweenListAndDetailIsLeftOut(t *testing.T) {
	inst := start(t)
	c := adminClient(t, inst, adminapi.Options{})
	_, ids := createPersonas(t, c, 5)
	gone := ids["persona.002@mana.test"]
	var once sync.Once
	hooked := adminClient(t, inst, adminapi.Options{HTTPClient: &http.Client{Transport: &hookTransport{
		base: http.DefaultTransport,
		after: func(r *http.Request, _ *http.Response) {
			if r.URL.Path == manaauthdev.PathPersonas {
				// The list has been answered; someone deletes a persona now.
				once.Do(func() { must(t, inst.Store.DeleteUser(context.Background(), gone)) })
			}
		},
	}}})
	got, err := hooked.Personas(context.Background())
	if err != nil {
		t.Fatal(errText(t, err))
	}
	if len(got) != 4 {
		t.Fatalf("%d personas, want the 4 still there", len(got))
	}
	for _, p := range got {
		if p.UserID == gone {
			t.Errorf("the deleted persona is reported live")
		}
	}
}

func TestReadsSurviveTransientFaults(t *testing.T) {
	inst := start(t)
	setup := adminClient(t, inst, adminapi.Options{})
	const n = 40
	createPersonas(t, setup, n)
	want, err := setup.Personas(context.Background())
	if err != nil {
		t.Fatal(errText(t, err))
	}
	tests := []struct {
		name   string
		inject func(*manaauthdev.Faults)
	}{
		{"20% 503", func(f *manaauthdev.Faults) { f.SetErrorRate(0.2, http.StatusServiceUnavailable) }},
		{"20% connection resets", func(f *manaauthdev.Faults) { f.SetResetRate(0.2) }},
		{"20% lost answers (502)", func(f *manaauthdev.Faults) { f.SetLostAnswerRate(0.2) }},
		{"10% each of 503, 504 and resets", func(f *manaauthdev.Faults) {
			f.SetErrorRate(0.1, http.StatusGatewayTimeout)
			f.SetResetRate(0.1)
			f.SetLostAnswerRate(0.1)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := inst.Server.Faults()
			f.Reset()
			tt.inject(f)
			defer f.Reset()
			// The default budget: a request fails for good with odds of 0.2^10.
			c := adminClient(t, inst, adminapi.Options{})
			got, err := c.Personas(context.Background())
			if err != nil {
				t.Fatal(errText(t, err))
			}
			if len(got) != len(want) {
				t.Fatalf("%d personas, want %d", len(got), len(want))
			}
			for i := range got {
				samePersona(t, got[i], want[i].Values, want[i].UserID)
			}
			sent := f.Requests("GET", manaauthdev.PathPersonas) + f.Requests("GET", manaauthdev.PathPersona)
			if sent <= n+1 {
				t.Errorf("%d requests for %d personas: the faults were not hit, the test proves nothing", sent, n)
			}
		})
	}
}

func TestPersistentFailuresAreExplainedAfterTheRightNumberOfTries(t *testing.T) {
	inst := start(t)
	otherToken := secret(devtest.Token(manaauthdev.TokenClaims(manaauthdev.NewID(), "admin@elsewhere.test", manaauthdev.RoleAdmin, time.Now(), time.Hour)))
	tests := []struct {
		name   string
		token  string
		status int // injected on every request, 0 for none
		tries  int
		want   []string
	}{
		{"401 for a token of another server", otherToken, 0, 1, []string{
			"GET /api/v1/admin/personas: mana-auth answered 401 (Invalid or expired token)",
			"mana-auth refused the admin token from MANA_ADMIN_JWT (or --jwt); put a valid admin token there"}},
		{"401 for a token that is not a JWT", secret("opaque-token-0123456789"), 0, 1, []string{
			"answered 401 (Invalid or expired token)", "(the one given is not a JWT)"}},
		{"403 for a user's token", inst.UserToken, 0, 1, []string{
			"answered 403 (Forbidden: Admin access required)",
			`the token (for user@mana-auth-dev.test) claims role: "user"`, `the admin API needs role "admin"`,
			`mana-auth's own login issues role "user" even to admins`, "minted with the service's signing key",
			"MANA_ADMIN_JWT (or --jwt)"}},
		{"500 is not retried", "", http.StatusInternalServerError, 1, []string{
			"answered 500 (Internal Server Error)", "its log has the cause"}},
		{"502 is retried", "", http.StatusBadGateway, 10, []string{
			"GET /api/v1/admin/personas: mana-auth answered 502 (Bad Gateway) after 10 tries", "try again later"}},
		{"503 is retried", "", http.StatusServiceUnavailable, 10, []string{"answered 503 (Service Unavailable) after 10 tries"}},
		{"504 is retried", "", http.StatusGatewayTimeout, 10, []string{"answered 504 (Gateway Timeout) after 10 tries"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := inst.Server.Faults()
			f.Reset()
			defer f.Reset()
			if tt.status != 0 {
				f.SetErrorRate(1, tt.status)
			}
			c := adminClient(t, inst, adminapi.Options{Token: tt.token})
			_, err := c.Personas(context.Background())
			text := errText(t, err)
			wantIn(t, text, tt.want...)
			if tt.tries == 1 && strings.Contains(text, "tries") {
				t.Errorf("a single try is reported as several: %s", text)
			}
			var ae *adminapi.APIError
			if !errors.As(err, &ae) || ae.Tries != tt.tries || ae.Method != "GET" || ae.Path != manaauthdev.PathPersonas {
				t.Errorf("want *APIError for GET %s after %d tries, got %#v", manaauthdev.PathPersonas, tt.tries, err)
			}
			if got := f.Requests("GET", manaauthdev.PathPersonas); got != tt.tries {
				t.Errorf("the server saw %d requests, want %d", got, tt.tries)
			}
		})
	}
}

// TestTokenMessagesNameWhereTheTokenCameFrom: a token read from a file is
// replaced in that file; advice to set MANA_ADMIN_JWT would leave the user
// editing a variable personactl does not read.
func TestTokenMessagesNameWhereTheTokenCameFrom(t *testing.T) {
	inst := start(t)
	const source = "the file /run/secrets/tok.txt"
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	expired := secret(devtest.Token(manaauthdev.TokenClaims(inst.AdminID, "admin@mana-auth-dev.test", manaauthdev.RoleAdmin, now.Add(-3*time.Hour), 90*time.Minute)))
	otherServer := secret(devtest.Token(manaauthdev.TokenClaims(manaauthdev.NewID(), "admin@elsewhere.test", manaauthdev.RoleAdmin, time.Now(), time.Hour)))
	personas := func(opts adminapi.Options) error {
		opts.TokenSource = source
		_, err := adminClient(t, inst, opts).Personas(context.Background())
		return err
	}
	refused := adminClient(t, inst, adminapi.Options{Token: otherServer, TokenSource: source})
	_, _ = refused.Personas(context.Background())
	_, notSent := refused.Personas(context.Background())
	_, badChars := adminapi.New(adminapi.Options{BaseURL: inst.URL, Token: secret("eyJhbGciOi.two words"), TokenSource: source})
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"expired", personas(adminapi.Options{Token: expired, Now: func() time.Time { return now }}), "the admin token from " + source + " expired at"},
		{"401", personas(adminapi.Options{Token: otherServer}), "mana-auth refused the admin token from " + source + "; put a valid admin token there"},
		{"403", personas(adminapi.Options{Token: inst.UserToken}), "minted with the service's signing key; put one in " + source},
		{"refused earlier", notSent, "refused the admin token earlier in this run (401); mint a fresh admin token, put it in " + source + " and run"},
		{"spaces", badChars, "the admin token from " + source + " contains spaces"},
	} {
		text := errText(t, tt.err)
		wantIn(t, text, tt.want)
		if strings.Contains(text, "MANA_ADMIN_JWT") || strings.Contains(text, "--jwt") {
			t.Errorf("%s: the message names another source of the token: %s", tt.name, text)
		}
	}
}

func TestExpiredTokenIsRefusedBeforeAnyRequest(t *testing.T) {
	inst := start(t)
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	claims := manaauthdev.TokenClaims(inst.AdminID, "admin@mana-auth-dev.test", manaauthdev.RoleAdmin, now.Add(-3*time.Hour), 90*time.Minute)
	expired := secret(devtest.Token(claims))
	c := adminClient(t, inst, adminapi.Options{Token: expired, Now: func() time.Time { return now }})
	ctx := context.Background()
	calls := map[string]func() error{
		"Personas":      func() error { _, err := c.Personas(ctx); return err },
		"Detail":        func() error { _, err := c.Detail(ctx, "some-id"); return err },
		"Upsert":        func() error { _, err := c.Upsert(ctx, personaRequest("persona.x@mana.test", 1)); return err },
		"Delete":        func() error { return c.Delete(ctx, "some-id") },
		"AddressOwners": func() error { _, err := c.Reader().AddressOwners(ctx, []string{"persona.x@mana.test"}); return err },
	}
	for name, call := range calls {
		err := call()
		wantIn(t, errText(t, err), "the admin token from MANA_ADMIN_JWT (or --jwt) expired at 2026-11-27T06:30:00Z (1h30m ago); mint a new admin token")
		if !errors.Is(err, adminapi.ErrTokenExpired) {
			t.Errorf("%s: errors.Is(err, ErrTokenExpired) is false", name)
		}
	}
	if counts := inst.Server.Faults().Counts(); len(counts) != 0 {
		t.Errorf("requests were sent with an expired token: %v", counts)
	}
}

func TestUpsertAndDelete(t *testing.T) {
	inst := start(t)
	c := adminClient(t, inst, adminapi.Options{})
	ctx := context.Background()
	f := inst.Server.Faults()

	r := personaRequest("persona.anna@mana.test", 1)
	id, err := c.Upsert(ctx, r)
	if err != nil {
		t.Fatal(errText(t, err))
	}
	changed := personaRequest("persona.anna@mana.test", 2)
	id2, err := c.Upsert(ctx, changed)
	if err != nil {
		t.Fatal(errText(t, err))
	}
	if id2 != id {
		t.Errorf("the update answered user id %q, the create %q", id2, id)
	}
	d, err := c.Detail(ctx, id)
	if err != nil {
		t.Fatal(errText(t, err))
	}
	want := wantValues(changed)
	want.Name = r.Name // mana-auth never renames
	samePersona(t, d, want, id)

	f.ResetCounts()
	if got, found, err := c.PersonaID(ctx, "Persona.Anna@mana.test"); err != nil || !found || got != id {
		t.Errorf("PersonaID = %q, %v, %v; want %q", got, found, err, id)
	}
	if _, found, err := c.PersonaID(ctx, "persona.nobody@mana.test"); err != nil || found {
		t.Errorf("PersonaID of an unknown address: found %v, %v", found, err)
	}
	if n := len(f.Counts()); n != 1 || f.Requests("GET", manaauthdev.PathPersonas) != 2 {
		t.Errorf("PersonaID sent more than the list: %v", f.Counts())
	}

	if err := c.Delete(ctx, id); err != nil {
		t.Fatal(errText(t, err))
	}
	err = c.Delete(ctx, id)
	if !errors.Is(err, adminapi.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	wantIn(t, errText(t, err), "DELETE /api/v1/admin/personas/"+id+": mana-auth answered 404 (Not found)", "no persona has this user id")
	if _, err := c.Detail(ctx, id); !errors.Is(err, adminapi.ErrNotFound) {
		t.Errorf("detail after delete: %v, want ErrNotFound", err)
	}

	human := inst.SignUpHuman(t, "maria@example.test", "maria-password", "Maria")
	err = c.Delete(ctx, human)
	if !errors.Is(err, adminapi.ErrNotPersona) {
		t.Errorf("deleting a person: %v, want ErrNotPersona", err)
	}
	wantIn(t, errText(t, err), "answered 400 (Refusing to delete non-persona user via this endpoint: hint: Use /api/v1/admin/users/:id/data instead)",
		"personactl never deletes other users")
	if n, _ := inst.Store.RowCounts(ctx, human); n.Users != 1 {
		t.Errorf("the person is gone")
	}

	// A body mana-auth would refuse is never sent.
	f.ResetCounts()
	bad := personaRequest("Persona.Ben@mana.test", 3)
	bad.Password = "short"
	err = func() error { _, err := c.Upsert(ctx, bad); return err }()
	wantIn(t, errText(t, err), "email must be lowercase", "password must be 8 to 128 characters long (it has 5)")
	if n := f.WriteRequests(); n != 0 {
		t.Errorf("%d writes sent for a body that breaks the rules", n)
	}

	// A write the server fails: 500, not retried, with the server's words.
	f.FailWritesFor("persona.carl@mana.test")
	err = func() error { _, err := c.Upsert(ctx, personaRequest("persona.carl@mana.test", 4)); return err }()
	wantIn(t, errText(t, err), "upsert persona.carl@mana.test: POST /api/v1/admin/personas: mana-auth answered 500 (Internal server error)", "its log has the cause")
	if n := f.Requests("POST", manaauthdev.PathPersonas); n != 1 {
		t.Errorf("%d tries of a failing upsert, want 1", n)
	}
}

func TestLostAnswersAreRetriedWithoutDuplicates(t *testing.T) {
	inst := start(t)
	f := inst.Server.Faults()
	ctx := context.Background()
	// The first answer of each write is lost (the write happened); the
	// retry's answer arrives.
	loseFirst := func(method string) *http.Client {
		return &http.Client{Transport: &hookTransport{base: http.DefaultTransport, after: func(r *http.Request, _ *http.Response) {
			if r.Method == method {
				f.SetLostAnswerRate(0)
			}
		}}}
	}

	f.SetLostAnswerRate(1)
	c := adminClient(t, inst, adminapi.Options{HTTPClient: loseFirst(http.MethodPost)})
	id, err := c.Upsert(ctx, personaRequest("persona.lost@mana.test", 1))
	if err != nil {
		t.Fatal(errText(t, err))
	}
	if n := f.Requests("POST", manaauthdev.PathPersonas); n != 2 {
		t.Errorf("%d POSTs, want 2 (one lost answer, one retry)", n)
	}
	live, err := c.Personas(ctx)
	if err != nil {
		t.Fatal(errText(t, err))
	}
	if len(live) != 1 || live[0].UserID != id {
		t.Errorf("after a retried create: %+v, want the one persona %s", live, id)
	}

	f.SetLostAnswerRate(1)
	c = adminClient(t, inst, adminapi.Options{HTTPClient: loseFirst(http.MethodDelete)})
	if err := c.Delete(ctx, id); err != nil {
		t.Fatalf("a delete whose first answer was lost: %s", errText(t, err))
	}
	if n := f.Requests("DELETE", manaauthdev.PathPersona); n != 2 {
		t.Errorf("%d DELETEs, want 2", n)
	}
	if n, _ := inst.Store.RowCounts(ctx, id); n.Users != 0 {
		t.Error("the persona is still there")
	}

	// Every answer lost: the delete happened, but nothing confirms it, and
	// the error says so with the number of tries.
	id, err = c.Upsert(ctx, personaRequest("persona.lost2@mana.test", 2))
	if err != nil {
		t.Fatal(errText(t, err))
	}
	f.ResetCounts()
	f.SetLostAnswerRate(1)
	defer f.Reset()
	always := adminClient(t, inst, adminapi.Options{})
	err = always.Delete(ctx, id)
	wantIn(t, errText(t, err), "DELETE /api/v1/admin/personas/"+id+": mana-auth answered 502 (502 Bad Gateway) after 10 tries")
	if n := f.Requests("DELETE", manaauthdev.PathPersona); n != 10 {
		t.Errorf("%d DELETEs, want 10", n)
	}
}

func TestAddressOwner(t *testing.T) {
	inst := start(t)
	c := adminClient(t, inst, adminapi.Options{})
	ctx := context.Background()

	quiet := personaRequest("persona.quiet@mana.test", 1)
	if _, err := c.Upsert(ctx, quiet); err != nil {
		t.Fatal(errText(t, err))
	}
	// The runner signs in as its personas: a persona with a session.
	active := personaRequest("persona.active@mana.test", 2)
	if _, err := c.Upsert(ctx, active); err != nil {
		t.Fatal(errText(t, err))
	}
	inst.SignIn(t, active.Email, active.Password)
	inst.SignUpHuman(t, "newcomer@example.test", "newcomer-password", "Newcomer")
	inst.SignedInHuman(t, "maria.k@example.test", "Maria")

	live, err := c.Personas(ctx)
	if err != nil {
		t.Fatal(errText(t, err))
	}
	// Created after live was read, as by an upsert a killed run left in
	// flight: the detail tells it from a person.
	late := personaRequest("persona.late@mana.test", 3)
	if _, err := c.Upsert(ctx, late); err != nil {
		t.Fatal(errText(t, err))
	}
	tests := []struct {
		name, email string
		want        state.OwnerKind
		details     int // detail requests besides the search, given live
	}{
		{"nobody has it", "persona.new@mana.test", state.AddressFree, 0},
		{"a persona that never signed in", "persona.quiet@mana.test", state.AddressPersona, 0},
		{"a persona the runner signed in as", "persona.active@mana.test", state.AddressPersona, 0},
		{"a persona created after live was read", "persona.late@mana.test", state.AddressPersona, 1},
		{"a person who never signed in", "newcomer@example.test", state.AddressTaken, 1},
		{"the same person, in capitals", "Newcomer@Example.test", state.AddressTaken, 1},
		// The search's 500: cannot be told from a persona whose row was
		// deleted by hand; never free.
		{"a person who has signed in", "maria.k@example.test", state.AddressUndetermined, 0},
		{"a free address inside a signed-in person's: undetermined, never free", "ria.k@example.test", state.AddressUndetermined, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ownerOf(ctx, c, tt.email, nil)
			if err != nil {
				t.Fatal(errText(t, err))
			}
			if got != tt.want {
				t.Errorf("AddressOwners(%s) = %v, want %v", tt.email, got, tt.want)
			}
			f := inst.Server.Faults()
			f.ResetCounts()
			got, err = ownerOf(ctx, c, tt.email, live)
			if err != nil {
				t.Fatal(errText(t, err))
			}
			if got != tt.want {
				t.Errorf("AddressOwners(%s) after a read of live = %v, want %v", tt.email, got, tt.want)
			}
			if f.Requests("GET", manaauthdev.PathUsers) != 1 || f.Requests("GET", manaauthdev.PathPersona) != tt.details || len(f.Counts()) != 1+min(tt.details, 1) {
				t.Errorf("AddressOwners after a read of live sent %v; want the search and %d detail(s)", f.Counts(), tt.details)
			}
		})
	}

	t.Run("a person's owner says their name, when they signed up and that they never signed in", func(t *testing.T) {
		owners, err := c.Reader().AddressOwners(ctx, []string{"newcomer@example.test"})
		h := owners["newcomer@example.test"]
		if err != nil {
			t.Fatal(errText(t, err))
		}
		u, err := inst.Store.UserByEmail(ctx, "newcomer@example.test")
		if err != nil {
			t.Fatal(err)
		}
		want := state.Owner{Kind: state.AddressTaken, UserID: u.ID, Name: u.Name, CreatedAt: u.CreatedAt.UTC().Truncate(time.Millisecond), NeverSignedIn: true}
		if !reflect.DeepEqual(h, want) {
			t.Errorf("AddressOwners = %+v, want %+v", h, want)
		}
	})

	t.Run("an address on the second page of the search", func(t *testing.T) {
		paged := personaRequest("persona.paged@mana.test", 9)
		if _, err := c.Upsert(ctx, paged); err != nil {
			t.Fatal(errText(t, err))
		}
		// 150 newer people whose addresses contain it push it off page 1.
		for i := range 150 {
			must(t, inst.Store.CreateUser(ctx, manaauthdev.User{
				ID: manaauthdev.NewID(), Name: "P", Email: fmt.Sprintf("x%d.persona.paged@mana.test", i),
				Role: manaauthdev.RoleUser, AccessTier: manaauthdev.TierPublic, Kind: manaauthdev.KindHuman,
				CreatedAt: time.Now().Add(time.Duration(i+1) * time.Second),
			}, ""))
		}
		f := inst.Server.Faults()
		f.ResetCounts()
		got, err := ownerOf(ctx, c, paged.Email, nil)
		if err != nil {
			t.Fatal(errText(t, err))
		}
		if got != state.AddressPersona {
			t.Errorf("AddressOwners = %v, want persona", got)
		}
		if n := f.Requests("GET", manaauthdev.PathUsers); n != 2 {
			t.Errorf("%d search requests, want 2 (two pages)", n)
		}
	})

	t.Run("a search that keeps failing is an error, and not free", func(t *testing.T) {
		f := inst.Server.Faults()
		f.SetErrorRate(1, http.StatusServiceUnavailable)
		defer f.Reset()
		got, err := c.Reader().AddressOwners(ctx, []string{"persona.new@mana.test"})
		wantIn(t, errText(t, err), "GET /api/v1/admin/users?search=persona.new%40mana.test&limit=100: mana-auth answered 503", "after 10 tries")
		if got != nil {
			t.Errorf("answered %v after the search failed; want no answer", got)
		}
	})
}

// inFlightTransport measures how many requests are open at once, from the
// start of a round trip to the close of its body.
type inFlightTransport struct {
	base     http.RoundTripper
	mu       sync.Mutex
	now, max int
}

func (g *inFlightTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	g.mu.Lock()
	g.now++
	g.max = max(g.max, g.now)
	g.mu.Unlock()
	resp, err := g.base.RoundTrip(r)
	if err != nil {
		g.done()
		return nil, err
	}
	resp.Body = &closeHook{ReadCloser: resp.Body, close: g.done}
	return resp, nil
}

// CloseIdleConnections passes on the client's Close, so that no idle
// connection keeps the stand-in's shutdown waiting.
func (g *inFlightTransport) CloseIdleConnections() { closeIdle(g.base) }

func closeIdle(rt http.RoundTripper) {
	if c, ok := rt.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func (g *inFlightTransport) done() {
	g.mu.Lock()
	g.now--
	g.mu.Unlock()
}

func (g *inFlightTransport) peak() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.max
}

type closeHook struct {
	io.ReadCloser
	close func()
	once  sync.Once
}

func (c *closeHook) Close() error {
	err := c.ReadCloser.Close()
	c.once.Do(c.close)
	return err
}

func TestParallelismIsRespected(t *testing.T) {
	inst := start(t)
	createPersonas(t, adminClient(t, inst, adminapi.Options{}), 24)
	// Slow answers make every worker wait, so the peak is the limit itself.
	inst.Server.Faults().SetLatency(15 * time.Millisecond)
	for _, parallelism := range []int{1, 3, 8} {
		gauge := &inFlightTransport{base: http.DefaultTransport}
		c := adminClient(t, inst, adminapi.Options{Parallelism: parallelism, HTTPClient: &http.Client{Transport: gauge}})
		got, err := c.Personas(context.Background())
		if err != nil {
			t.Fatal(errText(t, err))
		}
		if len(got) != 24 {
			t.Fatalf("%d personas, want 24", len(got))
		}
		if p := gauge.peak(); p != parallelism {
			t.Errorf("Parallelism %d: %d requests were in flight at the peak", parallelism, p)
		}
	}
}

func TestPersonasStopsAtTheFirstFailureAndReportsEveryOne(t *testing.T) {
	inst := start(t)
	const n = 40
	createPersonas(t, adminClient(t, inst, adminapi.Options{}), n)
	f := inst.Server.Faults()
	f.ResetCounts()
	defer f.Reset()
	// The list is answered; from then on the service fails.
	c := adminClient(t, inst, adminapi.Options{Parallelism: 3, HTTPClient: &http.Client{Transport: &hookTransport{
		base: http.DefaultTransport,
		after: func(r *http.Request, _ *http.Response) {
			if r.URL.Path == manaauthdev.PathPersonas {
				f.SetErrorRate(1, http.StatusInternalServerError)
			}
		},
	}}})
	got, err := c.Personas(context.Background())
	text := errText(t, err)
	if got != nil {
		t.Errorf("a failed read returned %d personas", len(got))
	}
	wantIn(t, text, "GET /api/v1/admin/personas/", "mana-auth answered 500 (Internal Server Error)")
	if n := strings.Count(text, "try again"); n != 1 {
		t.Errorf("the advice is given %d times, want once:\n%s", n, text)
	}
	sent := f.Requests("GET", manaauthdev.PathPersona)
	if sent > 6 {
		t.Errorf("%d detail requests after the first failure, want the read to stop (at most a few in flight)", sent)
	}
	// Every request that failed on its own is reported, not only the
	// first; those cut short by the stop are not failures of their own.
	var all interface{ WrappedErrors() []error }
	if !errors.As(err, &all) || len(all.WrappedErrors()) < 1 || len(all.WrappedErrors()) > sent {
		t.Errorf("%d requests failed, the error reports %v", sent, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f.Reset()
	if _, err := c.Personas(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("with a canceled context: %v, want context.Canceled", err)
	}
}
