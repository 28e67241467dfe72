package connect

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAdminSource: a flag beats an environment variable; two sources at
// the same level are an error naming both.
func TestAdminSource(t *testing.T) {
	for _, tt := range []struct {
		name               string
		token, file, email string
		given              []string
		want, err          string
	}{
		{name: "none"},
		{name: "MANA_ADMIN_JWT", token: "t", want: "MANA_ADMIN_JWT"},
		{name: "MANA_ADMIN_EMAIL", email: "ops@example.test", want: "MANA_ADMIN_EMAIL"},
		{name: "--admin-email over MANA_ADMIN_JWT", token: "t", email: "ops@example.test", given: []string{"admin-email"}, want: "--admin-email"},
		{name: "--jwt-file over MANA_ADMIN_EMAIL", file: "f", email: "ops@example.test", given: []string{"jwt-file"}, want: "--jwt-file"},
		{name: "two variables", token: "t", email: "ops@example.test", err: "MANA_ADMIN_JWT and MANA_ADMIN_EMAIL both give the admin token; keep one"},
		{name: "two flags", token: "t", email: "ops@example.test", given: []string{"jwt", "admin-email"}, err: "--jwt and --admin-email both give the admin token; keep one"},
		{name: "two flags over a variable", token: "t", file: "f", email: "ops@example.test", given: []string{"jwt-file", "admin-email"}, err: "--jwt-file and --admin-email both"},
	} {
		s := settings(t)
		s.Token, s.TokenFile, s.AdminEmail = tt.token, tt.file, tt.email
		s.Given = map[string]bool{}
		for _, g := range tt.given {
			s.Given[g] = true
		}
		got, err := s.AdminSource()
		switch {
		case tt.err != "":
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: %q, %v; want the error %q", tt.name, got, err, tt.err)
			}
		case err != nil || got != tt.want:
			t.Errorf("%s: %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

// TestAdminPassword: the file's one line (without its line break), or
// MANA_ADMIN_PASSWORD; a flag's file beats the variable, both variables
// set are an error, and none is one saying what to set.
func TestAdminPassword(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	env := func(v string) func(string) (string, bool) {
		return func(k string) (string, bool) { return v, k == "MANA_ADMIN_PASSWORD" && v != "" }
	}
	for _, tt := range []struct {
		name, file, env, stdin string
		flag                   bool
		want, err              string
	}{
		{name: "file", file: write("pw", "pass word \r\n"), want: "pass word "},
		{name: "file with a byte-order mark", file: write("bom", "\uFEFFsecret-1\n"), want: "secret-1"},
		{name: "standard input", file: "-", stdin: "from-stdin\n", want: "from-stdin"},
		{name: "variable", env: "from-env", want: "from-env"},
		{name: "flag over variable", file: write("pw2", "from-file"), flag: true, env: "from-env", want: "from-file"},
		{name: "two variables", file: write("pw3", "from-file"), env: "from-env", err: "MANA_ADMIN_PASSWORD_FILE and MANA_ADMIN_PASSWORD both give the admin's password"},
		{name: "none", err: "no password to sign in as ops@example.test: set MANA_ADMIN_PASSWORD_FILE"},
		{name: "empty file", file: write("empty", "\n"), err: "does not hold one password on one line"},
		{name: "two lines", file: write("two", "one\ntwo\n"), err: "does not hold one password on one line"},
		{name: "missing file", file: filepath.Join(dir, "missing"), err: "reading the admin's password from"},
	} {
		s := settings(t)
		s.AdminEmail, s.AdminPasswordFile, s.LookupEnv = "ops@example.test", tt.file, env(tt.env)
		s.Given = map[string]bool{"admin-password-file": tt.flag}
		s.Stdin = strings.NewReader(tt.stdin)
		got, err := s.adminPassword()
		switch {
		case tt.err != "":
			wantError(t, err, tt.err)
			if got != "" {
				t.Errorf("%s: a password %q with the error", tt.name, got)
			}
		case err != nil || got != tt.want:
			t.Errorf("%s: %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

// TestPasswordFileJoinsTheStandardInputCheck: the password file and the
// catalog cannot both read standard input; nothing is read.
func TestPasswordFileJoinsTheStandardInputCheck(t *testing.T) {
	s := settings(t)
	stdin := strings.NewReader("secret-1\n")
	s.Stdin, s.Token, s.AdminEmail, s.AdminPasswordFile, s.Catalog = stdin, "", "ops@example.test", "-", "-"
	_, err := Open(context.Background(), s, Needs{Writes: true})
	wantError(t, err, "--catalog (PERSONACTL_CATALOG) and --admin-password-file (MANA_ADMIN_PASSWORD_FILE) each read standard input")
	if stdin.Len() != len("secret-1\n") {
		t.Error("standard input was read")
	}
	s.AdminPasswordFile = filepath.Join(t.TempDir(), "admin.password")
	if s.Inputs()[s.AdminPasswordFile] == "" {
		t.Error("the password file is not among the inputs a saved plan must not overwrite")
	}
}
