#!/usr/bin/env bash
# deploy-apply.sh PLANFILE: the second half of a deploy
# (examples/github-actions/apply-deploy.yml): apply exactly the saved plan.
#
# A saved plan is the approval, as in Terraform: it was reviewed when it was
# made, so `personactl apply PLANFILE` does not ask again, and it is refused
# ("saved plan is stale", nothing applied) when the state or a live persona
# it acts on changed since. Guard rails: PERSONACTL_MAX_DELETES (if set)
# refuses a plan that deletes more personas than that, and personas active
# in the last 24 hours are never deleted here (no --allow-delete-active);
# both refusals come before any write.
#
# Environment:
#   PERSONACTL              the personactl binary (default: personactl on PATH)
#   PERSONACTL_MAX_DELETES  the most personas one deploy may delete (unset: no limit)
#   PERSONACTL_LOCK_TIMEOUT how long to wait for the state lock (default: 2m)
#   EVENTS_FILE             where apply's JSON events go, one per line
#                           (default: personactl-events.jsonl); keep it as an artifact
#   GITHUB_STEP_SUMMARY     when set, gets what was applied
#   plus personactl's own: PERSONACTL_STATE, MANA_AUTH_URL, MANA_ADMIN_JWT,
#   PERSONA_SEED_SECRET, PERSONACTL_WORKSPACE, …
# Needs jq (on GitHub's hosted runners) for the summary.
#
# Exit status: 0 applied (or nothing to apply); 1 refused or failed: stale
# plan, a guard rail, a failed write (rolled back, see the log and events).
set -euo pipefail

plan_file=${1:?usage: deploy-apply.sh PLANFILE}
pc=${PERSONACTL:-personactl}
events=${EVENTS_FILE:-personactl-events.jsonl}
err=$(mktemp "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/deploy-apply.XXXXXX")
trap 'rm -f "$err"' EXIT

# No --auto-approve: the saved plan is the approval. Wait a while for the
# state lock rather than fail on a person's apply that is about to finish.
args=(apply --format=json --lock-timeout="${PERSONACTL_LOCK_TIMEOUT:-2m}")
if [ -n "${PERSONACTL_MAX_DELETES:-}" ]; then
	args+=(--max-deletes="$PERSONACTL_MAX_DELETES")
fi
args+=("$plan_file")

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

if [ "$code" != 0 ]; then
	if grep -q 'saved plan is stale' "$err"; then
		echo "::error title=Saved plan is stale::The state or a live persona changed since the plan was made; nothing was applied. Re-run the workflow to make and review a new plan."
	else
		echo "::error title=personactl apply failed::Exit $code; see the messages above and the events artifact."
	fi
fi
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
	{
		if [ "$code" = 0 ]; then
			echo "### personactl apply: complete"
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
