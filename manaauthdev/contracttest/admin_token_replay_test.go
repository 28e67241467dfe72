package contracttest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mana/personactl/manaauthdev"
	"github.com/mana/personactl/manaauthdev/devtest"
)

// The recordings of testdata/contract/admin-token-exchanges.json (signing
// in as an admin, turning the session cookie into access tokens, logging
// out, the lockout of the runner's login), replayed in order against a
// fresh mana-auth-dev as the service is today (every token claims role
// "user"), with a clock that moves only where the recording's did. Every
// exchange must give the same status, cookies (whole), set-auth-jwt and
// body as TestReplayRecordedLogins compares them; tokens the recorder
// signed with the service's key are signed with the server's; the decoded
// tokens and the database rows it noted are checked.

// iatPlaceholder is a recorded number of a token's claims ("<iat of
// jwt-2>", "<iat of jwt-2> + 900").
var iatPlaceholder = regexp.MustCompile(`^<iat of ([^>]+)>( [+-] \d+)?$`)

// recordedIssuer is the iss of the recorded tokens: the service's BASE_URL.
const recordedIssuer = "http://127.0.0.1:3001"

func TestReplayRecordedAdminTokenExchanges(t *testing.T) {
	steps := loadSteps(t, "admin-token-exchanges.json")
	t.Parallel()
	for name, opts := range map[string][]devtest.Option{"memory": nil, "postgres": {devtest.WithPostgres()}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			clock := manaauthdev.NewClock(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC))
			inst := devtest.Start(t, append([]devtest.Option{devtest.WithNow(clock.Now)}, opts...)...)
			r := &loginReplayer{
				env:    &env{url: inst.URL, inst: inst, store: inst.Store, fresh: true},
				clock:  clock,
				values: map[string]string{},
			}
			replayed := 0
			for _, s := range steps {
				switch {
				case s.Request != nil:
					r.beforeAdminTokenStep(t, s)
					r.replay(t, r.normalised(t, s))
					replayed++
				case len(s.Observed) > 0:
					r.observeAdminToken(t, s)
				}
			}
			if replayed != 51 {
				t.Errorf("replayed %d exchanges; the recording has 51", replayed)
			}
		})
	}
}

// beforeAdminTokenStep moves the clock as the recording's moved, and signs
// the tokens the recorder signed with the service's key.
func (r *loginReplayer) beforeAdminTokenStep(t *testing.T, s loginStep) {
	t.Helper()
	switch {
	case strings.HasPrefix(s.Step, "3a-3 "): // "refresh again 2 s later"
		r.clock.Advance(2 * time.Second)
	case strings.HasPrefix(s.Step, "6-10 "): // retryAfterSec 1789: 11 s after the lock began
		r.clock.Advance(11 * time.Second)
	}
	srv, now := r.env.inst.Server, r.clock.Now()
	signed := func(user, role string, exp time.Time) string {
		id, ok := r.values[user]
		if !ok {
			t.Fatalf("step %q: %s was never answered", s.Step, user)
		}
		u, err := r.env.store.UserByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return srv.Sign(map[string]any{"sub": id, "email": u.Email, "role": role, "sid": manaauthdev.NewID(), "tier": u.AccessTier,
			"iat": now.Unix(), "exp": exp.Unix(), "iss": manaauthdev.TokenIssuer, "aud": "mana"})
	}
	for k, v := range s.Request.Headers {
		switch {
		case k == "Authorization" && strings.Contains(v, "<server-signed-admin-jwt>"):
			r.values["<server-signed-admin-jwt>"] = signed("<admin-user-id>", manaauthdev.RoleAdmin, now.Add(15*time.Minute))
		case k == "Authorization" && strings.Contains(v, "<server-signed-expired-admin-jwt>"):
			r.values["<server-signed-expired-admin-jwt>"] = signed("<admin-user-id>", manaauthdev.RoleAdmin, now.Add(-120*time.Second))
		case k == "Authorization" && strings.Contains(v, "<server-signed-user-jwt>"):
			r.values["<server-signed-user-jwt>"] = signed("<plain-user-id>", manaauthdev.RoleUser, now.Add(15*time.Minute))
		}
	}
}

// normalised puts into the recorded answer the values of this run that a
// placeholder does not stand for: a token's numbers ("<iat of jwt-2>",
// "<iat of jwt-2> + 900") and its issuer (the service's BASE_URL, which is
// TokenIssuer here).
func (r *loginReplayer) normalised(t *testing.T, s loginStep) loginStep {
	t.Helper()
	var body any
	if err := json.Unmarshal(s.Response.Body, &body); err != nil {
		t.Fatalf("step %q: recorded body: %v", s.Step, err)
	}
	var walk func(v any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				x[k] = walk(e)
			}
		case string:
			if m := iatPlaceholder.FindStringSubmatch(x); m != nil {
				iat := r.claims(t, s, "<"+m[1]+">")["iat"].(float64)
				var plus float64
				fmt.Sscan(strings.ReplaceAll(m[2], " ", ""), &plus)
				return iat + plus
			}
			if x == recordedIssuer {
				return manaauthdev.TokenIssuer
			}
		}
		return v
	}
	raw, err := json.Marshal(walk(body))
	if err != nil {
		t.Fatal(err)
	}
	resp := *s.Response
	resp.Body = raw
	s.Response = &resp
	return s
}

// claims decodes the claims of a token this run was answered.
func (r *loginReplayer) claims(t *testing.T, s loginStep, name string) map[string]any {
	t.Helper()
	token, ok := r.values[name]
	if !ok {
		t.Fatalf("step %q: no answer gave %s", s.Step, name)
	}
	parts := strings.Split(token, ".")
	var claims map[string]any
	raw, err := base64.RawURLEncoding.DecodeString(parts[min(1, len(parts)-1)])
	if err != nil || json.Unmarshal(raw, &claims) != nil {
		t.Fatalf("step %q: %s does not decode", s.Step, name)
	}
	return claims
}

// observeAdminToken checks an observation: a decoded token, the rows of
// auth.users, auth.sessions or auth.login_attempts.
func (r *loginReplayer) observeAdminToken(t *testing.T, s loginStep) {
	t.Helper()
	ctx := context.Background()
	var obs map[string]json.RawMessage
	if err := json.Unmarshal(s.Observed, &obs); err != nil {
		t.Fatalf("step %q: %v", s.Step, err)
	}
	rows := func(key string) []json.RawMessage {
		var out []json.RawMessage
		if err := json.Unmarshal(obs[key], &out); err != nil {
			t.Fatalf("step %q: %s: %v", s.Step, key, err)
		}
		return out
	}
	switch {
	case strings.Contains(s.Step, "decoded <server-signed"):
		// Signed here, with these claims, by beforeAdminTokenStep.
	case strings.Contains(s.Step, "decoded <jwt-"):
		r.checkIssuedToken(t, s, obs)
	case strings.HasPrefix(s.Step, "0c "):
		// The recorder made the admin in the database, as an operator does.
		for _, row := range rows("auth.users rows (id|email|role|email_verified|access_tier|kind)") {
			var line string
			json.Unmarshal(row, &line)
			cols := strings.Split(line, "|")
			id := r.values[cols[0]]
			if err := r.env.store.MarkVerified(ctx, id); err != nil {
				t.Fatalf("step %q: %v", s.Step, err)
			}
			if err := r.env.store.SetUserRole(ctx, id, cols[2]); err != nil {
				t.Fatalf("step %q: %v", s.Step, err)
			}
			u, err := r.env.store.UserByID(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join([]string{cols[0], u.Email, u.Role, fmt.Sprint(u.EmailVerified), u.AccessTier, u.Kind}, "|")
			if got != line {
				t.Errorf("step %q: user row %s, recorded %s", s.Step, got, line)
			}
		}
	case strings.Contains(s.Step, "session rows"):
		want := rows("auth.sessions rows of the admin")
		c, err := r.env.store.RowCounts(ctx, r.values["<admin-user-id>"])
		if err != nil {
			t.Fatal(err)
		}
		if c.Sessions != len(want) {
			t.Errorf("step %q: the admin has %d sessions, recorded %d", s.Step, c.Sessions, len(want))
		}
	case strings.Contains(s.Step, "login_attempts"):
		want := rows("auth.login_attempts rows (email|successful|ip_address)")
		got, err := r.env.store.LoginAttempts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Errorf("step %q: %d failed logins recorded, the recording has %d", s.Step, len(got), len(want))
		}
	case strings.HasPrefix(s.Step, "5 "):
		// The lifetimes from the source: the cookie's Max-Age and exp - iat
		// are compared where they are answered.
	default:
		t.Fatalf("step %q: an observation the replay does not know", s.Step)
	}
}

// checkIssuedToken compares the header and claims of a token the server
// issued with the decoded ones of the recording.
func (r *loginReplayer) checkIssuedToken(t *testing.T, s loginStep, obs map[string]json.RawMessage) {
	t.Helper()
	name := placeholder.FindString(s.Step)
	token, ok := r.values[name]
	if !ok {
		t.Fatalf("step %q: no answer gave %s", s.Step, name)
	}
	parts := strings.Split(token, ".")
	var want, got [2]map[string]any
	for i, key := range []string{"header", "payload"} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(raw, &got[i]) != nil || json.Unmarshal(obs[key], &want[i]) != nil {
			t.Fatalf("step %q: the %s of %s does not decode", s.Step, key, name)
		}
	}
	var diffs []string
	for i := range want {
		if Keys(got[i]) != Keys(want[i]) {
			diffs = append(diffs, fmt.Sprintf("keys %s, recorded %s", Keys(got[i]), Keys(want[i])))
		}
	}
	claims := got[1]
	for k, w := range want[1] {
		switch ws := w.(string); {
		case k == "exp":
			if claims["exp"] != claims["iat"].(float64)+float64(manaauthdev.AccessTokenTTL/time.Second) {
				diffs = append(diffs, fmt.Sprintf("exp %v for iat %v, recorded %s", claims["exp"], claims["iat"], ws))
			}
		case k == "iat" || k == "iss":
			if claims[k] == nil || claims[k] == "" {
				diffs = append(diffs, "claim "+k+" is empty")
			}
		default:
			r.compare("claims."+k, w, claims[k], &diffs)
		}
	}
	r.compare("header.kid", want[0]["kid"], got[0]["kid"], &diffs)
	if len(diffs) > 0 {
		t.Errorf("step %q: %s differs from the recording:\n  %s", s.Step, name, strings.Join(diffs, "\n  "))
	}
}
