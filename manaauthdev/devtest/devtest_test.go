package devtest_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/mana/personactl/manaauthdev/devtest"
)

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestStartServesTheAdminAPIWithItsTokens(t *testing.T) {
	inst := devtest.Start(t)
	if !strings.HasPrefix(inst.URL, "http://127.0.0.1:") {
		t.Fatalf("URL = %q, want loopback", inst.URL)
	}
	cases := []struct {
		token      string
		wantStatus int
		wantBody   string
	}{
		{inst.AdminToken, 200, `{"personas":[]}`},
		{inst.UserToken, 403, `{"error":"Forbidden","message":"Admin access required"}`},
		{inst.Expired(), 401, `{"statusCode":401,"message":"Invalid or expired token"}`},
		{"", 401, `{"statusCode":401,"message":"Missing or invalid Authorization header"}`},
	}
	for _, c := range cases {
		status, body := get(t, inst.URL+"/api/v1/admin/personas", c.token)
		if status != c.wantStatus || body != c.wantBody {
			t.Errorf("GET list: %d %s, want %d %s", status, body, c.wantStatus, c.wantBody)
		}
	}
}

func TestTokensCarryDecodableClaims(t *testing.T) {
	inst := devtest.Start(t)
	for token, role := range map[string]string{inst.AdminToken: "admin", inst.UserToken: "user"} {
		parts := strings.Split(token, ".")
		if len(parts) != 3 {
			t.Fatalf("token %q has %d parts, want 3", token, len(parts))
		}
		raw, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		var claims map[string]any
		if err := json.Unmarshal(raw, &claims); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"sub", "email", "role", "exp"} {
			if _, ok := claims[k]; !ok {
				t.Errorf("claims %v lack %q", claims, k)
			}
		}
		if claims["role"] != role {
			t.Errorf("role claim = %v, want %s", claims["role"], role)
		}
	}
}

func TestSignedInHumanMakesTheUsersSearchFail(t *testing.T) {
	for name, opts := range stores {
		t.Run(name, func(t *testing.T) { signedInHumanMakesTheUsersSearchFail(t, devtest.Start(t, opts...)) })
	}
}

var stores = map[string][]devtest.Option{
	"memory":   nil,
	"postgres": {devtest.WithPostgres()},
}

func signedInHumanMakesTheUsersSearchFail(t *testing.T, inst *devtest.Instance) {
	inst.SignUpHuman(t, "quiet@example.test", "password-1", "Quiet")
	status, body := get(t, inst.URL+"/api/v1/admin/users?search=quiet@example.test", inst.AdminToken)
	if status != 200 || !strings.Contains(body, `"total":1`) {
		t.Fatalf("search for a user who never signed in: %d %s", status, body)
	}
	inst.SignedInHuman(t, "active@example.test", "Active")
	status, body = get(t, inst.URL+"/api/v1/admin/users?search=active@example.test", inst.AdminToken)
	if status != 500 {
		t.Fatalf("search for a user who signed in: %d %s, want the service's 500", status, body)
	}
}
