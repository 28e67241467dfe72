package adminapi_test

// Protocol edge cases mana-auth-dev cannot be made to produce (answers of the
// wrong shape, redirects, a dead port, a body cut short). Everything else is
// tested against mana-auth-dev itself, in client_test.go.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mana/personactl/catalog"
	"github.com/mana/personactl/state/adminapi"
)

// jwt builds an unsigned token shaped like mana-auth's (header.claims.sig).
func jwt(claims map[string]any) string {
	enc := base64.RawURLEncoding
	payload, _ := json.Marshal(claims)
	return secret(enc.EncodeToString([]byte(`{"alg":"EdDSA","typ":"JWT"}`)) + "." + enc.EncodeToString(payload) + ".c2lnbmF0dXJlLW5vdC1jaGVja2Vk")
}

// fakeAdmin serves fixed bodies by path, the way a broken or foreign server
// might, and counts requests.
type fakeAdmin struct {
	bodies   map[string]string
	requests atomic.Int64
}

func (f *fakeAdmin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	body, ok := f.bodies[r.URL.Path]
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, "404 Not Found")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, body)
}

func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

const listOne = `{"personas":[{"userId":"u1","email":"persona.a@mana.test","name":"A","archetype":"x","tickCadence":"daily","lastActiveAt":null,"createdAt":"2026-04-22T10:11:12.345Z","actions7d":2}]}`

func detailWith(persona string) string {
	return `{"persona":` + persona + `,"recentActions":[],"feedbackByModule":[]}`
}

func TestWrongTypesNameTheEndpointAndField(t *testing.T) {
	okPersona := `{"userId":"u1","email":"persona.a@mana.test","name":"A","archetype":"x","systemPrompt":"p","moduleMix":{"todo":1},"tickCadence":"daily","lastActiveAt":null,"createdAt":"2026-04-22T10:11:12.345Z"}`
	tests := []struct {
		name         string
		list, detail string
		want         []string
	}{
		{
			name: "count as a string",
			list: strings.Replace(listOne, `"actions7d":2`, `"actions7d":"2"`, 1),
			want: []string{"GET /api/v1/admin/personas:", "personas[0].actions7d", "got a string, want an integer"},
		},
		{
			name:   "weight as a string",
			list:   listOne,
			detail: detailWith(strings.Replace(okPersona, `{"todo":1}`, `{"todo":"1"}`, 1)),
			want:   []string{"GET /api/v1/admin/personas/u1:", "persona.moduleMix", "got a string, want a number"},
		},
		{
			name:   "module mix as a string",
			list:   listOne,
			detail: detailWith(strings.Replace(okPersona, `{"todo":1}`, `"todo"`, 1)),
			want:   []string{"GET /api/v1/admin/personas/u1:", "persona.moduleMix", "got a string, want an object"},
		},
		{
			name:   "time as a number",
			list:   listOne,
			detail: detailWith(strings.Replace(okPersona, `"2026-04-22T10:11:12.345Z"`, `1745316672`, 1)),
			want:   []string{"persona.createdAt", "got a number, want an ISO-8601 time string"},
		},
		{
			name:   "actions as a string",
			list:   listOne,
			detail: `{"persona":` + okPersona + `,"recentActions":"none"}`,
			want:   []string{"GET /api/v1/admin/personas/u1:", "recentActions: got a string, want an array"},
		},
		{
			name:   "rating count as a string",
			list:   listOne,
			detail: `{"persona":` + okPersona + `,"feedbackByModule":[{"module":"todo","avgRating":"2"}]}`,
			want:   []string{"feedbackByModule[0].avgRating", "got a string, want a number"},
		},
		{
			name: "list as an array",
			list: `[]`,
			want: []string{"GET /api/v1/admin/personas:", "the answer is an array, want an object"},
		},
		{
			name: "no personas field",
			list: `{"users":[]}`,
			want: []string{"personas: missing"},
		},
		{
			name:   "no persona in the detail",
			list:   listOne,
			detail: `{"recentActions":[]}`,
			want:   []string{"GET /api/v1/admin/personas/u1:", "persona: missing"},
		},
		{
			name:   "null persona in the detail",
			list:   listOne,
			detail: `{"persona":null,"recentActions":[]}`,
			want:   []string{"persona: missing"},
		},
		{
			name: "list entry without a user id",
			list: strings.Replace(listOne, `"userId":"u1",`, ``, 1),
			want: []string{"personas[0].userId: missing"},
		},
		{
			name: "malformed JSON",
			list: `{"personas":[{"userId":}]}`,
			want: []string{"GET /api/v1/admin/personas:", "malformed JSON"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeAdmin{bodies: map[string]string{"/api/v1/admin/personas": tt.list, "/api/v1/admin/personas/u1": tt.detail}}
			c := newClient(t, adminapi.Options{BaseURL: serve(t, f), Token: "not-a-jwt-but-long-enough"})
			_, err := c.Personas(context.Background())
			text := errText(t, err)
			wantIn(t, text, tt.want...)
			wantIn(t, text, "unexpected answer from mana-auth", "MANA_AUTH_URL")
			var de *adminapi.DecodeError
			if !errors.As(err, &de) {
				t.Errorf("error is %T, want *adminapi.DecodeError", err)
			}
			// A malformed answer is not retried: it would come back the same.
			want := int64(1)
			if tt.detail != "" {
				want = 2
			}
			if got := f.requests.Load(); got != want {
				t.Errorf("%d requests, want %d", got, want)
			}
		})
	}
}

func TestUnknownFieldsAndArrayMixesAreRead(t *testing.T) {
	list := `{"personas":[
		{"userId":"u2","email":"persona.b@mana.test","extra":{"deep":[1,2,{"x":null}]},"createdAt":"2026-04-22T10:11:12.345Z","actions7d":0},
		{"userId":"u1","email":"persona.a@mana.test","createdAt":"2026-04-21T10:11:12Z","actions7d":5}
	],"nextPage":null}`
	f := &fakeAdmin{bodies: map[string]string{
		"/api/v1/admin/personas": list,
		// mana-auth stores what its typeof check lets through: [] and "".
		"/api/v1/admin/personas/u1": `{"persona":{"userId":"u1","email":"persona.a@mana.test","name":"A","archetype":"x","systemPrompt":"p","moduleMix":[],"tickCadence":"","lastActiveAt":"2026-04-22T10:11:12.345Z","createdAt":"2026-04-21T10:11:12Z","kind":"persona"},"recentActions":[{"id":"a","nested":{"k":[1]}},{"id":"b"}],"feedbackByModule":[{"module":"todo","avgRating":2},{"module":"mood","avgRating":1}],"more":true}`,
		"/api/v1/admin/personas/u2": `{"persona":{"userId":"u2","email":"persona.b@mana.test","name":"B","archetype":"y","systemPrompt":"q","moduleMix":[0.25,0.75],"tickCadence":"hourly","lastActiveAt":null,"createdAt":"2026-04-22T10:11:12.345Z"}}`,
	}}
	c := newClient(t, adminapi.Options{BaseURL: serve(t, f), Token: jwt(map[string]any{"role": "admin"})})
	got, err := c.Personas(context.Background())
	if err != nil {
		t.Fatal(errText(t, err))
	}
	if len(got) != 2 || got[0].Values.Email != "persona.a@mana.test" || got[1].Values.Email != "persona.b@mana.test" {
		t.Fatalf("got %+v, want persona.a then persona.b", got)
	}
	a, b := got[0], got[1]
	if a.Values.ModuleMix == nil || len(a.Values.ModuleMix) != 0 {
		t.Errorf("moduleMix [] read as %#v, want an empty mix", a.Values.ModuleMix)
	}
	if !catalog.MixEqual(b.Values.ModuleMix, map[string]float64{"0": 0.25, "1": 0.75}) {
		t.Errorf("moduleMix [0.25,0.75] read as %v, want the runner's reading {0:0.25, 1:0.75}", b.Values.ModuleMix)
	}
	if a.Actions != 2 || a.Feedback != 3 || a.Actions7d != 5 {
		t.Errorf("persona.a counts: actions %d, feedback %d, actions7d %d; want 2, 3, 5", a.Actions, a.Feedback, a.Actions7d)
	}
	if a.LastActiveAt == nil || !a.LastActiveAt.Equal(time.Date(2026, 4, 22, 10, 11, 12, 345e6, time.UTC)) {
		t.Errorf("lastActiveAt %v", a.LastActiveAt)
	}
	if b.LastActiveAt != nil || b.Actions != 0 || b.Feedback != 0 {
		t.Errorf("persona.b: lastActiveAt %v, actions %d, feedback %d; want nil, 0, 0", b.LastActiveAt, b.Actions, b.Feedback)
	}
}

// TestDetailReadAsEncodingJSONWould: a detail answer encoding/json reads
// is read, with the values encoding/json gives: names in another letter
// case (but not with other punctuation), a name given twice, bytes that
// are not UTF-8, an escaped time, text after the answer.
func TestDetailReadAsEncodingJSONWould(t *testing.T) {
	tests := []struct {
		name, body string
		want       string // name|email|mix|created|actions
	}{
		{"letter case", `{"PERSONA":{"NAME":"A","Email":"a@x","module_mix":{"x":1}},"recentactions":[{}]}`, "A|a@x|map[]|1|1"},
		{"names given twice", `{"persona":{"name":"A"},"recentActions":[{}],"persona":{"email":"b@x","moduleMix":{"a":1,"a":2}},"recentActions":[{},{}]}`, "A|b@x|map[a:2]|1|2"},
		{"not UTF-8", "{\"persona\":{\"name\":\"A\xff\"}}", "A\uFFFD||map[]|1|0"},
		{"escaped time", `{"persona":{"createdAt":"2026-04-22T10:11:12\u005a"}}`, "||map[]|2026|0"},
		{"text after the answer", `{"persona":{"name":"A"}} and more`, "A||map[]|1|0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, adminapi.Options{BaseURL: serve(t, &fakeAdmin{bodies: map[string]string{"/api/v1/admin/personas/u1": tt.body}}), Token: "not-a-jwt-but-long-enough"})
			p, err := c.Detail(context.Background(), "u1")
			if err != nil {
				t.Fatal(errText(t, err))
			}
			got := fmt.Sprintf("%s|%s|%v|%d|%d", p.Values.Name, p.Values.Email, p.Values.ModuleMix, p.CreatedAt.Year(), p.Actions)
			if got != tt.want {
				t.Errorf("read %s as %s, want %s", tt.body, got, tt.want)
			}
		})
	}
}

func TestRedirectIsReportedNotFollowed(t *testing.T) {
	var followed atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/admin/personas", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://auth.example.test/api/v1/admin/personas", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { followed.Store(true) })
	c := newClient(t, adminapi.Options{BaseURL: serve(t, mux), Token: jwt(map[string]any{"role": "admin"})})
	_, err := c.Upsert(context.Background(), validRequest("persona.r@mana.test"))
	text := errText(t, err)
	wantIn(t, text, "301", `redirects to "https://auth.example.test/api/v1/admin/personas"`, "MANA_AUTH_URL (or --auth)")
	if followed.Load() {
		t.Error("the redirect was followed")
	}
}

func TestMissingRouteSaysWhereItLooked(t *testing.T) {
	url := serve(t, &fakeAdmin{})
	c := newClient(t, adminapi.Options{BaseURL: url, Token: jwt(map[string]any{"role": "admin"})})
	err := c.Delete(context.Background(), "u1")
	text := errText(t, err)
	wantIn(t, text, "DELETE /api/v1/admin/personas/u1", "404 (404 Not Found)", "mana-auth at "+url+" has no such route", "MANA_AUTH_URL")
	if errors.Is(err, adminapi.ErrNotFound) {
		t.Error("a missing route reads as a missing persona")
	}
}

// TestUnreachableServerIsNamed: a refused connection before mana-auth has
// answered once is a wrong address or a server that is not running; it is
// tried twice, not the whole budget, and the error says where and what to
// check.
func TestUnreachableServerIsNamed(t *testing.T) {
	url := closedPort(t)
	var dials atomic.Int64
	var n told
	c := newClient(t, adminapi.Options{BaseURL: url, Token: jwt(map[string]any{"role": "admin"}), HTTPClient: countingDials(t, &dials), Retrying: n.retrying})
	_, err := c.Personas(context.Background())
	text := errText(t, err)
	wantIn(t, text, "cannot reach mana-auth at "+url, "after 2 tries", "mana-auth may not be running", "MANA_AUTH_URL (or --auth)")
	if !errors.Is(err, adminapi.ErrUnreachable) {
		t.Errorf("errors.Is(err, ErrUnreachable) is false for %v", err)
	}
	var ne *adminapi.NetworkError
	if !errors.As(err, &ne) || ne.Tries != 2 {
		t.Errorf("want a *NetworkError after 2 tries, got %#v", err)
	}
	if d := dials.Load(); d != 2 {
		t.Errorf("%d connection attempts, want 2", d)
	}
	news, over := n.all()
	if len(news) != 1 || !strings.HasPrefix(news[0], "mana-auth at "+url+" refused the connection; retry 2 of 10 in ") || over != 1 {
		t.Errorf("told %q and %d over, want the one retry, then over", news, over)
	}
}

func TestSlowAnswersTimeOutAndAreRetried(t *testing.T) {
	var n atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		<-r.Context().Done() // never answers
	})
	c := newClient(t, adminapi.Options{BaseURL: serve(t, h), Token: jwt(map[string]any{"role": "admin"}), Timeout: 30 * time.Millisecond, Retry: adminapi.RetryBudget{Attempts: 3}})
	_, err := c.Personas(context.Background())
	text := errText(t, err)
	wantIn(t, text, "gave no answer within 30ms after 3 tries")
	if got := n.Load(); got != 3 {
		t.Errorf("%d requests, want 3", got)
	}
}

// TestTricklingAnswerIsTooSlowNotSilent: a server whose answer began but
// did not finish within the deadline of one request answered, too slowly;
// "gave no answer" would send the user looking for a server that is down.
func TestTricklingAnswerIsTooSlowNotSilent(t *testing.T) {
	const begun = `{"personas":[{"userId":"u1",`
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, begun)
		w.(http.Flusher).Flush()
		<-r.Context().Done() // the rest never comes in time
	})
	var n told
	c := newClient(t, adminapi.Options{BaseURL: serve(t, h), Token: jwt(map[string]any{"role": "admin"}), Timeout: 300 * time.Millisecond, Retry: adminapi.RetryBudget{Attempts: 2}, Retrying: n.retrying})
	_, err := c.Personas(context.Background())
	text := errText(t, err)
	wantIn(t, text, fmt.Sprintf("was too slow (%d bytes in 300ms)", len(begun)), "after 2 tries")
	if strings.Contains(text, "gave no answer") {
		t.Errorf("a trickling answer reads as none: %s", text)
	}
	if news, _ := n.all(); len(news) != 1 || !strings.HasPrefix(news[0], fmt.Sprintf("mana-auth was too slow (%d bytes in 300ms); retry 2 of 2", len(begun))) {
		t.Errorf("the retry's news is %q, want it too slow", news)
	}
}

func TestAnswerCutShortIsRetried(t *testing.T) {
	var n atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			// Promise more than is sent, then hang up mid-answer.
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(http.StatusOK)
			fmt.Fprint(w, `{"personas":[{"userId":"u1",`)
			w.(http.Flusher).Flush()
			conn, _, _ := http.NewResponseController(w).Hijack()
			conn.Close()
			return
		}
		fmt.Fprint(w, `{"personas":[]}`)
	})
	c := newClient(t, adminapi.Options{BaseURL: serve(t, h), Token: jwt(map[string]any{"role": "admin"})})
	got, err := c.Personas(context.Background())
	if err != nil {
		t.Fatal(errText(t, err))
	}
	if len(got) != 0 || n.Load() != 2 {
		t.Errorf("got %d personas after %d requests, want 0 after 2", len(got), n.Load())
	}
}

func TestClaims(t *testing.T) {
	tok := jwt(map[string]any{"sub": "u-admin", "email": "admin@example.test", "role": "user", "sid": "s1", "tier": "public",
		"iss": "http://127.0.0.1:3001", "aud": []string{"mana", "other"}, "iat": 1795758700, "exp": 1795801900})
	c, ok := adminapi.Claims(tok)
	if !ok {
		t.Fatal("Claims refused a JWT")
	}
	want := adminapi.TokenClaims{Subject: "u-admin", Email: "admin@example.test", Role: "user", Issuer: "http://127.0.0.1:3001",
		IssuedAt: time.Unix(1795758700, 0).UTC(), ExpiresAt: time.Unix(1795801900, 0).UTC()}
	if c != want {
		t.Errorf("Claims = %+v\nwant %+v", c, want)
	}
	for _, bad := range []string{"", "not-a-jwt", "a.b", "a.!!!.c", "a." + base64.RawURLEncoding.EncodeToString([]byte(`[1]`)) + ".c", "a.b.c.d"} {
		if _, ok := adminapi.Claims(bad); ok {
			t.Errorf("Claims(%q) reported a JWT", bad)
		}
	}
	// A claim of the wrong type is left out, the others are kept.
	c, ok = adminapi.Claims(jwt(map[string]any{"role": 7, "exp": "soon", "email": "a@b"}))
	if !ok || c.Role != "" || !c.ExpiresAt.IsZero() || c.Email != "a@b" {
		t.Errorf("Claims with odd types = %+v, %v", c, ok)
	}
}

func validRequest(email string) adminapi.UpsertRequest {
	return adminapi.UpsertRequest{
		Email: email, Name: "N", Password: "abcdefgh12345678abcdefgh12345678",
		Archetype: "a", SystemPrompt: "p", ModuleMix: map[string]float64{"todo": 1}, TickCadence: "daily",
	}
}

func TestCheckListsEveryBrokenRule(t *testing.T) {
	if err := validRequest("persona.ok@mana.test").Check(); err != nil {
		t.Fatalf("a valid request fails: %v", err)
	}
	noCadence := validRequest("persona.ok@mana.test")
	noCadence.TickCadence = ""
	if err := noCadence.Check(); err != nil {
		t.Errorf("an omitted cadence (mana-auth's default) fails: %v", err)
	}
	edge := validRequest("persona.ok@mana.test")
	edge.Password = strings.Repeat("ü", 128) // 128 UTF-16 units: allowed
	edge.ModuleMix = map[string]float64{}
	if err := edge.Check(); err != nil {
		t.Errorf("128 characters and an empty mix fail: %v", err)
	}

	tests := []struct {
		name  string
		edit  func(*adminapi.UpsertRequest)
		wants []string
	}{
		{"everything", func(r *adminapi.UpsertRequest) { *r = adminapi.UpsertRequest{Email: "nobody", TickCadence: "monthly"} }, []string{
			"email must contain @", "password must be 8 to 128 characters long (it has 0)", "archetype is required",
			"systemPrompt is required", "moduleMix is required", `tickCadence "monthly" must be one of daily, weekdays, hourly`}},
		{"short password", func(r *adminapi.UpsertRequest) { r.Password = "secret7" }, []string{"(it has 7)"}},
		{"long password in UTF-16 units", func(r *adminapi.UpsertRequest) { r.Password = strings.Repeat("😀", 65) }, []string{"(it has 130)"}},
		{"capitals", func(r *adminapi.UpsertRequest) { r.Email = "Persona.Anna@mana.test" }, []string{"email must be lowercase"}},
		{"infinite weight", func(r *adminapi.UpsertRequest) { r.ModuleMix = map[string]float64{"todo": math.Inf(1)} }, []string{`weight of "todo" must be a finite number`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validRequest("persona.x@mana.test")
			tt.edit(&r)
			err := r.Check()
			var ce *adminapi.CheckError
			if !errors.As(err, &ce) {
				t.Fatalf("Check = %v, want a *CheckError", err)
			}
			if len(ce.Problems) != len(tt.wants) {
				t.Errorf("problems %q, want %d", ce.Problems, len(tt.wants))
			}
			text := err.Error()
			wantIn(t, text, tt.wants...)
			if r.Password != "" && strings.Contains(text, r.Password) {
				t.Errorf("the error shows the password: %s", text)
			}
		})
	}
}

func TestUpsertRequestNeverPrintsThePassword(t *testing.T) {
	r := validRequest("persona.p@mana.test")
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(format, r); strings.Contains(out, r.Password) {
			t.Errorf("%s shows the password: %s", format, out)
		}
		if out := fmt.Sprintf(format, &r); strings.Contains(out, r.Password) {
			t.Errorf("%s of a pointer shows the password: %s", format, out)
		}
	}
}

func TestNewRefusesBadSettingsWithoutShowingTheToken(t *testing.T) {
	tok := secret("eyJhbGciOi.broken\nline-in-the-token")
	tests := []struct {
		opts adminapi.Options
		want string
	}{
		{adminapi.Options{BaseURL: "localhost:3001"}, "is not an http:// or https:// address"},
		{adminapi.Options{BaseURL: "ftp://localhost"}, "is not an http:// or https:// address"},
		{adminapi.Options{BaseURL: "http://localhost:3001/?x=1"}, "has a query or fragment"},
		{adminapi.Options{BaseURL: "http://localhost:3001", Token: tok}, "the admin token from MANA_ADMIN_JWT (or --jwt) contains spaces or control characters"},
	}
	for _, tt := range tests {
		_, err := adminapi.New(tt.opts)
		wantIn(t, errText(t, err), tt.want)
	}
}

func TestNoTokenSendsNothing(t *testing.T) {
	f := &fakeAdmin{}
	c := newClient(t, adminapi.Options{BaseURL: serve(t, f)})
	_, err := c.Personas(context.Background())
	wantIn(t, errText(t, err), "no admin token", "MANA_ADMIN_JWT (or --jwt)")
	if !errors.Is(err, adminapi.ErrNoToken) {
		t.Errorf("errors.Is(err, ErrNoToken) is false")
	}
	if n := f.requests.Load(); n != 0 {
		t.Errorf("%d requests sent without a token", n)
	}
}

func TestExpiryIsSaidTheWayAPersonWouldSayIt(t *testing.T) {
	f := &fakeAdmin{}
	url := serve(t, f)
	exp := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
	tok := jwt(map[string]any{"role": "admin", "exp": exp.Unix()})
	for ago, want := range map[time.Duration]string{
		0:                "expired at 2026-11-27T06:00:00Z (0s ago)",
		40 * time.Second: "(40s ago)",
		2*time.Hour + 5*time.Minute + 10*time.Second: "(2h5m ago)",
		76 * time.Hour: "(3 days 4h ago)",
	} {
		now := exp.Add(ago)
		c := newClient(t, adminapi.Options{BaseURL: url, Token: tok, Now: func() time.Time { return now }})
		err := c.Delete(context.Background(), "u1")
		wantIn(t, errText(t, err), want)
	}
	// One second before exp the token is still sent.
	c := newClient(t, adminapi.Options{BaseURL: url, Token: tok, Now: func() time.Time { return exp.Add(-time.Second) }})
	if err := c.Delete(context.Background(), "u1"); errors.Is(err, adminapi.ErrTokenExpired) {
		t.Errorf("a token one second from expiry was refused: %v", err)
	}
	if n := f.requests.Load(); n != 1 {
		t.Errorf("%d requests, want only the one with a live token", n)
	}
}

// TestServerWordsAreNeutralised: whatever an error answer holds (escape
// sequences that clear the screen and print a fake success, line breaks
// that would start a Markdown heading, C1 controls, bidi overrides), its
// words reach the error on one line, every control character escaped.
func TestServerWordsAreNeutralised(t *testing.T) {
	const fake = "\x1b[2J\x1b[31mApply complete!"
	bodies := map[string]string{
		"JSON envelope": `{"error":"\u001b[2J\u001b[31mApply complete!","message":"\n## heading\r","details":["<img src=x onerror=alert(1)>\u0085next"],"hint":"\u202egnp.exe","code":"\u009b31m"}`,
		"plain text":    fake + "\x9b31m\x7f\n<!-- second line -->",
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			url := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(body, "{") {
					w.Header().Set("Content-Type", "application/json")
				}
				status := http.StatusInternalServerError
				if r.URL.Path == "/api/v1/auth/login" {
					status = http.StatusBadRequest
				}
				w.WriteHeader(status)
				fmt.Fprint(w, body)
			}))
			c := newClient(t, adminapi.Options{BaseURL: url, Token: jwt(map[string]any{"role": "admin"})})
			_, upsertErr := c.Upsert(context.Background(), validRequest("persona.n@mana.test"))
			_, loginErr := c.Login(context.Background(), "persona.n@mana.test", "derived-password")
			for _, err := range []error{upsertErr, loginErr} {
				text := errText(t, err)
				for i, r := range text {
					if r < 0x20 || r == 0x7F || (0x80 <= r && r <= 0x9F) || r == 0x202E || r == utf8.RuneError {
						t.Errorf("the error holds %U at byte %d: %q", r, i, text)
						break
					}
				}
				wantIn(t, text, `\x1b[2J\x1b[31mApply complete!`)
			}
		})
	}
}
