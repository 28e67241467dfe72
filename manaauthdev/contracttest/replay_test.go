package contracttest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mana/personactl/manaauthdev"
)

// The recordings of testdata/contract/mana-auth-exchanges.json, replayed in
// order against a fresh mana-auth-dev: every exchange must give the same
// status, content type and body (keys and JSON types recursively, and the
// values too, apart from ids, timestamps and secrets, which are compared by
// form; ids are mapped from the recorded run to this one as they appear).

type recording struct {
	Exchanges  []exchange  `json:"exchanges"`
	ScriptRuns []scriptRun `json:"script_runs"`
}

type exchange struct {
	Seq     int    `json:"seq"`
	ID      string `json:"id"`
	Auth    string `json:"auth"`
	Request struct {
		Method       string            `json:"method"`
		Path         string            `json:"path"`
		Headers      map[string]string `json:"headers"`
		BodyEncoding string            `json:"body_encoding"`
		Body         json.RawMessage   `json:"body"`
	} `json:"request"`
	Response struct {
		Status       int               `json:"status"`
		Headers      map[string]string `json:"headers"`
		BodyEncoding string            `json:"body_encoding"`
		Body         json.RawMessage   `json:"body"`
	} `json:"response"`
	Notes map[string]any `json:"notes"`
}

type scriptRun struct {
	ID         string   `json:"id"`
	ServiceSaw []string `json:"service_saw"`
}

// Better Auth's token routes are replayed from admin-token-exchanges.json
// (TestReplayRecordedAdminTokenExchanges): here their cookie is redacted,
// and the JWKS key is another server's.
var outOfScope = map[string]bool{
	"/api/auth/token": true,
	"/api/auth/jwks":  true,
}

// principal is who made a recorded call.
type principal int

const (
	asNone     principal = iota // no Authorization header
	asAdmin                     // the admin token
	asUser                      // a valid token without the admin role
	asExpired                   // an admin token past its exp
	asRecorded                  // the recorded header, sent as it is (broken on purpose)
)

var principals = map[string]principal{
	"none": asNone,
	"admin JWT (harness-minted with the service's own JWKS key, role=admin)":                   asAdmin,
	"admin JWT (harness-minted with the service's own JWKS key, role=admin), lowercase scheme": asAdmin,
	"user JWT (role=user)": asUser,
	// Better Auth's own token for the database admin claims role=user.
	"better-auth JWT of DB-admin user (role claim 'user')": asUser,
	"expired admin JWT": asExpired,
	"malformed":         asRecorded,
	"basic":             asRecorded,
	"empty":             asRecorded,
}

func loadRecording(t *testing.T) recording {
	t.Helper()
	raw, err := os.ReadFile(testdataFile(t, "contract/mana-auth-exchanges.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec recording
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatalf("mana-auth-exchanges.json: %v", err)
	}
	if len(rec.Exchanges) == 0 {
		t.Fatal("mana-auth-exchanges.json holds no exchanges")
	}
	return rec
}

type catalogEntry map[string]any

func loadCatalog(t *testing.T) []catalogEntry {
	t.Helper()
	raw, err := os.ReadFile(testdataFile(t, "fixtures/catalog.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Personas []catalogEntry `json:"personas"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("catalog.json: %v", err)
	}
	return c.Personas
}

func TestReplayRecordedExchanges(t *testing.T) {
	rec := loadRecording(t)
	catalog := loadCatalog(t)
	t.Parallel()
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			if !tg.shared {
				t.Parallel()
			}
			e := tg.start(t)
			e.needsBackDoor(t) // sign-ups of fixed addresses, verification, inserted rows
			r := &replayer{env: e, ids: map[string]string{}, catalog: catalog, runs: rec.ScriptRuns}
			replayed := 0
			for _, x := range rec.Exchanges {
				if outOfScope[strings.SplitN(x.Request.Path, "?", 2)[0]] {
					continue
				}
				r.before(t, x)
				r.replay(t, x)
				r.after(t, x)
				replayed++
			}
			t.Logf("replayed %d of %d recorded exchanges (Better Auth's token routes are out of scope)", replayed, len(rec.Exchanges))
		})
	}
}

type replayer struct {
	env     *env
	ids     map[string]string // recorded id → id of this run
	catalog []catalogEntry
	runs    []scriptRun
}

// before does, right before an exchange, what was done outside the API at
// that point of the recording.
func (r *replayer) before(t *testing.T, x exchange) {
	t.Helper()
	switch x.ID {
	case "signin-admin":
		r.verify(t, "admin@example.test") // and role='admin', which no answer shows
	case "signin-human":
		r.verify(t, "human@example.test")
	case "list-three-with-actions":
		r.insertActivity(t)
	case "list-after-seed":
		r.runScripts(t, "seed-")
	case "list-after-cleanup":
		r.runScripts(t, "cleanup-")
	}
}

// after checks the database where the recording noted what it held.
func (r *replayer) after(t *testing.T, x exchange) {
	t.Helper()
	ctx := context.Background()
	switch x.ID {
	case "signup-victim":
		// users_row_before of post-persona-with-human-email
		r.checkUser(t, x, "victim@example.test", "human", "public", false, "Victim Human")
	case "post-persona-with-human-email":
		r.checkUser(t, x, "victim@example.test", "persona", "founder", true, "Victim Human")
	case "delete-ben":
		// meta.db_after_delete_ben: no user row, no actions left.
		ben := r.ids["a5Wbuzzhuy2AQpCU2FLGp5H1pq2kWDZQ"]
		counts, err := r.env.store.RowCounts(ctx, ben)
		if err != nil {
			t.Fatal(err)
		}
		if counts != (manaauthdev.RowCounts{}) {
			t.Errorf("exchange %d %s: rows left for Ben: %+v, recorded none", x.Seq, x.ID, counts)
		}
	}
}

func (r *replayer) checkUser(t *testing.T, x exchange, email, kind, tier string, verified bool, name string) {
	t.Helper()
	u, err := r.env.store.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatalf("exchange %d %s: looking up %s: %v", x.Seq, x.ID, email, err)
	}
	if u.Kind != kind || u.AccessTier != tier || u.EmailVerified != verified || u.Name != name {
		t.Errorf("exchange %d %s: user row (kind,access_tier,email_verified,name) = %s,%s,%v,%s; recorded %s,%s,%v,%s",
			x.Seq, x.ID, u.Kind, u.AccessTier, u.EmailVerified, u.Name, kind, tier, verified, name)
	}
}

func (r *replayer) verify(t *testing.T, email string) {
	t.Helper()
	r.env.inst.VerifyEmail(t, email)
}

// insertActivity inserts the rows of meta.inserted_rows_sql_summary.
func (r *replayer) insertActivity(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	anna := r.mapped(t, "persona.anna@mana.test")
	ben := r.mapped(t, "persona.ben@mana.test")
	str := func(s string) *string { return &s }
	num := func(n int) *int { return &n }
	actions := []manaauthdev.Action{
		{ID: "act-1", PersonaID: anna, TickID: "tick-A", ToolName: "todo.create", InputHash: str("sha256:aaa"), Result: "ok", LatencyMs: num(120), CreatedAt: now.Add(-time.Hour)},
		{ID: "act-2", PersonaID: anna, TickID: "tick-A", ToolName: "journal.write", Result: "error", ErrorMessage: str("validation failed: content empty"), LatencyMs: num(340), CreatedAt: now.Add(-50 * time.Minute)},
		{ID: "act-3", PersonaID: anna, TickID: "tick-B", ToolName: "mood.log", InputHash: str("sha256:ccc"), Result: "ok", CreatedAt: now.Add(-48 * time.Hour)},
		{ID: "act-old", PersonaID: anna, TickID: "tick-0", ToolName: "notes.create", InputHash: str("sha256:ddd"), Result: "ok", LatencyMs: num(80), CreatedAt: now.Add(-10 * 24 * time.Hour)},
		{ID: "act-ben-1", PersonaID: ben, TickID: "tick-C", ToolName: "todo.create", Result: "ok", LatencyMs: num(95), CreatedAt: now.Add(-3 * time.Hour)},
	}
	for _, a := range actions {
		if err := r.env.store.AddAction(ctx, a); err != nil {
			t.Fatalf("inserting action %s: %v", a.ID, err)
		}
	}
	feedback := []manaauthdev.Feedback{
		{ID: "fb-1", PersonaID: anna, TickID: "tick-A", Module: "todo", Rating: 4, Notes: str("quick and easy"), CreatedAt: now.Add(-time.Hour)},
		{ID: "fb-2", PersonaID: anna, TickID: "tick-A", Module: "journal", Rating: 2, Notes: str("lost my entry"), CreatedAt: now.Add(-50 * time.Minute)},
		{ID: "fb-3", PersonaID: anna, TickID: "tick-B", Module: "todo", Rating: 5, CreatedAt: now.Add(-48 * time.Hour)},
	}
	for _, f := range feedback {
		if err := r.env.store.AddFeedback(ctx, f); err != nil {
			t.Fatalf("inserting feedback %s: %v", f.ID, err)
		}
	}
	at := now.Add(-50 * time.Minute)
	if err := r.env.store.SetLastActiveAt(ctx, anna, &at); err != nil {
		t.Fatalf("setting Anna's last_active_at: %v", err)
	}
}

// mapped returns the id of this run of the user with that address.
func (r *replayer) mapped(t *testing.T, email string) string {
	t.Helper()
	u, err := r.env.store.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatalf("looking up %s: %v", email, err)
	}
	return u.ID
}

var sawLine = regexp.MustCompile(`^(GET|POST|DELETE) (\S+) -> (\d{3})$`)

// runScripts replays what the service saw of the seed or cleanup script
// runs whose id starts with prefix: the seed posts the catalog's personas
// in order, the cleanup lists the personas and deletes each, newest first.
func (r *replayer) runScripts(t *testing.T, prefix string) {
	t.Helper()
	for _, run := range r.runs {
		if !strings.HasPrefix(run.ID, prefix) {
			continue
		}
		token := r.env.admin
		if strings.Contains(run.ID, "nonadmin") {
			token = r.env.user
		}
		posted := 0
		var listed []string
		for _, line := range run.ServiceSaw {
			m := sawLine.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("script run %s: cannot read %q", run.ID, line)
			}
			method, path, want := m[1], m[2], 0
			fmt.Sscan(m[3], &want)
			var resp response
			switch {
			case method == http.MethodPost && path == manaauthdev.PathPersonas:
				if posted >= len(r.catalog) {
					t.Fatalf("script run %s posts more personas than the catalog has", run.ID)
				}
				c := r.catalog[posted]
				posted++
				body := map[string]any{}
				for k, v := range c {
					body[k] = v
				}
				body["password"] = passwordFor(c["email"].(string))
				resp = r.env.request(t, method, path, bearer(token), body)
			case method == http.MethodGet && path == manaauthdev.PathPersonas:
				resp = r.env.request(t, method, path, bearer(token), nil)
				listed = nil
				if resp.status == http.StatusOK {
					for _, p := range resp.object()["personas"].([]any) {
						listed = append(listed, p.(map[string]any)["userId"].(string))
					}
				}
			case method == http.MethodDelete && strings.HasPrefix(path, manaauthdev.PathPersonas+"/"):
				if len(listed) == 0 {
					t.Fatalf("script run %s deletes more personas than it listed", run.ID)
				}
				recorded := strings.TrimPrefix(path, manaauthdev.PathPersonas+"/")
				r.learn(t, recorded, listed[0])
				resp = r.env.request(t, method, manaauthdev.PathPersonas+"/"+listed[0], bearer(token), nil)
				listed = listed[1:]
			default:
				t.Fatalf("script run %s: unexpected request %q", run.ID, line)
			}
			if resp.status != want {
				t.Errorf("script run %s: %s %s -> %d, recorded %d: %s", run.ID, method, path, resp.status, want, resp.raw)
			}
		}
	}
}

// learn maps a recorded id to the id of this run.
func (r *replayer) learn(t *testing.T, recorded, got string) {
	t.Helper()
	if prev, ok := r.ids[recorded]; ok && prev != got {
		t.Errorf("recorded id %s stands for %s and %s in this run", recorded, prev, got)
	}
	r.ids[recorded] = got
}

// substitute replaces the recorded ids in s by this run's.
func (r *replayer) substitute(s string) string {
	for rec, got := range r.ids {
		s = strings.ReplaceAll(s, rec, got)
	}
	return s
}

// password returns the password to send where the recording says <redacted>.
func (r *replayer) password(x exchange, email string) string {
	if n, ok := x.Notes["password_sent_length"].(float64); ok {
		return strings.Repeat("p", int(n))
	}
	switch x.ID {
	case "upsert-anna-different-password", "persona-signin-new-password":
		return "another-password-for-" + email
	case "invalid-multiple": // "Short password + …", its length not noted
		return "short"
	}
	return passwordFor(email)
}

func (r *replayer) replay(t *testing.T, x exchange) {
	t.Helper()
	name := fmt.Sprintf("exchange %d %s", x.Seq, x.ID)
	who, ok := principals[x.Auth]
	if !ok {
		t.Fatalf("%s: unknown principal %q; map it in principals", name, x.Auth)
	}
	auth := x.Request.Headers["Authorization"]
	switch who {
	case asNone:
		auth = ""
	case asAdmin:
		auth = strings.Replace(auth, "<redacted>", r.env.admin, 1)
	case asUser:
		auth = strings.Replace(auth, "<redacted>", r.env.user, 1)
	case asExpired:
		auth = strings.Replace(auth, "<redacted>", r.env.inst.Expired(), 1)
	}

	var body any
	switch x.Request.BodyEncoding {
	case "json":
		var v any
		if err := json.Unmarshal(x.Request.Body, &v); err != nil {
			t.Fatalf("%s: request body: %v", name, err)
		}
		if m, ok := v.(map[string]any); ok && m["password"] == "<redacted>" {
			email, _ := m["email"].(string)
			m["password"] = r.password(x, email)
		}
		raw, _ := json.Marshal(v)
		body = raw
	case "raw":
		var s string
		if err := json.Unmarshal(x.Request.Body, &s); err != nil {
			t.Fatalf("%s: request body: %v", name, err)
		}
		if strings.Contains(s, `"<redacted>"`) {
			var m map[string]any
			json.Unmarshal([]byte(s), &m)
			email, _ := m["email"].(string)
			s = strings.Replace(s, `"<redacted>"`, `"`+r.password(x, email)+`"`, 1)
		}
		body = s
	}
	var header []string
	if ct, ok := x.Request.Headers["Content-Type"]; ok {
		header = append(header, "Content-Type", ct)
	}
	got := r.env.request(t, x.Request.Method, r.substitute(x.Request.Path), auth, body, header...)

	var diffs []string
	if got.status != x.Response.Status {
		diffs = append(diffs, fmt.Sprintf("status %d, recorded %d", got.status, x.Response.Status))
	}
	if want, gotCT := x.Response.Headers["content-type"], got.header.Get("Content-Type"); want != gotCT {
		diffs = append(diffs, fmt.Sprintf("content-type %q, recorded %q", gotCT, want))
	}
	if loc, ok := x.Response.Headers["location"]; ok {
		want := r.env.url + strings.TrimPrefix(r.substitute(loc), "http://127.0.0.1:3001")
		if got.header.Get("Location") != want {
			diffs = append(diffs, fmt.Sprintf("location %q, want %q", got.header.Get("Location"), want))
		}
	}
	if _, ok := x.Response.Headers["set-cookie"]; ok && got.header.Get("Set-Cookie") == "" {
		diffs = append(diffs, "no set-cookie header, recorded one")
	}
	switch x.Response.BodyEncoding {
	case "text":
		var want string
		json.Unmarshal(x.Response.Body, &want)
		if string(got.raw) != want {
			diffs = append(diffs, fmt.Sprintf("body %q, recorded %q", got.raw, want))
		}
	case "json":
		var want any
		if err := json.Unmarshal(x.Response.Body, &want); err != nil {
			t.Fatalf("%s: recorded body: %v", name, err)
		}
		if want == nil {
			if len(got.raw) != 0 {
				diffs = append(diffs, fmt.Sprintf("body %q, recorded none", got.raw))
			}
			break
		}
		if len(got.raw) == 0 {
			diffs = append(diffs, "no body, recorded one")
			break
		}
		diffs = append(diffs, ShapeDiff(want, got.body)...)
		r.compareValues("$", want, got.body, &diffs)
	}
	if len(diffs) > 0 {
		t.Errorf("%s: %s %s differs from the recording:\n  %s\n  answer: %s", name, x.Request.Method, x.Request.Path, strings.Join(diffs, "\n  "), got.raw)
	}
}

// compareValues compares scalar values where the shapes agree. Recorded
// ids are mapped to this run's (and learned on first sight), timestamps
// and redacted secrets are compared by form.
func (r *replayer) compareValues(path string, want, got any, diffs *[]string) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return
		}
		for k, wv := range w {
			if gv, ok := g[k]; ok {
				r.compareValues(path+"."+k, wv, gv, diffs)
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			return
		}
		for i := 0; i < min(len(w), len(g)); i++ {
			r.compareValues(fmt.Sprintf("%s[%d]", path, i), w[i], g[i], diffs)
		}
	case string:
		g, ok := got.(string)
		if !ok {
			return
		}
		switch {
		case w == "<redacted>":
			if g == "" {
				*diffs = append(*diffs, path+": empty, recorded a secret")
			}
		case Timestamp.MatchString(w):
			if !Timestamp.MatchString(g) {
				*diffs = append(*diffs, fmt.Sprintf("%s: %q is not a timestamp like %q", path, g, w))
			}
		case UserID.MatchString(w):
			if !UserID.MatchString(g) {
				*diffs = append(*diffs, fmt.Sprintf("%s: %q is not an id like %q", path, g, w))
				return
			}
			if mapped, ok := r.ids[w]; ok {
				if mapped != g {
					*diffs = append(*diffs, fmt.Sprintf("%s: id %s, want %s (recorded %s)", path, g, mapped, w))
				}
				return
			}
			r.ids[w] = g
		default:
			if g != w {
				*diffs = append(*diffs, fmt.Sprintf("%s: %q, recorded %q", path, g, w))
			}
		}
	case float64:
		if g, ok := got.(float64); ok && math.Abs(g-w) > 1e-12 {
			*diffs = append(*diffs, fmt.Sprintf("%s: %v, recorded %v", path, g, w))
		}
	case bool:
		if g, ok := got.(bool); ok && g != w {
			*diffs = append(*diffs, fmt.Sprintf("%s: %v, recorded %v", path, g, w))
		}
	}
}
