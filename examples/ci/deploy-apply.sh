#!/usr/bin/env bash
# shellcheck disable=SC2016 # backquotes in single quotes are Markdown, not commands
# deploy-apply.sh: a deploy (examples/github-actions/apply-deploy.yml):
# apply the plan that was reviewed, and only that one.
#
# It runs `personactl apply --auto-approve --expect-digest=EXPECT_DIGEST`:
# personactl plans, and applies only when the plan's changes digest is the
# reviewed one (reviewed-digest.sh finds it); a plan that differs (a live
# persona or the state changed since the review, or main has more than the
# pull request) is refused before any write. Then the job summary shows the
# plan as it is now, with its digest, and says how a person approves it.
# Guard rails: PERSONACTL_MAX_DELETES (if set) refuses a plan that deletes
# more personas than that, and personas active in the last 24 hours are
# never deleted here (no --allow-delete-active); both refusals come before
# any write.
#
# Environment:
#   EXPECT_DIGEST           the reviewed plan's changes digest (required)
#   PERSONACTL              the personactl binary (default: personactl on PATH)
#   PERSONACTL_MAX_DELETES  the most personas one deploy may delete (unset: no limit)
#   PERSONACTL_LOCK_TIMEOUT how long to wait for the state lock (default: 2m)
#   EVENTS_FILE             where apply's JSON events go, one per line
#                           (default: personactl-events.jsonl); keep it as an artifact
#   GITHUB_STEP_SUMMARY     when set, gets what was applied, or why not
#   plus personactl's own: PERSONACTL_STATE, MANA_AUTH_URL, MANA_ADMIN_EMAIL and
#   MANA_ADMIN_PASSWORD (personactl signs in and refreshes its token),
#   PERSONA_SEED_SECRET, PERSONACTL_WORKSPACE, …
# Needs jq (on GitHub's hosted runners) for the summary.
#
# Exit status: 0 applied (or nothing to apply); 1 refused or failed: not the
# reviewed plan, a guard rail, a failed write (rolled back, see the log and
# events).
set -euo pipefail

digest=${EXPECT_DIGEST:?set EXPECT_DIGEST to the changes digest of the reviewed plan}
pc=${PERSONACTL:-personactl}
events=${EVENTS_FILE:-personactl-events.jsonl}
err=$(mktemp "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/deploy-apply.XXXXXX")
trap 'rm -f "$err" "$err.plan"' EXIT

# Wait a while for the state lock rather than fail on a person's apply
# that is about to finish.
args=(apply --auto-approve --format=json --expect-digest="$digest" --lock-timeout="${PERSONACTL_LOCK_TIMEOUT:-2m}")
if [ -n "${PERSONACTL_MAX_DELETES:-}" ]; then
	args+=(--max-deletes="$PERSONACTL_MAX_DELETES")
fi

if "$pc" "${args[@]}" >"$events.out" 2>"$err"; then
	code=0
else
	code=$?
fi
cat "$err" >&2
# Workflow commands (::warning …) personactl may print under
# GITHUB_ACTIONS=true go to the runner; the events file keeps only events.
annotation='^::(error|warning|notice)( |::)'
grep -E "$annotation" "$events.out" || true
grep -vE "$annotation" "$events.out" >"$events" || true
rm -f "$events.out"

# What was done, from the events (JSON values; one per line).
done_line=$(jq -r 'select(.type == "summary") | "Created \(.created), updated \(.updated), replaced \(.replaced // 0), deleted \(.deleted)."' "$events" 2>/dev/null || true)
failed=$(jq -r 'select(.type == "step_finish" and (.error // "") != "") | "- `\(.email)`: \(.action) failed: \(.error)"' "$events" 2>/dev/null || true)

unreviewed=false
if [ "$code" != 0 ]; then
	if grep -q "not the reviewed $digest" "$err"; then
		unreviewed=true
		# The plan as it is now, for a person to review: saved once, shown twice.
		if "$pc" plan --out="$err.plan" >/dev/null 2>&1; then
			now=$("$pc" show --format=json "$err.plan" | jq -r '.changes_digest // empty')
		fi
		echo "::error title=Not the reviewed plan::The plan differs from the reviewed one (changes digest $digest); nothing was applied. The plan as it is now is in the job summary (changes digest ${now:-unknown}): if it is right, run this workflow by hand with expect_digest=${now:-DIGEST}; otherwise fix the catalog or the live personas."
	else
		echo "::error title=personactl apply failed::Exit $code; see the messages above and the events artifact."
	fi
fi
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
	{
		if [ "$code" = 0 ]; then
			echo "### personactl apply: complete"
		elif $unreviewed; then
			printf '### personactl apply: not the reviewed plan; nothing applied\n\n'
			printf 'The reviewed plan has changes digest `%s`; the plan as it is now has `%s`:\n\n' "$digest" "${now:-unknown}"
			[ -z "${now:-}" ] || "$pc" show --format=markdown "$err.plan" || true
			printf '\nIf this plan is right, approve it: run this workflow by hand (Run workflow) with `expect_digest` = `%s`. Otherwise fix the catalog or the live personas and deploy again.\n' "${now:-…}"
		else
			echo "### personactl apply: failed (exit $code)"
		fi
		echo
		[ -z "$done_line" ] || echo "$done_line"
		[ -z "$failed" ] || printf '\n%s\n' "$failed"
		if [ "$code" != 0 ]; then
			printf '\n~~~text\n'
			grep -vE "$annotation" "$err" | head -c 8000 || true
			printf '\n~~~\n'
		fi
	} >>"$GITHUB_STEP_SUMMARY"
fi
[ -z "$done_line" ] || echo "$done_line"
exit "$code"
