package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
)

func sharedFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../shared/fixtures/" + name)
	if errors.Is(err, os.ErrNotExist) {
		if os.Getenv("CI") != "" {
			t.Fatalf("../shared/fixtures/%s is missing in CI", name)
		}
		t.Skipf("skipping: ../shared/fixtures/%s not found (checkout without ../shared)", name)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPasswordMatchesOriginalImplementation(t *testing.T) {
	var file struct {
		Vectors []struct{ Email, Secret, Password string }
	}
	if err := json.Unmarshal(sharedFixture(t, "password-vectors.json"), &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Vectors) == 0 {
		t.Fatal("no vectors in password-vectors.json")
	}
	for _, v := range file.Vectors {
		s, err := NewSecret(v.Secret)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Password(v.Email); got != v.Password {
			t.Errorf("Password(%q) with secret %q = %q, want %q", v.Email, v.Secret, got, v.Password)
		}
	}
}

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestResolveSecret(t *testing.T) {
	tests := []struct {
		name         string
		env          map[string]string
		wantErr      error
		wantFallback bool
	}{
		{"set", map[string]string{"PERSONA_SEED_SECRET": "s3cr3t"}, nil, false},
		{"set in production", map[string]string{"PERSONA_SEED_SECRET": "s3cr3t", "NODE_ENV": "production"}, nil, false},
		{"unset falls back", map[string]string{}, nil, true},
		{"unset in development", map[string]string{"NODE_ENV": "development"}, nil, true},
		{"unset in production", map[string]string{"NODE_ENV": "production"}, ErrFallbackInProduction, false},
		{"empty", map[string]string{"PERSONA_SEED_SECRET": ""}, ErrEmptySecret, false},
		{"set to the public secret", map[string]string{"PERSONA_SEED_SECRET": DevSecret}, nil, true},
		{"set to the public secret in production", map[string]string{"PERSONA_SEED_SECRET": DevSecret, "NODE_ENV": "production"}, ErrDevSecretInProduction, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ResolveSecret(env(tt.env))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && s.Fallback != tt.wantFallback {
				t.Errorf("Fallback = %v, want %v", s.Fallback, tt.wantFallback)
			}
		})
	}
	s, _ := ResolveSecret(env(map[string]string{}))
	if got, want := s.Password("persona.anna@mana.test"), "1FJ7w8KbjK5CWVa8NqfobexAFNuQKxiA"; got != want {
		t.Errorf("fallback password = %q, want %q", got, want)
	}
}

func TestCheckServerRefusesFallbackOffLoopback(t *testing.T) {
	fallback, _ := ResolveSecret(env(map[string]string{}))
	explicit, _ := ResolveSecret(env(map[string]string{"PERSONA_SEED_SECRET": DevSecret}))
	real, _ := NewSecret("s3cr3t")
	tests := []struct {
		url      string
		secret   Secret
		allow    bool
		wantFail bool
	}{
		{"http://localhost:3001", fallback, false, false},
		{"http://127.0.0.1:3001", fallback, false, false},
		{"http://[::1]:3001", fallback, false, false},
		{"http://127.8.9.1:3001", fallback, false, false},
		{"https://auth.mana.how", fallback, false, true},
		{"https://auth.mana.how", fallback, true, false},
		{"http://10.0.0.5:3001", fallback, false, true},
		{"https://auth.mana.how", real, false, false},
		{"https://auth.mana.how", explicit, false, true},
	}
	for _, tt := range tests {
		u, _ := url.Parse(tt.url)
		err := tt.secret.CheckServer(u, tt.allow)
		if (err != nil) != tt.wantFail {
			t.Errorf("CheckServer(%s, allow=%v) = %v, want failure %v", tt.url, tt.allow, err, tt.wantFail)
		}
		if err != nil && !strings.Contains(err.Error(), "PERSONA_SEED_SECRET") {
			t.Errorf("error does not say what to set: %v", err)
		}
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s, _ := NewSecret("very-secret-key")
	for _, f := range []string{"%v", "%s", "%#v", "%+v"} {
		if out := fmt.Sprintf(f, s); strings.Contains(out, "very-secret-key") {
			t.Errorf("%s of a Secret prints the key: %s", f, out)
		}
	}
}
