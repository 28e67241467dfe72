package manaauthdev_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mana/personactl/manaauthdev"
	"github.com/mana/personactl/manaauthdev/devtest"
)

const (
	invalidToken  = `{"statusCode":401,"message":"Invalid or expired token"}`
	adminRequired = `{"error":"Forbidden","message":"Admin access required"}`
)

// listWith sends GET list with the token and returns the answer.
func listWith(t *testing.T, inst *devtest.Instance, token string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, inst.URL+manaauthdev.PathPersonas, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf strings.Builder
	if _, err := io.Copy(&buf, resp.Body); err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, buf.String()}
}

// claimsOf decodes a token's claims without checking anything.
func claimsOf(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not header.claims.signature", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("token claims: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatalf("token claims: %v", err)
	}
	return claims
}

// withClaims returns token with its claims replaced, the signature kept.
func withClaims(t *testing.T, token string, claims map[string]any) string {
	t.Helper()
	parts := strings.Split(token, ".")
	raw, _ := json.Marshal(claims)
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(raw) + "." + parts[2]
}

func TestMintedTokensExpireByTheServersClock(t *testing.T) {
	clock := manaauthdev.NewClock(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC))
	inst := devtest.Start(t, devtest.WithNow(clock.Now))
	short := inst.Server.MintToken(manaauthdev.RoleAdmin, 2*time.Minute)
	c := claimsOf(t, short)
	for _, k := range []string{"sub", "email", "role", "sid", "tier", "iss", "aud", "iat", "exp"} {
		if _, ok := c[k]; !ok {
			t.Errorf("minted token lacks the %q claim: %v", k, c)
		}
	}
	if c["role"] != "admin" || c["aud"] != "mana" || c["exp"].(float64)-c["iat"].(float64) != 120 ||
		c["iat"].(float64) != float64(clock.Now().Unix()) {
		t.Errorf("claims %v: want role admin, aud mana, iat now by the server's clock and exp 120 s later", c)
	}
	if a := listWith(t, inst, short); a.status != 200 {
		t.Fatalf("a fresh minted admin token: %d %s", a.status, a.body)
	}
	clock.Advance(119 * time.Second)
	if a := listWith(t, inst, short); a.status != 200 {
		t.Errorf("one second before exp: %d %s, want 200", a.status, a.body)
	}
	clock.Advance(time.Second)
	if a := listWith(t, inst, short); a.status != 401 || a.body != invalidToken {
		t.Errorf("at exp: %d %s, want 401 %s", a.status, a.body, invalidToken)
	}
	if a := listWith(t, inst, inst.AdminToken); a.status != 200 {
		t.Errorf("the instance's admin token (12h) two minutes on: %d %s", a.status, a.body)
	}
	if a := listWith(t, inst, inst.Expired()); a.status != 401 || a.body != invalidToken {
		t.Errorf("Expired(): %d %s, want 401", a.status, a.body)
	}
}

func TestOnlyTheServersOwnSignatureIsAccepted(t *testing.T) {
	inst := devtest.Start(t)
	other := devtest.Start(t)
	admin := claimsOf(t, inst.AdminToken)
	user := claimsOf(t, inst.UserToken)
	promoted := map[string]any{}
	for k, v := range user {
		promoted[k] = v
	}
	promoted["role"] = "admin"
	noExp := map[string]any{"sub": inst.AdminID, "role": "admin"}
	cases := []struct {
		name   string
		token  string
		status int
		body   string
	}{
		{"its admin token", inst.AdminToken, 200, `{"personas":[]}`},
		{"its user token", inst.UserToken, 403, adminRequired},
		{"a user token minted later", inst.Server.MintToken(manaauthdev.RoleUser, time.Hour), 403, adminRequired},
		{"a service token", inst.Server.MintToken(manaauthdev.RoleService, time.Hour), 403, adminRequired},
		{"signed claims without exp", inst.Server.Sign(noExp), 200, `{"personas":[]}`},
		{"the same claims signed by another key", devtest.Token(admin), 401, invalidToken},
		{"another instance's admin token", other.AdminToken, 401, invalidToken},
		{"a user token whose role was edited to admin", withClaims(t, inst.UserToken, promoted), 401, invalidToken},
		{"the signature cut off", inst.AdminToken[:strings.LastIndex(inst.AdminToken, ".")+1], 401, invalidToken},
		{"not a JWT", "not-a-jwt", 401, invalidToken},
		{"an exp that is not a number", inst.Server.Sign(map[string]any{"role": "admin", "exp": "never"}), 401, invalidToken},
	}
	for _, c := range cases {
		if a := listWith(t, inst, c.token); a.status != c.status || a.body != c.body {
			t.Errorf("%s: %d %s, want %d %s", c.name, a.status, a.body, c.status, c.body)
		}
	}
}

func TestStaticTokensKeepWorkingButMustDiffer(t *testing.T) {
	srv := manaauthdev.New(manaauthdev.Options{AdminToken: "static-admin", UserToken: "static-user"})
	for token, want := range map[string]int{"static-admin": 200, "static-user": 403, "static-other": 401} {
		req, _ := http.NewRequest(http.MethodGet, manaauthdev.PathPersonas, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("static token %s: %d, want %d", token, rec.Code, want)
		}
	}
	same := manaauthdev.Options{AdminToken: "one-token", UserToken: "one-token"}
	err := same.Check()
	if err == nil || !strings.Contains(err.Error(), "same string") || !strings.Contains(err.Error(), "give them different values") {
		t.Errorf("Check of the same admin and user token: %v, want a refusal saying what to do", err)
	}
	defer func() {
		if recover() == nil {
			t.Errorf("New with the same admin and user token did not refuse")
		}
	}()
	manaauthdev.New(same)
}
