#!/usr/bin/env bash
# shellcheck disable=SC2016 # backquotes in single quotes are Markdown, not commands
# plan-pr.sh: a pull request's persona plan as ONE comment on it, updated in
# place on every push (run by examples/github-actions/plan-pr.yml).
#
# It runs `personactl plan --format=markdown --detailed-exitcode` and posts
# the Markdown as a comment, or edits the comment an earlier run posted: the
# one by COMMENT_AUTHOR that starts with the plan's hidden marker for this
# workspace (`<!-- personactl-plan workspace=NAME sha256=… -->`). A failed
# plan replaces that comment too, so that nobody reviews an outdated plan as
# the current one.
#
# Environment:
#   GITHUB_REPOSITORY, PR_NUMBER   where to comment (required)
#   GH_TOKEN                       for gh: a token that may write pull-request comments
#   PERSONACTL                     the personactl binary (default: personactl on PATH)
#   PERSONACTL_WORKSPACE           the workspace, which names the marker (default: default)
#   COMMENT_AUTHOR                 whose comment is edited (default: github-actions[bot])
#   GITHUB_OUTPUT                  when set, gets changes=true|false
#   plus personactl's own: PERSONACTL_CATALOG, PERSONACTL_STATE, PERSONACTL_LIVE_DSN, …
# Needs gh and jq (both are on GitHub's hosted runners).
#
# Exit status: 0 the comment shows the plan, with or without changes (changes
# are what a catalog pull request is for, not a failure of its check);
# 1 the plan failed (catalog errors, a blocked create, an unreachable
# database; the comment says so) or the comment could not be written.
set -euo pipefail

: "${GITHUB_REPOSITORY:?set GITHUB_REPOSITORY to OWNER/REPO}"
: "${PR_NUMBER:?set PR_NUMBER to the pull request number}"
pc=${PERSONACTL:-personactl}
workspace=${PERSONACTL_WORKSPACE:-default}
author=${COMMENT_AUTHOR:-github-actions[bot]}
work=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/plan-pr.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The marker as personactl writes it: "--" in a workspace name is changed so
# that it cannot end the HTML comment early (plan/render_markdown.go).
marker="<!-- personactl-plan workspace=${workspace//--/-‐} "

# --detailed-exitcode: 0 no changes, 2 changes, 1 error. Run as the condition
# of an `if`, so that `bash -e` does not end the step on 2 (or 1) before the
# comment is written.
if "$pc" plan --format=markdown --detailed-exitcode >"$work/out" 2>"$work/plan.err"; then
	code=0
else
	code=$?
fi
# Under GITHUB_ACTIONS=true personactl also prints catalog findings as
# workflow commands (::error file=…,line=…::…), which put them on the pull
# request's diff: they go to the runner (standard output), not into the comment.
annotation='^::(error|warning|notice)( |::)'
grep -hE "$annotation" "$work/out" "$work/plan.err" || true
grep -vE "$annotation" "$work/out" >"$work/plan.md" || true
grep -vE "$annotation" "$work/plan.err" >&2 || true

case $code in
0 | 2)
	cp "$work/plan.md" "$work/body.md"
	;;
*)
	{
		if [ -s "$work/plan.md" ]; then
			cat "$work/plan.md" # a plan with errors still says which personas
			echo
		else
			printf '%ssha256=none -->\n### personactl plan (workspace `%s`)\n\n' "$marker" "$workspace"
		fi
		printf '**The plan failed (exit %d); nothing can be applied from this pull request until it passes.**' "$code"
		if [ -n "${GITHUB_RUN_ID:-}" ]; then
			printf ' See the [job log](%s/%s/actions/runs/%s).' "${GITHUB_SERVER_URL:-https://github.com}" "$GITHUB_REPOSITORY" "$GITHUB_RUN_ID"
		fi
		printf '\n\n~~~text\n'
		grep -vE "$annotation" "$work/plan.err" | head -c 8000 || true
		printf '\n~~~\n'
	} >"$work/body.md"
	;;
esac

comments="repos/$GITHUB_REPOSITORY/issues/$PR_NUMBER/comments"
ids=$(gh api --paginate "$comments?per_page=100" |
	jq -r --arg marker "$marker" --arg author "$author" \
		'.[] | select(.user.login == $author and (.body | startswith($marker))) | .id')
id=${ids%%$'\n'*}
if [ -n "$id" ]; then
	gh api --method PATCH "repos/$GITHUB_REPOSITORY/issues/comments/$id" -F "body=@$work/body.md" >/dev/null
	echo "Updated the plan comment $id on pull request #$PR_NUMBER."
else
	gh api --method POST "$comments" -F "body=@$work/body.md" >/dev/null
	echo "Posted the plan as a comment on pull request #$PR_NUMBER."
fi

if [ -n "${GITHUB_OUTPUT:-}" ]; then
	if [ "$code" = 2 ]; then echo "changes=true"; else echo "changes=false"; fi >>"$GITHUB_OUTPUT"
fi
[ "$code" = 0 ] || [ "$code" = 2 ] || exit 1
