package ci

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// workflow is what these tests read of a workflow file.
type workflow struct {
	On   map[string]any    `yaml:"on"`
	Env  map[string]string `yaml:"env"`
	Jobs map[string]struct {
		If     string            `yaml:"if"`
		RunsOn string            `yaml:"runs-on"`
		Env    map[string]string `yaml:"env"`
		Steps  []struct {
			Name string            `yaml:"name"`
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			Env  map[string]string `yaml:"env"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
	text string
}

func readWorkflow(t *testing.T, name string) workflow {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../github-actions", name))
	if err != nil {
		t.Fatal(err)
	}
	w := workflow{text: string(b)}
	if err := yaml.Unmarshal(b, &w); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return w
}

// jobText is one job of a workflow as YAML, for searching it.
func jobText(t *testing.T, w workflow, job string) string {
	t.Helper()
	var doc struct {
		Jobs map[string]any `yaml:"jobs"`
	}
	if err := yaml.Unmarshal([]byte(w.text), &doc); err != nil {
		t.Fatal(err)
	}
	b, err := yaml.Marshal(doc.Jobs[job])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var secretRef = regexp.MustCompile(`secrets\.([A-Za-z0-9_]+)`)

// adminOrSeed are the environment variables that carry an admin
// credential or the seed secret to personactl.
var adminOrSeed = []string{"MANA_ADMIN_JWT", "MANA_ADMIN_JWT_FILE", "MANA_ADMIN_EMAIL", "MANA_ADMIN_PASSWORD", "MANA_ADMIN_PASSWORD_FILE", "PERSONA_SEED_SECRET"}

// TestPlanPRJobHoldsNoWriteCredential: the jobs of plan-pr.yml, which run a
// pull request's code, are handed only the read-only role's DSNs (no
// admin credential, no seed secret, no other secret); only the workflows
// that never run on a pull request hold those. No workflow compiles
// personactl (go install): they install the pinned release.
func TestPlanPRJobHoldsNoWriteCredential(t *testing.T) {
	t.Parallel()
	pr := readWorkflow(t, "plan-pr.yml")
	if _, ok := pr.On["pull_request"]; !ok || len(pr.On) != 1 {
		t.Fatalf("plan-pr.yml runs on %v, want pull_request alone", pr.On)
	}
	readOnly := []string{"PERSONACTL_PLAN_LIVE_DSN", "PERSONACTL_PLAN_STATE_DSN"}
	for name, job := range pr.Jobs {
		text := jobText(t, pr, name)
		for _, m := range secretRef.FindAllStringSubmatch(text, -1) {
			if !slices.Contains(readOnly, m[1]) {
				t.Errorf("plan-pr.yml job %s is handed the secret %s; a pull request's job may hold only %v", name, m[1], readOnly)
			}
		}
		if strings.Contains(text, "secrets: inherit") {
			t.Errorf("plan-pr.yml job %s inherits every secret", name)
		}
		envs := []map[string]string{pr.Env, job.Env}
		for _, s := range job.Steps {
			envs = append(envs, s.Env)
		}
		for _, env := range envs {
			for _, v := range adminOrSeed {
				if _, ok := env[v]; ok {
					t.Errorf("plan-pr.yml job %s sets %s", name, v)
				}
			}
		}
	}
	var plan string
	for _, s := range pr.Jobs["plan"].Steps {
		if strings.Contains(s.Run, "plan-pr.sh") && s.Env["PERSONACTL_LIVE_DSN"] == "${{ secrets.PERSONACTL_PLAN_LIVE_DSN }}" {
			plan = s.Run
		}
	}
	if plan == "" {
		t.Error("plan-pr.yml's plan job does not run plan-pr.sh with --live as the read-only role (PERSONACTL_LIVE_DSN)")
	}

	for _, name := range []string{"plan-pr.yml", "apply-deploy.yml", "drift.yml"} {
		w := readWorkflow(t, name)
		_, onPR := w.On["pull_request"]
		_, onPRTarget := w.On["pull_request_target"]
		for _, v := range adminOrSeed {
			if (onPR || onPRTarget) && strings.Contains(w.text, "secrets."+v) {
				t.Errorf("%s runs on pull requests and holds %s", name, v)
			}
		}
		for _, bad := range []string{"go install", "setup-go"} {
			if strings.Contains(w.text, bad) {
				t.Errorf("%s compiles personactl (%s) instead of installing the pinned release", name, bad)
			}
		}
		for job := range w.Jobs {
			if text := jobText(t, w, job); strings.Contains(text, "personactl") && !strings.Contains(text, "install.sh") && job != "fork-notice" {
				t.Errorf("%s job %s runs personactl without installing the pinned release", name, job)
			}
		}
	}
}

// TestForkPullRequestGetsANotice: a pull request from a fork, whose jobs
// get no secrets, does not run the plan job (nor its code on a runner
// that can reach the database); a job of its own, on a hosted runner and
// without the pull request's code, says so in the job summary and as a
// notice.
func TestForkPullRequestGetsANotice(t *testing.T) {
	t.Parallel()
	pr := readWorkflow(t, "plan-pr.yml")
	const same, fork = "github.event.pull_request.head.repo.full_name == github.repository", "github.event.pull_request.head.repo.full_name != github.repository"
	if got := pr.Jobs["plan"].If; got != same {
		t.Fatalf("the plan job runs if %q, want only for pull requests from this repository (%s)", got, same)
	}
	var notice string
	for name, job := range pr.Jobs {
		if job.If == fork {
			notice = name
		}
	}
	job, ok := pr.Jobs[notice]
	if !ok {
		t.Fatalf("plan-pr.yml has no job that runs if %s: a fork's pull request is skipped silently", fork)
	}
	if job.RunsOn != "ubuntu-latest" || strings.Contains(jobText(t, pr, notice), "checkout") || secretRef.MatchString(jobText(t, pr, notice)) {
		t.Errorf("the fork's job must run on a hosted runner, without the pull request's code or a secret:\n%s", jobText(t, pr, notice))
	}

	// Run its steps as the runner would, for a pull request from a fork.
	w := &world{t: t, dir: t.TempDir()}
	w.env = map[string]string{
		"PATH":                os.Getenv("PATH"),
		"GITHUB_REPOSITORY":   repo,
		"GITHUB_STEP_SUMMARY": filepath.Join(w.dir, "summary.md"),
	}
	expr := map[string]string{"${{ github.event.pull_request.head.repo.full_name }}": "someone/monorepo-fork"}
	var out string
	for i, s := range job.Steps {
		var env []string
		for k, v := range s.Env {
			if strings.Contains(v, "${{") {
				if expr[v] == "" {
					t.Fatalf("step %q: this test does not know %s", s.Name, v)
				}
				v = expr[v]
			}
			env = append(env, k+"="+v)
		}
		if strings.Contains(s.Run, "${{") {
			t.Fatalf("step %q puts an expression into its script; pass it through env", s.Name)
		}
		script := filepath.Join(w.dir, "step"+string(rune('0'+i))+".sh")
		if err := os.WriteFile(script, []byte("set -eo pipefail\n"+s.Run), 0o600); err != nil {
			t.Fatal(err)
		}
		out += w.must(0, script, env).out
	}
	if !strings.Contains(out, "::notice title=No persona plan for a fork::") {
		t.Errorf("no notice on the job's output:\n%s", out)
	}
	if s := w.file("summary.md"); !strings.Contains(s, "not run for a fork") || !strings.Contains(s, "someone/monorepo-fork") {
		t.Errorf("the job summary does not say why there is no plan:\n%s", s)
	}
}
