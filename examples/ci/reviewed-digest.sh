#!/usr/bin/env bash
# shellcheck disable=SC2016 # backquotes in single quotes are Markdown, not commands
# reviewed-digest.sh: which plan a deploy may apply
# (examples/github-actions/apply-deploy.yml): the changes digest of the plan
# that was reviewed, for `personactl apply --expect-digest`.
#
# A person who runs the workflow by hand (workflow_dispatch) names the
# digest they reviewed in its expect_digest input. Otherwise the commit
# being deployed must come from a merged pull request, and the digest is
# taken from that pull request's plan comment: the latest comment by
# COMMENT_AUTHOR whose first line is the plan's marker for this workspace
# (`<!-- personactl-plan workspace=NAME sha256=DIGEST -->`, posted by
# plan-pr.sh). Nobody else's comment is read, so quoting a marker in a
# review cannot choose what is applied.
#
# Environment:
#   GITHUB_REPOSITORY     OWNER/REPO (required)
#   COMMIT_SHA            the commit being deployed (required unless EXPECT_DIGEST is set)
#   EXPECT_DIGEST         the digest a person approved (workflow_dispatch); wins when set
#   GH_TOKEN              for gh: a token that may read pull requests
#   PERSONACTL_WORKSPACE  the workspace, which names the marker (default: default)
#   COMMENT_AUTHOR        whose comments are trusted (default: github-actions[bot])
#   GITHUB_OUTPUT         when set, gets digest=… and source=…
#   GITHUB_STEP_SUMMARY   when set, gets why there is no reviewed plan
# Needs gh and jq (both are on GitHub's hosted runners).
#
# Exit status: 0 the digest is printed (and in GITHUB_OUTPUT); 1 there is no
# reviewed plan to apply: the message says why and how to approve one.
set -euo pipefail

: "${GITHUB_REPOSITORY:?set GITHUB_REPOSITORY to OWNER/REPO}"
workspace=${PERSONACTL_WORKSPACE:-default}
author=${COMMENT_AUTHOR:-github-actions[bot]}
marker="<!-- personactl-plan workspace=${workspace//--/-‐} "
approve="Review the plan (personactl plan, or the plan in this job's summary after a refused deploy) and approve it: run this workflow by hand (Run workflow) with expect_digest set to its changes digest."

stop() {
	echo "::error title=No reviewed plan::$1 Nothing was applied. $approve"
	if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
		printf '### personactl deploy: no reviewed plan\n\n%s Nothing was applied.\n\n%s\n' "$1" "$approve" >>"$GITHUB_STEP_SUMMARY"
	fi
	exit 1
}
found() {
	[[ $1 =~ ^[0-9a-f]{64}$ ]] || stop "\"$1\" is not a changes digest (64 hexadecimal digits, as personactl plan shows after \"Changes digest:\")."
	echo "The reviewed plan: changes digest $1 ($2)."
	if [ -n "${GITHUB_OUTPUT:-}" ]; then
		printf 'digest=%s\nsource=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"
	fi
	exit 0
}

if [ -n "${EXPECT_DIGEST:-}" ]; then
	found "$EXPECT_DIGEST" "approved by hand in a workflow_dispatch run"
fi
: "${COMMIT_SHA:?set COMMIT_SHA to the commit being deployed}"

pr=$(gh api "repos/$GITHUB_REPOSITORY/commits/$COMMIT_SHA/pulls" |
	jq -r --arg sha "$COMMIT_SHA" '[.[] | select(.merged_at != null and .merge_commit_sha == $sha)][0].number // empty')
[ -n "$pr" ] || stop "Commit ${COMMIT_SHA:0:12} was not merged from a pull request, so no plan of it was reviewed."

body=$(gh api --paginate "repos/$GITHUB_REPOSITORY/issues/$pr/comments?per_page=100" |
	jq -rs --arg marker "$marker" --arg author "$author" \
		'[.[][] | select(.user.login == $author and (.body | startswith($marker)))] | last | .body // empty')
[ -n "$body" ] || stop "Pull request #$pr has no plan comment by $author for workspace $workspace."
first=${body%%$'\n'*}
digest=${first#"$marker"sha256=}
digest=${digest%% *}
[ "$digest" != none ] || stop "The last plan of pull request #$pr failed, so no plan was reviewed."
found "$digest" "the plan comment of pull request #$pr"
