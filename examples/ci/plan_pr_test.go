package ci

import (
	"strconv"
	"strings"
	"testing"
)

// TestPlanPRPostsOneCommentAndUpdatesIt: the first run posts the plan as a
// comment; later runs edit that comment (found by its marker among the
// bot's comments) instead of adding one, whether the plan has changes
// (exit 2 of --detailed-exitcode, which must not end the bash -e step) or
// none. Other people's comments, even one quoting the marker, and the
// bot's comment on another pull request are left alone.
func TestPlanPRPostsOneCommentAndUpdatesIt(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "")
	others := []comment{
		{ID: 1, Body: "Looks good to me, but see the plan below.", IssueURL: issueURL(pr)},
		{ID: 2, Body: markerPrefix + "sha256=abc --> quoted by a person", IssueURL: issueURL(pr)},
		{ID: 3, Body: markerPrefix + "sha256=def -->\nthe plan of another pull request", IssueURL: issueURL("7")},
	}
	others[0].User.Login, others[1].User.Login, others[2].User.Login = "alice", "alice", bot
	w.seedComments(others)

	r := w.must(0, "plan-pr.sh", nil)
	if got := writes(w.calls()); len(got) != 1 || got[0] != "POST repos/"+repo+"/issues/"+pr+"/comments" {
		t.Fatalf("first run: want one POST of a new comment, got %v\n%s", got, r)
	}
	mine := w.prComments(bot)
	if len(mine) != 1 {
		t.Fatalf("%d plan comments by the bot, want 1", len(mine))
	}
	first := mine[0]
	if !strings.HasPrefix(first.Body, markerPrefix) || !strings.Contains(first.Body, "Plan: 4 to create, 0 to update, 0 to delete.") {
		t.Errorf("the comment is not the Markdown plan with its marker:\n%s", first.Body)
	}
	if out := w.file("output"); !strings.Contains(out, "changes=true") {
		t.Errorf("GITHUB_OUTPUT = %q, want changes=true", out)
	}

	// A push that drops a persona: the same comment now shows 3 creates.
	w.writeCatalog(w.examplePersonas()[:3])
	w.reset()
	r = w.must(0, "plan-pr.sh", nil)
	assertUpdated(t, w, first.ID, "Plan: 3 to create", r)

	// Applied meanwhile: the comment says there is nothing to do, exit 0.
	w.must(0, "personactl", nil, "apply", "--auto-approve")
	w.reset()
	r = w.must(0, "plan-pr.sh", nil)
	assertUpdated(t, w, first.ID, "No changes.", r)
	if out := w.file("output"); !strings.Contains(out, "changes=false") {
		t.Errorf("GITHUB_OUTPUT = %q, want changes=false", out)
	}

	for _, c := range w.comments() {
		for _, o := range others {
			if c.ID == o.ID && c.Body != o.Body {
				t.Errorf("comment %d by %s on %s was changed:\n%s", c.ID, c.User.Login, c.IssueURL, c.Body)
			}
		}
	}
}

// assertUpdated checks that the last run edited comment id, and only it,
// to a body containing want.
func assertUpdated(t *testing.T, w *world, id int64, want string, r result) {
	t.Helper()
	got := writes(w.calls())
	wantCall := "PATCH repos/" + repo + "/issues/comments/" + strconv.FormatInt(id, 10)
	if len(got) != 1 || got[0] != wantCall {
		t.Fatalf("want one %s, got %v\n%s", wantCall, got, r)
	}
	mine := w.prComments(bot)
	if len(mine) != 1 {
		t.Fatalf("%d plan comments by the bot after an update, want 1", len(mine))
	}
	if !strings.HasPrefix(mine[0].Body, markerPrefix) || !strings.Contains(mine[0].Body, want) {
		t.Errorf("the updated comment does not say %q:\n%s", want, mine[0].Body)
	}
}

// TestPlanPRCatalogErrorsFailTheCheck: a catalog with errors fails the
// step, and the comment that showed an earlier plan now says that the plan
// failed and why, so nobody approves the old plan.
func TestPlanPRCatalogErrorsFailTheCheck(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "")
	w.must(0, "plan-pr.sh", nil)
	first := w.prComments(bot)
	w.calls()

	ps := w.examplePersonas()
	ps[0]["sytemPrompt"] = ps[0]["systemPrompt"]
	delete(ps[0], "systemPrompt")
	ps[1]["email"] = "Persona.Walter@mana.test"
	w.writeCatalog(ps)
	r := w.must(1, "plan-pr.sh", nil)

	if len(first) != 1 {
		t.Fatalf("%d comments after the first run, want 1", len(first))
	}
	assertUpdated(t, w, first[0].ID, "The plan failed", r)
	body := w.prComments(bot)[0].Body
	for _, want := range []string{"sytemPrompt", "systemPrompt", "Persona.Walter@mana.test"} {
		if !strings.Contains(body, want) {
			t.Errorf("the failure comment does not mention %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, "Plan: 4 to create") {
		t.Errorf("the failure comment still shows the old plan:\n%s", body)
	}
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "::") {
			t.Errorf("a workflow command leaked into the comment: %s", line)
		}
	}

	// Under GITHUB_ACTIONS=true the errors also show on the diff: the
	// runner reads workflow commands from standard output.
	if !strings.Contains(r.out, "::error file="+w.catalog+",line=") {
		t.Errorf("no ::error file=… annotation on the step's standard output under GITHUB_ACTIONS=true:\n%s", r)
	}
}

// TestPlanPRFailsWhenTheCommentCannotBeWritten: a plan that cannot be shown
// is a failed check, not a silent pass.
func TestPlanPRFailsWhenTheCommentCannotBeWritten(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "")
	r := w.run("plan-pr.sh", []string{"GH_STUB_FAIL=POST"})
	if r.code == 0 {
		t.Fatalf("the comment could not be posted, yet the step passed:\n%s", r)
	}
	if !strings.Contains(r.errout, "HTTP 500") {
		t.Errorf("the step does not say that gh failed:\n%s", r)
	}
	if n := len(w.prComments(bot)); n != 0 {
		t.Errorf("%d comments were posted", n)
	}
}
