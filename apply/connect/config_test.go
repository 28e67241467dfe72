package connect

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFindConfigStopsAtTheRepositoryTop: the file is found in the
// directory or a parent, but never above the directory that holds .git.
func TestFindConfigStopsAtTheRepositoryTop(t *testing.T) {
	root := t.TempDir()
	repo := filepath.Join(root, "repo")
	deep := filepath.Join(repo, "a", "b")
	if err := os.MkdirAll(filepath.Join(repo, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, ConfigName), "catalog: outside.json\n")
	if got, err := FindConfig(deep); err != nil || got != "" {
		t.Errorf("FindConfig = %q, %v; want none: the file above the repository is not its", got, err)
	}
	writeFile(t, filepath.Join(repo, ConfigName), "catalog: c.json\n")
	if got, err := FindConfig(deep); err != nil || got != filepath.Join(repo, ConfigName) {
		t.Errorf("FindConfig = %q, %v; want the repository's", got, err)
	}
	writeFile(t, filepath.Join(repo, "a", ConfigName), "catalog: c.json\n")
	if got, _ := FindConfig(deep); got != filepath.Join(repo, "a", ConfigName) {
		t.Errorf("FindConfig = %q; want the nearest", got)
	}
}

func TestLoadConfigRefusesSecretsAndUnknownKeys(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{"a token", "environments:\n  staging:\n    jwt: eyJ...\n", []string{":3:5:", "would hold a secret", "MANA_ADMIN_JWT_FILE"}},
		{"a password", "environments:\n  staging:\n    admin_password: hunter2\n", []string{"would hold a secret"}},
		{"the seed secret", "seed_secret: s\n", []string{"would hold a secret", "PERSONA_SEED_SECRET"}},
		{"a DSN", "environments:\n  staging:\n    live_dsn: postgres://u:p@h/db\n", []string{"would hold a secret", "live_dsn_env"}},
		{"a state DSN with a password", "environments:\n  staging:\n    state: postgres://u:p@h/db\n", []string{"DSN with a password"}},
		{"credentials in the auth URL", "environments:\n  staging:\n    auth: https://u:p@auth.example\n", []string{"holds credentials"}},
		{"a misspelt key", "environments:\n  staging:\n    workspce: w\n", []string{"unknown key workspce; did you mean workspace?"}},
		{"a misspelt top key", "catalgo: c.json\n", []string{"did you mean catalog?"}},
		{"a negative max_deletes", "environments:\n  staging:\n    max_deletes: -5\n", []string{"max_deletes is \"-5\""}},
		{"not YAML", "catalog: [\n", []string{"fix the YAML"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), ConfigName)
			writeFile(t, path, tt.text)
			_, err := LoadConfig(path)
			if err == nil {
				t.Fatal("loaded; want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestApplyLayersFlagsEnvironmentFileDefault: a flag beats an environment
// variable, which beats the file, which beats the default; an environment
// variable overriding the selected environment is warned about; paths are
// relative to the file.
func TestApplyLayersFlagsEnvironmentFileDefault(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ConfigName)
	writeFile(t, path, `catalog: scripts/catalog.json
environments:
  staging:
    auth: https://auth.staging.example
    state: staging.state.json
    workspace: staging
    live_dsn_env: STAGING_DB
    max_deletes: 3
    admin_email: deploy@mana.test
`)
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"PERSONACTL_WORKSPACE": "mine", "STAGING_DB": "postgres://reader@db/auth"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	catalogPath, auth, statePath, workspace, live, maxDeletes, adminEmail := "catalog.json", "https://flag.example", "personactl.state.json", "mine", "", "-1", ""
	fields := []Field{
		{Name: "catalog", Flag: "--catalog", Env: "PERSONACTL_CATALOG", Value: &catalogPath, Path: true},
		{Name: "auth", Flag: "--auth", Env: "MANA_AUTH_URL", Value: &auth, Given: true},
		{Name: "state", Flag: "--state", Env: "PERSONACTL_STATE", Value: &statePath, Path: true},
		{Name: "workspace", Flag: "--workspace", Env: "PERSONACTL_WORKSPACE", Value: &workspace},
		{Name: "live", Flag: "--live", Env: "PERSONACTL_LIVE_DSN", Value: &live, Secret: true},
		{Name: "max_deletes", Flag: "--max-deletes", Value: &maxDeletes},
		{Name: "admin_email", Flag: "--admin-email", Env: "MANA_ADMIN_EMAIL", Value: &adminEmail},
	}
	settings, warnings, err := c.Apply("staging", fields, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if catalogPath != filepath.Join(dir, "scripts/catalog.json") || statePath != filepath.Join(dir, "staging.state.json") {
		t.Errorf("catalog %q, state %q: want both relative to the file's directory", catalogPath, statePath)
	}
	if auth != "https://flag.example" || workspace != "mine" || live != "postgres://reader@db/auth" || maxDeletes != "3" || adminEmail != "deploy@mana.test" {
		t.Errorf("auth %q workspace %q live %q max_deletes %q", auth, workspace, live, maxDeletes)
	}
	sources := map[string]string{}
	for _, s := range settings {
		sources[s.Name] = s.Source
	}
	for name, want := range map[string]string{"auth": "flag --auth", "workspace": "environment PERSONACTL_WORKSPACE", "state": "(environments.staging.state)", "live": "live_dsn_env $STAGING_DB"} {
		if !strings.Contains(sources[name], want) {
			t.Errorf("%s: source %q, want it to say %q", name, sources[name], want)
		}
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "PERSONACTL_WORKSPACE overrides workspace of environment staging") {
		t.Errorf("warnings = %q; want the environment variable's override named (and not the flag's)", warnings)
	}

	delete(env, "STAGING_DB")
	if _, _, err := c.Apply("staging", fields, lookup); err == nil || !strings.Contains(err.Error(), "$STAGING_DB (live_dsn_env), which is unset") {
		t.Errorf("err = %v; want the unset live_dsn_env named", err)
	}
	if _, _, err := c.Apply("stagign", fields, lookup); err == nil || !strings.Contains(err.Error(), "did you mean staging?") {
		t.Errorf("err = %v; want did-you-mean for an unknown environment", err)
	}
}
