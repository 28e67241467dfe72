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

// fixture returns a file of the project's testdata/fixtures: the real
// catalog and the password vectors, kept in the project so that every test
// runs on a fresh clone.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../testdata/fixtures/" + name)
	if err != nil {
		t.Fatalf("%v; the fixtures are part of the project: restore testdata/fixtures from version control", err)
	}
	return b
}

func TestPasswordMatchesOriginalImplementation(t *testing.T) {
	var file struct {
		Vectors []struct{ Email, Secret, Password, Note string }
	}
	if err := json.Unmarshal(fixture(t, "password-vectors.json"), &file); err != nil {
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

// TestPasswordKeepsCapitals checks that an address is hashed exactly as
// written: the runner derives from the address mana-auth stores, so a
// derivation that lowercased first would agree with it only by accident.
func TestPasswordKeepsCapitals(t *testing.T) {
	var file struct {
		Vectors []struct{ Email, Secret, Password string }
	}
	if err := json.Unmarshal(fixture(t, "password-vectors.json"), &file); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, v := range file.Vectors {
		lower := strings.ToLower(v.Email)
		if lower == v.Email {
			continue
		}
		checked++
		s, _ := NewSecret(v.Secret)
		if got := s.Password(v.Email); got != v.Password {
			t.Errorf("Password(%q) = %q, want %q", v.Email, got, v.Password)
		}
		if s.Password(lower) == v.Password {
			t.Errorf("Password(%q) equals Password(%q): the address was lowercased before hashing", v.Email, lower)
		}
	}
	if checked == 0 {
		t.Fatal("password-vectors.json has no vector with capitals in the address")
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
		{"not UTF-8", map[string]string{"PERSONA_SEED_SECRET": "s3cr\xff3t"}, ErrSecretNotText, false},
		{"only whitespace", map[string]string{"PERSONA_SEED_SECRET": " \t\n"}, ErrBlankSecret, false},
		{"whitespace around a secret", map[string]string{"PERSONA_SEED_SECRET": " s3cr3t"}, nil, false},
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
		{"http://mana-auth.localhost:3001", fallback, false, false},
		{"http://AUTH.LOCALHOST", fallback, false, false},
		{"http://localhost.evil.com", fallback, false, true},
		{"http://localhost-evil.com", fallback, false, true},
		{"http://evil.com/localhost", fallback, false, true},
		{"http://127.0.0.1.evil.com", fallback, false, true},
		{"http://notlocalhost", fallback, false, true},
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
