package contracttest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mana/personactl/manaauthdev"
	"github.com/mana/personactl/manaauthdev/devtest"
)

// The recordings of testdata/contract/login-exchanges.json (the runner's
// login, the lockout, a delete and a re-create), replayed in order
// against a fresh mana-auth-dev with a clock that stands still: every
// exchange on a route mana-auth-dev serves must give the same status,
// content type, Retry-After, cookie names and body (shape, and values
// apart from the placeholders: <ts> is compared by form, any other <…>
// stands for one value of this run, learned where it first appears), and
// every database row the recording noted is checked through the store.

type loginStep struct {
	Step     string          `json:"step"`
	Note     string          `json:"note"`
	Observed json.RawMessage `json:"observed"`
	Request  *struct {
		Method  string            `json:"method"`
		Path    string            `json:"path"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body"`
	} `json:"request"`
	Response *recordedAnswer `json:"response"`
	// Responses are the answers to the request sent that many times in a
	// row (their headers were not kept).
	Responses []recordedAnswer `json:"responses"`
}

type recordedAnswer struct {
	Status  int             `json:"status"`
	Headers map[string]any  `json:"headers"`
	Body    json.RawMessage `json:"body"`
}

// placeholder matches the recording's stand-ins for ids, tokens and times.
var placeholder = regexp.MustCompile(`<[a-z0-9-]+>`)

// notServed are the recorded paths mana-auth-dev does not serve: Better
// Auth's organisation plugin and the app's own settings routes.
var notServed = []string{"/api/auth/organization/list", "/api/v1/settings", "/api/v1/me/onboarding"}

// notModelled are the recorded observations of tables mana-auth-dev does
// not have (organisations, members, security events) or of a client run.
var notModelled = map[string]string{
	"4 security_events":    "auth.security_events is not modelled",
	"7 db after re-create": "organisations and members are not modelled",
	"3f persona-runner AuthClient.loginAndResolvePersonalSpace (services/mana-persona-runner/src/clients/auth.ts, run unmodified against this service)": "a run of the runner's client, not an exchange",
}

// loadSteps reads a recording of steps (login-exchanges.json and
// admin-token-exchanges.json share the format).
func loadSteps(t *testing.T, name string) []loginStep {
	t.Helper()
	raw, err := os.ReadFile(testdataFile(t, "contract/"+name))
	if err != nil {
		t.Fatal(err)
	}
	var steps []loginStep
	if err := json.Unmarshal(raw, &steps); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(steps) == 0 {
		t.Fatalf("%s holds no steps", name)
	}
	return steps
}

func TestReplayRecordedLogins(t *testing.T) {
	steps := loadSteps(t, "login-exchanges.json")
	t.Parallel()
	for name, opts := range map[string][]devtest.Option{"memory": nil, "postgres": {devtest.WithPostgres()}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			clock := manaauthdev.NewClock(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC))
			inst := devtest.Start(t, append([]devtest.Option{devtest.WithNow(clock.Now)}, opts...)...)
			r := &loginReplayer{
				env:    &env{url: inst.URL, admin: inst.AdminToken, user: inst.UserToken, inst: inst, store: inst.Store, fresh: true},
				clock:  clock,
				values: map[string]string{"<admin-jwt>": inst.AdminToken},
			}
			replayed, skipped := 0, 0
			for _, s := range steps {
				switch {
				case s.Request != nil && slices.Contains(notServed, s.Request.Path):
					skipped++
				case s.Request != nil:
					r.replay(t, s)
					replayed++
				case len(s.Observed) > 0:
					// The recorder ran psql: the writes the service
					// left in flight have landed.
					clock.Advance(manaauthdev.ClearLag)
					r.observe(t, s)
				}
			}
			t.Logf("replayed %d recorded exchanges; %d are on routes mana-auth-dev does not serve", replayed, skipped)
			if replayed < 40 {
				t.Errorf("replayed only %d exchanges: the recording is not being read", replayed)
			}
		})
	}
}

type loginReplayer struct {
	env    *env
	clock  *manaauthdev.Clock
	values map[string]string // placeholder → value of this run
	email  string            // the persona's address, from its creation
	// refs are the bodies a recorded body names instead of showing
	// ("<as in login-exchanges.json step 2>"): another persona's answer,
	// so only its shape is compared.
	refs map[string]json.RawMessage
}

// fill replaces the placeholders of a request by this run's values.
func (r *loginReplayer) fill(t *testing.T, step, s string) string {
	t.Helper()
	return placeholder.ReplaceAllStringFunc(s, func(p string) string {
		v, ok := r.values[p]
		if !ok {
			t.Fatalf("step %q sends %s before any answer gave it", step, p)
		}
		return v
	})
}

func (r *loginReplayer) replay(t *testing.T, s loginStep) {
	t.Helper()
	if strings.HasPrefix(s.Step, "6d ") {
		// The recording answered 1799 here: a second or so had passed
		// since the lock began.
		r.clock.Advance(1500 * time.Millisecond)
	}
	var body any
	if len(s.Request.Body) > 0 && string(s.Request.Body) != "null" {
		var str string
		if json.Unmarshal(s.Request.Body, &str) == nil {
			body = str // sent as it is (not JSON)
		} else {
			// A body's placeholders this run has values for are filled
			// (a token to validate); others are sent as recorded (a
			// redacted password is then that text).
			body = []byte(placeholder.ReplaceAllStringFunc(string(s.Request.Body), func(p string) string {
				if v, ok := r.values[p]; ok {
					return v
				}
				return p
			}))
			var m map[string]any
			if json.Unmarshal(s.Request.Body, &m) == nil && r.email == "" && s.Request.Method == http.MethodPost && s.Request.Path == manaauthdev.PathPersonas {
				r.email, _ = m["email"].(string)
			}
		}
	}
	auth := ""
	// The recorder sent no User-Agent (the sessions show "").
	header := []string{"User-Agent", ""}
	for k, v := range s.Request.Headers {
		switch strings.ToLower(k) {
		case "authorization":
			auth = r.fill(t, s.Step, v)
		default:
			header = append(header, k, r.fill(t, s.Step, v))
		}
	}
	got := r.env.request(t, s.Request.Method, r.fill(t, s.Step, s.Request.Path), auth, body, header...)

	want := s.Response
	var diffs []string
	if got.status != want.Status {
		diffs = append(diffs, fmt.Sprintf("status %d, recorded %d", got.status, want.Status))
	}
	if ct, _ := want.Headers["content-type"].(string); want.Headers != nil && got.header.Get("Content-Type") != ct {
		diffs = append(diffs, fmt.Sprintf("content-type %q, recorded %q", got.header.Get("Content-Type"), ct))
	}
	if ra, _ := want.Headers["retry-after"].(string); got.header.Get("Retry-After") != ra {
		diffs = append(diffs, fmt.Sprintf("Retry-After %q, recorded %q", got.header.Get("Retry-After"), ra))
	}
	// A cookie is recorded whole (admin-token-exchanges.json), or by its
	// name alone (login-exchanges.json).
	var wantCookies, gotCookies []string
	if list, ok := want.Headers["set-cookie"].([]any); ok {
		for _, c := range list {
			wantCookies = append(wantCookies, c.(string))
		}
	}
	for i, c := range got.header.Values("Set-Cookie") {
		if i >= len(wantCookies) || !strings.Contains(wantCookies[i], "=") {
			c, _, _ = strings.Cut(c, "=")
		}
		gotCookies = append(gotCookies, c)
	}
	if len(wantCookies) != len(gotCookies) {
		diffs = append(diffs, fmt.Sprintf("cookies %q, recorded %q", gotCookies, wantCookies))
	}
	for i := range min(len(wantCookies), len(gotCookies)) {
		r.compare(fmt.Sprintf("Set-Cookie[%d]", i), wantCookies[i], gotCookies[i], &diffs)
	}
	if jwt, ok := want.Headers["set-auth-jwt"].(string); ok || got.header.Get("set-auth-jwt") != "" {
		r.compare("set-auth-jwt", jwt, got.header.Get("set-auth-jwt"), &diffs)
	}
	var wantBody any
	if err := json.Unmarshal(want.Body, &wantBody); err != nil {
		t.Fatalf("step %q: recorded body: %v", s.Step, err)
	}
	if ref, ok := r.refs[fmt.Sprint(wantBody)]; ok {
		var refBody any
		if err := json.Unmarshal(ref, &refBody); err != nil {
			t.Fatalf("step %q: the body it refers to: %v", s.Step, err)
		}
		diffs = append(diffs, ShapeDiff(refBody, got.body)...)
	} else {
		diffs = append(diffs, ShapeDiff(wantBody, got.body)...)
		r.compare("$", wantBody, got.body, &diffs)
	}
	if len(diffs) > 0 {
		t.Errorf("step %q: %s %s differs from the recording:\n  %s\n  answer: %s", s.Step, s.Request.Method, s.Request.Path, strings.Join(diffs, "\n  "), got.raw)
	}
}

// compare compares the values where the shapes agree, learning what the
// placeholders stand for.
func (r *loginReplayer) compare(path string, want, got any, diffs *[]string) {
	switch w := want.(type) {
	case map[string]any:
		if g, ok := got.(map[string]any); ok {
			for k, wv := range w {
				if gv, ok := g[k]; ok {
					r.compare(path+"."+k, wv, gv, diffs)
				}
			}
		}
	case []any:
		if g, ok := got.([]any); ok {
			for i := 0; i < min(len(w), len(g)); i++ {
				r.compare(fmt.Sprintf("%s[%d]", path, i), w[i], g[i], diffs)
			}
		}
	case string:
		g, ok := got.(string)
		switch {
		case !ok:
		case strings.HasPrefix(w, "<ts>"): // "<ts>", or "<ts> (createdAt + 7 d)"
			if !Timestamp.MatchString(g) {
				*diffs = append(*diffs, fmt.Sprintf("%s: %q is not a timestamp", path, g))
			}
		case placeholder.MatchString(w):
			r.match(path, w, g, diffs)
		case g != w:
			*diffs = append(*diffs, fmt.Sprintf("%s: %q, recorded %q", path, g, w))
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

// match compares text holding placeholders ("<jwt-2>", or
// "mana.session_token=<session-token-2>.<cookie-sig-2>; Max-Age=…"): the
// rest must be the same, and each placeholder stands for the value it
// stood for before, or is learned here.
func (r *loginReplayer) match(path, want, got string, diffs *[]string) {
	names := placeholder.FindAllString(want, -1)
	parts := placeholder.Split(want, -1)
	pattern := "^"
	for i, part := range parts {
		pattern += regexp.QuoteMeta(part)
		if i < len(names) {
			switch known, ok := r.values[names[i]]; {
			case ok:
				pattern += "(" + regexp.QuoteMeta(known) + ")"
			case len(names) == 1 && want == names[0]:
				pattern += "(.+)" // the whole value: an id, a JWT
			default:
				pattern += "([^.;=\\s]+)" // a token, a signature: up to the next separator
			}
		}
	}
	m := regexp.MustCompile(pattern + "$").FindStringSubmatch(got)
	if m == nil {
		*diffs = append(*diffs, fmt.Sprintf("%s: %q, recorded %q", path, got, want))
		return
	}
	for i, name := range names {
		if _, ok := r.values[name]; !ok {
			r.values[name] = m[i+1]
		}
	}
}

// observe checks a database observation of the recording.
func (r *loginReplayer) observe(t *testing.T, s loginStep) {
	t.Helper()
	if _, ok := notModelled[s.Step]; ok {
		return
	}
	var text string
	var fields map[string]string
	if json.Unmarshal(s.Observed, &text) != nil {
		if err := json.Unmarshal(s.Observed, &fields); err != nil {
			var decoded map[string]map[string]any
			if json.Unmarshal(s.Observed, &decoded) == nil && strings.Contains(s.Step, "decoded accessToken") {
				r.checkAccessToken(t, s, decoded)
				return
			}
			t.Fatalf("step %q: cannot read the observation %s", s.Step, s.Observed)
		}
	}
	ctx := context.Background()
	switch {
	case s.Step == "1 db after create":
		r.checkUserRow(t, s, fields["user"])
	case strings.Contains(s.Step, "out-of-band"):
		// The recorder deleted the address's attempts with psql.
		if err := r.env.store.ClearLoginFailures(ctx, r.email); err != nil {
			t.Fatal(err)
		}
	case s.Step == "6 db after delete":
		if _, err := r.env.store.UserByEmail(ctx, r.email); !errors.Is(err, manaauthdev.ErrNotFound) || fields["users"] != "0" {
			t.Errorf("step %q: the user of %s: %v, recorded %s users", s.Step, r.email, err, fields["users"])
		}
		r.checkSessions(t, s, "<persona-user-id-1>", fields["sessions"])
		r.checkAttempts(t, s, fields["login_attempts"], r.email)
	case s.Step == "end sessions":
		r.checkSessions(t, s, "<persona-user-id-2>", text)
	case strings.Contains(s.Note, "auth.login_attempts rows for persona") || s.Step == "4b lockout reached":
		r.checkAttempts(t, s, text, r.email)
	case strings.Contains(s.Note, "auth.login_attempts"):
		r.checkAttempts(t, s, text, "")
	default:
		t.Fatalf("step %q: an observation the replay does not know; check it or list it in notModelled", s.Step)
	}
}

// checkAttempts compares the failed attempts per address with the rows
// the recording shows (id|email|successful|ip_address|attempted_at), all
// of them or those of one address.
func (r *loginReplayer) checkAttempts(t *testing.T, s loginStep, rows, only string) {
	t.Helper()
	want := map[string]int{}
	for _, line := range strings.Split(rows, "\n") {
		if line == "" {
			continue
		}
		cols := strings.Split(line, "|")
		if len(cols) != 5 || cols[2] != "f" {
			t.Fatalf("step %q: cannot read the row %q", s.Step, line)
		}
		want[cols[1]]++
	}
	stored, err := r.env.store.LoginAttempts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, a := range stored {
		if only == "" || a.Email == only {
			got[a.Email]++
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("step %q: failed attempts by address %v, recorded %v", s.Step, got, want)
	}
}

func (r *loginReplayer) checkSessions(t *testing.T, s loginStep, user, want string) {
	t.Helper()
	id, ok := r.values[user]
	if !ok {
		t.Fatalf("step %q: %s was never answered", s.Step, user)
	}
	c, err := r.env.store.RowCounts(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(c.Sessions) != want {
		t.Errorf("step %q: %d sessions of %s, recorded %s", s.Step, c.Sessions, user, want)
	}
}

// checkUserRow compares id|email|name|email_verified|role|kind|access_tier.
func (r *loginReplayer) checkUserRow(t *testing.T, s loginStep, row string) {
	t.Helper()
	cols := strings.Split(row, "|")
	if len(cols) != 7 {
		t.Fatalf("step %q: cannot read the user row %q", s.Step, row)
	}
	u, err := r.env.store.UserByEmail(context.Background(), cols[1])
	if err != nil {
		t.Fatalf("step %q: %s: %v", s.Step, cols[1], err)
	}
	got := strings.Join([]string{r.values[cols[0]], u.Email, u.Name, map[bool]string{true: "t", false: "f"}[u.EmailVerified], u.Role, u.Kind, u.AccessTier}, "|")
	if want := r.fill(t, s.Step, row); got != want {
		t.Errorf("step %q: user row %s, recorded %s", s.Step, got, want)
	}
}

// checkAccessToken decodes the token the login answered and compares its
// header and claims with the recorded ones.
func (r *loginReplayer) checkAccessToken(t *testing.T, s loginStep, want map[string]map[string]any) {
	t.Helper()
	name := placeholder.FindString(s.Step)
	token, ok := r.values[name]
	if !ok {
		t.Fatalf("step %q: no answer gave %s", s.Step, name)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("step %q: %s is not a JWT", s.Step, name)
	}
	var header, claims map[string]any
	for i, dst := range []*map[string]any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(raw, dst) != nil {
			t.Fatalf("step %q: part %d of %s does not decode", s.Step, i, name)
		}
	}
	if header["alg"] != want["header"]["alg"] {
		t.Errorf("step %q: alg %v, recorded %v", s.Step, header["alg"], want["header"]["alg"])
	}
	if Keys(claims) != Keys(want["payload"]) {
		t.Errorf("step %q: claims %s, recorded %s", s.Step, Keys(claims), Keys(want["payload"]))
	}
	for k, w := range want["payload"] {
		ws := w.(string)
		switch {
		case k == "exp":
			if claims["exp"] != claims["iat"].(float64)+900 {
				t.Errorf("step %q: exp %v for iat %v, recorded %s", s.Step, claims["exp"], claims["iat"], ws)
			}
		case k == "iss" || k == "iat" || k == "sid":
			if claims[k] == nil || claims[k] == "" {
				t.Errorf("step %q: claim %s is empty", s.Step, k)
			}
		case placeholder.FindString(ws) == ws:
			if claims[k] != r.values[ws] {
				t.Errorf("step %q: claim %s = %v, want %s = %q", s.Step, k, claims[k], ws, r.values[ws])
			}
		case claims[k] != ws:
			t.Errorf("step %q: claim %s = %v, recorded %q", s.Step, k, claims[k], ws)
		}
	}
}
