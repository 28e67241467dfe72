package ci

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// signIn is the deploy job's credential: the admin's address and password,
// no fixed token.
var signIn = []string{"MANA_ADMIN_JWT=", "MANA_ADMIN_EMAIL=" + adminEmail, "MANA_ADMIN_PASSWORD=" + adminPass}

// merge records that commit sha merged pull request pr, as GitHub lists
// a commit's pull requests.
func (w *world) merge(sha string) {
	w.t.Helper()
	b, err := json.Marshal(map[string]any{sha: []map[string]any{
		{"number": 7, "merged_at": nil, "merge_commit_sha": "0ther"}, // a pull request the commit was merely part of
		{"number": 42, "merged_at": "2026-05-04T10:00:00Z", "merge_commit_sha": sha},
	}})
	if err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.ghDir, "pulls.json"), b, 0o600); err != nil {
		w.t.Fatal(err)
	}
}

// deployJob runs the deploy job of apply-deploy.yml for commit sha as the
// workflow does: reviewed-digest.sh, then, when it found the reviewed
// plan, deploy-apply.sh with the digest it put out. extra is the job's
// environment beyond the world's (a workflow_dispatch sets EXPECT_DIGEST).
// It returns the exit code of the step that ended the job and both results.
func (w *world) deployJob(sha string, extra ...string) (code int, reviewed, applied result) {
	w.t.Helper()
	w.reset()
	env := append(append([]string{"COMMIT_SHA=" + sha}, signIn...), extra...)
	reviewed = w.run("reviewed-digest.sh", env)
	if reviewed.code != 0 {
		return reviewed.code, reviewed, result{}
	}
	m := regexp.MustCompile(`(?m)^digest=(.*)$`).FindStringSubmatch(w.file("output"))
	if m == nil {
		w.t.Fatalf("reviewed-digest.sh passed but put out no digest: %q\n%s", w.file("output"), reviewed)
	}
	applied = w.run("deploy-apply.sh", append(env, "EXPECT_DIGEST="+m[1]))
	return applied.code, reviewed, applied
}

// planDigest is the changes digest of the plan personactl makes now.
func (w *world) planDigest() string {
	w.t.Helper()
	var p struct {
		ChangesDigest string `json:"changes_digest"`
	}
	r := w.must(0, "personactl", nil, "plan", "--format=json")
	if err := json.Unmarshal([]byte(r.out), &p); err != nil || p.ChangesDigest == "" {
		w.t.Fatalf("plan --format=json has no changes_digest (%v):\n%s", err, r)
	}
	return p.ChangesDigest
}

// commentDigest is the digest in the marker of the bot's plan comment.
func (w *world) commentDigest() string {
	w.t.Helper()
	mine := w.prComments(bot)
	if len(mine) != 1 {
		w.t.Fatalf("%d plan comments by the bot, want 1", len(mine))
	}
	m := regexp.MustCompile(`^` + regexp.QuoteMeta(markerPrefix) + `sha256=([0-9a-f]{64}) -->`).FindStringSubmatch(mine[0].Body)
	if m == nil {
		w.t.Fatalf("the plan comment has no digest in its marker:\n%s", mine[0].Body)
	}
	return m[1]
}

// events reads the apply job's JSON events (a stream of JSON values).
func (w *world) events() []map[string]any {
	w.t.Helper()
	dec := json.NewDecoder(strings.NewReader(w.file("personactl-events.jsonl")))
	var out []map[string]any
	for dec.More() {
		var e map[string]any
		if err := dec.Decode(&e); err != nil {
			w.t.Fatalf("the events artifact is not JSON: %v", err)
		}
		out = append(out, e)
	}
	return out
}

func summaryEvent(t *testing.T, es []map[string]any) map[string]any {
	t.Helper()
	for _, e := range es {
		if e["type"] == "summary" {
			return e
		}
	}
	t.Fatalf("no summary event among %d events", len(es))
	return nil
}

// TestPipelineAppliesTheReviewedPlan runs the pipeline as it is meant to be
// set up, on PostgreSQL: the pull request's plan job, with only the
// read-only role of plan-role.sql (no admin credential, no seed secret),
// posts the plan with its digest; after the merge the deploy job signs in
// as an admin, finds the merged pull request's plan comment and applies
// that plan. A persona edited by hand between review and deploy changes
// the plan: the deploy is refused before any write and its summary shows
// the new plan and digest, which a person then approves by hand
// (workflow_dispatch). The read-only role cannot deploy.
func TestPipelineAppliesTheReviewedPlan(t *testing.T) {
	t.Parallel()
	role, liveDB, stateDB := roleDatabases(t)
	w := newWorld(t, liveDB)
	w.env["PERSONACTL_STATE"] = stateDB
	w.must(0, "personactl", signIn, "apply", "--auto-approve") // the first apply, by a person
	grantPlanRole(t, role, liveDB, stateDB)
	prJob := []string{
		"MANA_ADMIN_JWT=", "PERSONA_SEED_SECRET=",
		"PERSONACTL_LIVE_DSN=" + as(t, liveDB, role),
		"PERSONACTL_STATE=" + as(t, stateDB, role),
	}

	// A pull request changes Sam's cadence: reviewed, merged, deployed.
	ps := w.examplePersonas()
	ps[3]["tickCadence"] = "daily"
	w.writeCatalog(ps)
	w.reset()
	w.must(0, "plan-pr.sh", prJob)
	reviewed := w.commentDigest()
	if body := w.prComments(bot)[0].Body; !strings.Contains(body, "Plan: 0 to create, 1 to update, 0 to delete.") || !strings.Contains(body, exampleSam) {
		t.Fatalf("the read-only plan comment does not show Sam's update:\n%s", body)
	}
	w.merge("c0ffee01")
	code, found, applied := w.deployJob("c0ffee01")
	if code != 0 {
		t.Fatalf("the deploy of the reviewed plan failed:\n%s\n%s", found, applied)
	}
	if !strings.Contains(found.out, reviewed) || !strings.Contains(found.out, "pull request #42") {
		t.Errorf("the deploy did not take the merged pull request's digest %s:\n%s", reviewed, found)
	}
	if !strings.Contains(applied.out, "Created 0, updated 1, replaced 0, deleted 0.") || !strings.Contains(w.file("summary.md"), "personactl apply: complete") {
		t.Errorf("the deploy does not say what it applied:\n%s\n%s", applied, w.file("summary.md"))
	}
	if e := summaryEvent(t, w.events()); e["updated"] != float64(1) {
		t.Errorf("events summary %v, want 1 updated", e)
	}

	// The next pull request is reviewed; then Nora is edited by hand.
	ps[2]["tickCadence"] = "daily"
	w.writeCatalog(ps)
	w.reset()
	w.must(0, "plan-pr.sh", prJob)
	reviewed = w.commentDigest()
	w.editByHand(ps[0], "archetype", "hand-edited")
	w.merge("c0ffee02")
	before := w.live()
	code, _, applied = w.deployJob("c0ffee02")
	if code != 1 || !strings.Contains(applied.out, "::error title=Not the reviewed plan::") {
		t.Fatalf("a deploy whose plan is not the reviewed one: want exit 1 and an annotation, got\n%s", applied)
	}
	for email, v := range w.live() {
		if before[email] != v {
			t.Errorf("%s changed in a refused deploy: %s -> %s", email, before[email], v)
		}
	}
	now := w.planDigest()
	summary := w.file("summary.md")
	for _, want := range []string{"not the reviewed plan; nothing applied", reviewed, now, "expect_digest", exampleNora, "Plan: 0 to create, 2 to update"} {
		if !strings.Contains(summary, want) {
			t.Errorf("the refused deploy's summary does not say %q:\n%s", want, summary)
		}
	}

	// A person reviews the plan in the summary and approves it by hand.
	code, _, applied = w.deployJob("c0ffee02", "EXPECT_DIGEST="+now)
	if code != 0 || !strings.Contains(applied.out, "updated 2") {
		t.Fatalf("the plan approved by hand was not applied:\n%s", applied)
	}

	// With the read-only state role, a deploy cannot even start.
	ps[1]["tickCadence"] = "daily"
	w.writeCatalog(ps)
	before = w.live()
	r := w.run("personactl", append([]string{"PERSONACTL_STATE=" + as(t, stateDB, role)}, signIn...), "apply", "--auto-approve")
	if r.code != 1 || !strings.Contains(r.errout, "permission denied") {
		t.Errorf("apply with the read-only state role: want exit 1, refused by the database, got\n%s", r)
	}
	for email, v := range w.live() {
		if before[email] != v {
			t.Errorf("%s changed through the read-only role: %s -> %s", email, before[email], v)
		}
	}
}

// TestDeployWithoutAReviewedPlanStops: a deploy applies nothing, and says
// why and how to approve a plan by hand, when its commit was not merged
// from a pull request, when the pull request has no plan comment by the
// bot for the workspace (a person quoting the marker does not count), when
// its last plan failed, or when the digest given by hand is none; of
// several plan comments by the bot, the latest counts.
func TestDeployWithoutAReviewedPlanStops(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "")
	digest := w.planDigest()
	stale := strings.Repeat("0", 64)
	botComment := func(id int64, body string) comment {
		c := comment{ID: id, Body: body, IssueURL: issueURL(pr)}
		c.User.Login = bot
		return c
	}
	quoted := botComment(1, markerPrefix+"sha256="+digest+" --> quoted")
	quoted.User.Login = "alice"
	for _, c := range []struct {
		name     string
		merged   bool
		comments []comment
		extra    []string
		says     string
	}{
		{"not merged from a pull request", false, nil, nil, "was not merged from a pull request"},
		{"no plan comment by the bot", true, []comment{quoted, botComment(2, "<!-- personactl-plan workspace=other sha256="+digest+" -->")}, nil, "has no plan comment by github-actions[bot] for workspace default"},
		{"the last plan failed", true, []comment{botComment(3, markerPrefix+"sha256="+digest+" -->"), botComment(4, markerPrefix+"sha256=none -->\nThe plan failed")}, nil, "The last plan of pull request #42 failed"},
		{"the latest plan comment counts", true, []comment{botComment(5, markerPrefix+"sha256="+digest+" -->"), botComment(6, markerPrefix+"sha256="+stale+" -->")}, nil, "Not the reviewed plan"},
		{"no digest given by hand", false, nil, []string{"EXPECT_DIGEST=sha256:" + digest}, "is not a changes digest"},
	} {
		sha := "c0ffee03"
		if c.merged {
			w.merge(sha)
		} else {
			sha = "badc0de"
		}
		w.seedComments(c.comments)
		code, found, applied := w.deployJob(sha, c.extra...)
		out := found.out + applied.out + w.file("summary.md")
		if code != 1 || !strings.Contains(out, c.says) || !strings.Contains(out, "expect_digest") {
			t.Errorf("%s: want exit 1 saying %q and how to approve by hand, got exit %d\n%s\n%s\n%s", c.name, c.says, code, found, applied, w.file("summary.md"))
		}
		if n := len(w.live()); n != 0 {
			t.Fatalf("%s: %d personas live, want none applied", c.name, n)
		}
	}
}

// TestDeployMaxDeletes: PERSONACTL_MAX_DELETES refuses a reviewed plan that
// would delete more personas than that, before any write.
func TestDeployMaxDeletes(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "")
	w.must(0, "personactl", nil, "apply", "--auto-approve")
	w.writeCatalog(w.examplePersonas()[:1])
	approved := []string{"EXPECT_DIGEST=" + w.planDigest()}
	code, _, r := w.deployJob("c0ffee04", append(approved, "PERSONACTL_MAX_DELETES=2")...)
	if code != 1 || !strings.Contains(r.errout, exampleSam) {
		t.Errorf("the refusal does not name the personas it would delete:\n%s", r)
	}
	if n := len(w.live()); n != 4 {
		t.Errorf("%d personas live after a refused deploy, want 4", n)
	}
	if code, _, r = w.deployJob("c0ffee04", append(approved, "PERSONACTL_MAX_DELETES=3")...); code != 0 {
		t.Errorf("a deploy within the limit failed:\n%s", r)
	}
	if n := len(w.live()); n != 1 {
		t.Errorf("%d personas live after a deploy within the limit, want 1", n)
	}
}
