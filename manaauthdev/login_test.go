package manaauthdev_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mana/personactl/manaauthdev"
	"github.com/mana/personactl/manaauthdev/devtest"
)

const (
	invalidCredentials = `{"error":"INVALID_CREDENTIALS","message":"Invalid email or password","status":401}`
	persona1           = "persona.login@mana.test"
	password1          = "LoginPersona0123456789abcdefghij"
	wrongPassword      = "WrongPassword0000000000000000000"
)

// forEachStore runs check against a fresh server of each store, with a
// clock the test moves.
func forEachStore(t *testing.T, check func(t *testing.T, inst *devtest.Instance, clock *manaauthdev.Clock)) {
	t.Parallel()
	for name, opts := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			clock := manaauthdev.NewClock(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC))
			check(t, devtest.Start(t, append([]devtest.Option{devtest.WithNow(clock.Now)}, opts...)...), clock)
		})
	}
}

type loginAnswer struct {
	status     int
	retryAfter string
	raw        string
	body       map[string]any
}

func login(t *testing.T, inst *devtest.Instance, body any) loginAnswer {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case string:
		rd = strings.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	resp, err := http.Post(inst.URL+manaauthdev.PathLogin, "application/json", rd)
	if err != nil {
		t.Fatalf("POST %s: %v", manaauthdev.PathLogin, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := loginAnswer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), raw: string(raw)}
	json.Unmarshal(raw, &a.body)
	return a
}

func creds(email, password string) map[string]string {
	return map[string]string{"email": email, "password": password}
}

// createPersona posts a persona with the password through the admin API.
func createPersona(t *testing.T, inst *devtest.Instance, email, password string) string {
	t.Helper()
	body := personaBody(email)
	body["password"] = password
	body["name"] = "Login"
	a := mustCall(t, inst, http.MethodPost, manaauthdev.PathPersonas, body)
	if a.status != 200 {
		t.Fatalf("creating %s: %d %s", email, a.status, a.body)
	}
	var out struct{ UserID string }
	json.Unmarshal([]byte(a.body), &out)
	return out.UserID
}

func sessions(t *testing.T, inst *devtest.Instance, id string) int {
	t.Helper()
	c, err := inst.Store.RowCounts(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c.Sessions
}

func TestLoginAnswersAsRecorded(t *testing.T) {
	forEachStore(t, func(t *testing.T, inst *devtest.Instance, clock *manaauthdev.Clock) {
		id := createPersona(t, inst, persona1, password1)
		a := login(t, inst, creds(persona1, password1))
		if a.status != 200 || a.retryAfter != "" {
			t.Fatalf("right password: %d %s", a.status, a.raw)
		}
		if got := keys(a.body); got != "accessToken,redirect,refreshToken,token,user" {
			t.Errorf("answer keys %s", got)
		}
		user, _ := a.body["user"].(map[string]any)
		if got := keys(user); got != "accessTier,createdAt,email,emailVerified,id,image,kind,name,twoFactorEnabled,updatedAt" {
			t.Errorf("user keys %s", got)
		}
		if user["id"] != id || user["kind"] != "persona" || user["accessTier"] != "founder" || user["email"] != persona1 ||
			user["emailVerified"] != true || user["image"] != nil || user["twoFactorEnabled"] != false || user["name"] != "Login" {
			t.Errorf("user %v", user)
		}
		if a.body["redirect"] != false || a.body["token"] == "" || a.body["refreshToken"] != a.body["token"] {
			t.Errorf("redirect %v, token %v, refreshToken %v: want false and refreshToken = token", a.body["redirect"], a.body["token"], a.body["refreshToken"])
		}
		c := claimsOf(t, a.body["accessToken"].(string))
		if c["role"] != "user" || c["tier"] != "founder" || c["sub"] != id || c["email"] != persona1 || c["aud"] != "mana" ||
			c["iat"] != float64(clock.Now().Unix()) || c["exp"].(float64)-c["iat"].(float64) != 900 || c["sid"] == "" {
			t.Errorf("accessToken claims %v: want role user, tier founder, sub, email, sid and exp = iat + 900", c)
		}
		if s := listWith(t, inst, a.body["accessToken"].(string)); s.status != 403 || s.body != adminRequired {
			t.Errorf("the persona's accessToken on the admin API: %d %s, want 403", s.status, s.body)
		}
		if n := sessions(t, inst, id); n != 1 {
			t.Errorf("%d sessions after one login, want 1", n)
		}
		if a := login(t, inst, creds(strings.ToUpper(persona1), password1)); a.status != 200 {
			t.Errorf("the address in capitals (Better Auth lowercases): %d %s", a.status, a.raw)
		}
		if n := sessions(t, inst, id); n != 2 {
			t.Errorf("%d sessions after two logins, want one per login", n)
		}
		if n := inst.Server.Faults().Requests(http.MethodPost, manaauthdev.PathLogin); n != 2 {
			t.Errorf("counted %d logins, want 2", n)
		}
	})
}

func TestLoginRefusalsAndTheirAttempts(t *testing.T) {
	forEachStore(t, func(t *testing.T, inst *devtest.Instance, clock *manaauthdev.Clock) {
		createPersona(t, inst, persona1, password1)
		inst.SignUpHuman(t, "unverified@example.test", password1, "Unverified")
		cases := []struct {
			name     string
			body     any
			status   int
			raw      string
			attempts map[string]int // failed attempts after it, by address as sent
		}{
			{"wrong password", creds(persona1, wrongPassword), 401, invalidCredentials, map[string]int{persona1: 1}},
			{"unknown address", creds("nobody.login@mana.test", password1), 401, invalidCredentials, map[string]int{"nobody.login@mana.test": 1}},
			{"wrong password, address in capitals", creds("Persona.Login@mana.test", wrongPassword), 401, invalidCredentials,
				map[string]int{persona1: 1, "Persona.Login@mana.test": 1}},
			{"an address not verified yet", creds("unverified@example.test", password1), 401, invalidCredentials, map[string]int{"unverified@example.test": 1}},
			{"missing password", map[string]any{"email": persona1}, 400,
				`{"error":"VALIDATION","message":"[body.password] Invalid input: expected string, received undefined","status":400}`, map[string]int{persona1: 1}},
			{"not JSON", "email=persona.login@mana.test&password=x", 400, `{"error":"VALIDATION","message":"Invalid JSON body","status":400}`, nil},
			{"empty object", map[string]any{}, 400,
				`{"error":"VALIDATION","message":"[body.email] Invalid input: expected string, received undefined; [body.password] Invalid input: expected string, received undefined","status":400}`, nil},
			{"a number for a password", map[string]any{"email": persona1, "password": 12345678}, 400,
				`{"error":"VALIDATION","message":"[body.password] Invalid input: expected string, received number","status":400}`, map[string]int{persona1: 1}},
			{"spaces around the address", creds(" "+persona1+" ", password1), 400,
				`{"error":"VALIDATION","message":"Invalid email","status":400}`, map[string]int{persona1: 1, " " + persona1 + " ": 0}},
		}
		for _, c := range cases {
			a := login(t, inst, c.body)
			if a.status != c.status || a.raw != c.raw {
				t.Errorf("%s: %d %s\n  want %d %s", c.name, a.status, a.raw, c.status, c.raw)
			}
			for email, want := range c.attempts {
				if got := inst.Server.FailedLogins(email); got != want {
					t.Errorf("%s: %d failed attempts recorded for %q, want %d", c.name, got, email, want)
				}
			}
		}
		if a := login(t, inst, creds(persona1, password1)); a.status != 200 {
			t.Fatalf("right password after a failure: %d %s", a.status, a.raw)
		}
		if n := inst.Server.FailedLogins(persona1); n != 0 {
			t.Errorf("%d failed attempts left for %s after a success, want them cleared", n, persona1)
		}
		if n := inst.Server.FailedLogins("Persona.Login@mana.test"); n != 1 {
			t.Errorf("the success of %s cleared the attempts of another string (%d left, want 1)", persona1, n)
		}
	})
}

func TestUpsertNeverChangesThePasswordTheRunnerLogsInWith(t *testing.T) {
	forEachStore(t, func(t *testing.T, inst *devtest.Instance, clock *manaauthdev.Clock) {
		createPersona(t, inst, persona1, password1)
		createPersona(t, inst, persona1, "a-rotated-secret-gives-this-one")
		if a := login(t, inst, creds(persona1, "a-rotated-secret-gives-this-one")); a.status != 401 {
			t.Errorf("the password of the second upsert: %d %s, want 401 (the upsert keeps the first)", a.status, a.raw)
		}
		if a := login(t, inst, creds(persona1, password1)); a.status != 200 {
			t.Errorf("the password of the first upsert: %d %s, want 200", a.status, a.raw)
		}
	})
}

func TestLockout(t *testing.T) {
	forEachStore(t, func(t *testing.T, inst *devtest.Instance, clock *manaauthdev.Clock) {
		id := createPersona(t, inst, persona1, password1)
		for i := 1; i <= 5; i++ {
			if a := login(t, inst, creds(persona1, wrongPassword)); a.status != 401 {
				t.Fatalf("failure %d: %d %s, want 401", i, a.status, a.raw)
			}
			clock.Advance(time.Minute)
		}
		// The lock runs 30 minutes from the last failure, a minute ago.
		locked := `{"error":"ACCOUNT_LOCKED","message":"Account temporarily locked","status":429,"retryAfterSec":1740}`
		for _, pw := range []string{wrongPassword, password1} {
			if a := login(t, inst, creds(persona1, pw)); a.status != 429 || a.raw != locked || a.retryAfter != "1740" {
				t.Errorf("locked, password %s: %d %s Retry-After %q\n  want 429 %s Retry-After 1740", pw, a.status, a.raw, a.retryAfter, locked)
			}
		}
		if n := inst.Server.FailedLogins(persona1); n != 5 {
			t.Errorf("%d failed attempts after two 429s, want 5: a 429 records none", n)
		}
		if left, ok, err := inst.Server.LoginLock(persona1); err != nil || !ok || left != 29*time.Minute {
			t.Errorf("LoginLock = %v, %v, %v; want 29m, locked", left, ok, err)
		}
		if a := login(t, inst, creds(strings.ToUpper(persona1), password1)); a.status != 200 {
			t.Errorf("another string for the same address while locked: %d %s, want 200 (the lock is keyed by the string)", a.status, a.raw)
		}

		// It survives deleting the user and re-creating the persona.
		if a := mustCall(t, inst, http.MethodDelete, manaauthdev.PathPersonas+"/"+id, nil); a.status != 200 {
			t.Fatalf("delete: %d %s", a.status, a.body)
		}
		createPersona(t, inst, persona1, password1)
		clock.Advance(28*time.Minute + 30*time.Second)
		if a := login(t, inst, creds(persona1, password1)); a.status != 429 || a.retryAfter != "30" || a.body["retryAfterSec"] != 30.0 {
			t.Errorf("re-created persona 29.5 minutes after the last failure: %d %s Retry-After %q, want 429 with 30 s left", a.status, a.raw, a.retryAfter)
		}
		clock.Advance(30 * time.Second)
		if a := login(t, inst, creds(persona1, password1)); a.status != 200 {
			t.Errorf("30 minutes after the last failure: %d %s, want 200", a.status, a.raw)
		}
		if n := inst.Server.FailedLogins(persona1); n != 0 {
			t.Errorf("%d failed attempts after the success, want 0", n)
		}
	})
}

func TestFailuresSpreadOverMoreThanTheWindowDoNotLock(t *testing.T) {
	forEachStore(t, func(t *testing.T, inst *devtest.Instance, clock *manaauthdev.Clock) {
		createPersona(t, inst, persona1, password1)
		for i := 1; i <= 8; i++ { // one failure every 4 minutes: never 5 within 15
			if a := login(t, inst, creds(persona1, wrongPassword)); a.status != 401 {
				t.Fatalf("failure %d, 4 minutes apart: %d %s, want 401", i, a.status, a.raw)
			}
			clock.Advance(4 * time.Minute)
		}
		if n := inst.Server.FailedLogins(persona1); n != 8 {
			t.Errorf("%d failed attempts recorded, want 8", n)
		}
		for i := 1; i <= 4; i++ { // now 5 within 15 minutes: the 4 below and the last one above
			clock.Advance(time.Second)
			login(t, inst, creds(persona1, wrongPassword))
		}
		if a := login(t, inst, creds(persona1, password1)); a.status != 429 {
			t.Errorf("after 5 failures within 15 minutes: %d %s, want 429", a.status, a.raw)
		}
	})
}

func TestLoginFaultsAreSwitchedOnApart(t *testing.T) {
	clock := manaauthdev.NewClock(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC))
	inst := devtest.Start(t, devtest.WithNow(clock.Now))
	createPersona(t, inst, persona1, password1)
	f := inst.Server.Faults()
	f.SetErrorRate(1, http.StatusServiceUnavailable)
	if a := login(t, inst, creds(persona1, password1)); a.status != 200 {
		t.Errorf("login with admin faults on, login faults off: %d %s, want 200", a.status, a.raw)
	}
	clock.Advance(manaauthdev.ClearLag) // the success's clearing has landed
	f.SetErrorRate(0, 0)
	f.SetLoginFaults(true)
	f.SetLostAnswerRate(1)
	if a := login(t, inst, creds(persona1, wrongPassword)); a.status != http.StatusBadGateway {
		t.Errorf("login with lost answers: %d %s, want 502", a.status, a.raw)
	}
	if n := inst.Server.FailedLogins(persona1); n != 1 {
		t.Errorf("%d failed attempts after a lost 401, want 1: the login happened, only its answer was lost", n)
	}
}

func TestLockOutHelper(t *testing.T) {
	clock := manaauthdev.NewClock(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC))
	inst := devtest.Start(t, devtest.WithNow(clock.Now))
	createPersona(t, inst, persona1, password1)
	inst.LockOut(t, persona1)
	if status, body := inst.Login(t, persona1, password1); status != 429 || !strings.Contains(body, `"retryAfterSec":1800`) {
		t.Errorf("after LockOut: %d %s, want 429 with 1800 s", status, body)
	}
}

// keys lists a JSON object's keys, sorted and joined with commas.
func keys(m map[string]any) string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}
