package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mana/personactl/manaauthdev/devtest"
)

// TestE2EConfigFileDrivesEnvironments: a personactl.yaml with two
// environments drives plan, apply and drift with no flag but --env (or
// PERSONACTL_ENV): each environment's server and state, the catalog path
// relative to the file, from a subdirectory of the repository. An exported
// variable that overrides the selected environment is warned about, and a
// secret in the file is refused.
func TestE2EConfigFileDrivesEnvironments(t *testing.T) {
	staging := newE2E(t)
	production := devtest.Start(t)
	repo := t.TempDir()
	if err := os.MkdirAll(filepath.Join(repo, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	catalogFile, err := os.ReadFile(staging.catalog)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(repo, "scripts", "personas"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "scripts", "personas", "catalog.json"), catalogFile, 0o644); err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf(`catalog: scripts/personas/catalog.json
environments:
  staging:
    auth: %s
    state: staging.state.json
  production:
    auth: %s
    state: production.state.json
    max_deletes: 0
`, staging.inst.URL, production.URL)
	if err := os.WriteFile(filepath.Join(repo, "personactl.yaml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(repo, "scripts")
	t.Chdir(sub)
	for _, v := range []string{"MANA_AUTH_URL", "PERSONACTL_CATALOG", "PERSONACTL_STATE"} {
		os.Unsetenv(v) // newE2E set them; t.Setenv restores them afterwards
	}

	staging.must(2, "plan", "--env=staging", "--detailed-exitcode")
	t.Setenv("PERSONACTL_ENV", "staging")
	staging.must(0, "apply", "--auto-approve")
	staging.must(0, "plan", "--detailed-exitcode")
	staging.must(0, "drift")
	if _, err := os.Stat(filepath.Join(repo, "staging.state.json")); err != nil {
		t.Errorf("the staging state is not where the file puts it: %v", err)
	}
	if n := len(staging.live()); n != len(staging.personas) {
		t.Errorf("%d personas on the staging server, want %d", n, len(staging.personas))
	}

	// production: another server and state, nothing applied there yet;
	// its token comes from the environment, as secrets do.
	t.Setenv("MANA_ADMIN_JWT", production.AdminToken)
	r := staging.must(2, "plan", "--env=production", "--detailed-exitcode")
	if !strings.Contains(r.out, fmt.Sprintf("Plan: %d to create", len(staging.personas))) {
		t.Errorf("production's plan does not create every persona\n%s", r)
	}
	// production's max_deletes of 0 applies to destroy there; a flag
	// overrides it.
	staging.must(0, "apply", "--env=production", "--auto-approve")
	r = staging.must(1, "destroy", "--env=production", "--auto-approve")
	if !strings.Contains(r.err, "--max-deletes") {
		t.Errorf("destroy ignored production's max_deletes\n%s", r)
	}
	r = staging.must(0, "config", "--env=production")
	if !strings.Contains(r.out, "environments.production.auth") {
		t.Errorf("personactl config does not show production's auth\n%s", r)
	}

	// An exported staging URL under --env=production is warned about.
	t.Setenv("MANA_ADMIN_JWT", staging.inst.AdminToken)
	t.Setenv("MANA_AUTH_URL", staging.inst.URL)
	r = staging.must(0, "plan", "--env=production")
	if !strings.Contains(r.err, "Warning: MANA_AUTH_URL overrides auth of environment production") {
		t.Errorf("no warning that the environment variable overrides production's URL\n%s", r)
	}
	os.Unsetenv("MANA_AUTH_URL")

	r = staging.must(0, "config")
	for _, want := range []string{"environments.staging.auth", "environment PERSONACTL_ENV"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("personactl config does not show %q\n%s", want, r)
		}
	}

	if err := os.WriteFile(filepath.Join(repo, "personactl.yaml"), []byte(config+"    jwt: eyJhbGciOi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = staging.must(1, "plan")
	if !strings.Contains(r.err, "jwt would hold a secret") {
		t.Errorf("a token in personactl.yaml is not refused\n%s", r)
	}
}
