#!/usr/bin/env bash
# shellcheck disable=SC2016 # backquotes in single quotes are Markdown, not commands
# drift.sh: the scheduled drift check (examples/github-actions/drift.yml).
#
# It runs `personactl drift --format=json`: what changed outside personactl
# (live against the recorded state), apart from catalog changes not applied
# yet. Drift fails the job; the drifted personas, each with its kind and the
# fields that changed (recorded -> live), go to the job summary, and the job
# log gets an ::error annotation naming them. The JSON is personactl's stable
# format (format_version "2"), so this keeps working as the text changes.
#
# Environment:
#   PERSONACTL           the personactl binary (default: personactl on PATH)
#   PERSONACTL_WORKSPACE named in the summary (default: default)
#   DRIFT_FILE           when set, keeps the JSON drift report there (an artifact)
#   GITHUB_STEP_SUMMARY  when set, gets the report as Markdown
#   plus personactl's own: PERSONACTL_CATALOG, PERSONACTL_STATE,
#   PERSONACTL_LIVE_DSN or MANA_AUTH_URL + MANA_ADMIN_JWT, …
# Needs jq (on GitHub's hosted runners).
#
# Exit status: 0 no drift; 2 drift (the job fails and says what drifted);
# 1 the check itself failed (no drift verdict: a crash is never read as drift).
set -euo pipefail

pc=${PERSONACTL:-personactl}
workspace=${PERSONACTL_WORKSPACE:-default}
report=${DRIFT_FILE:-$(mktemp "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/drift.XXXXXX")}
[ -n "${DRIFT_FILE:-}" ] || trap 'rm -f "$report"' EXIT

# drift exits 2 for drift: the condition of an `if`, so bash -e lets us report it.
if "$pc" drift --format=json >"$report.out"; then
	code=0
else
	code=$?
fi
# Under GITHUB_ACTIONS=true personactl also prints catalog findings as
# workflow commands; beside JSON it writes them to standard error, which the
# runner reads too. Any that reach standard output go to the runner as
# well, and the rest is the JSON report.
annotation='^::(error|warning|notice)( |::)'
grep -E "$annotation" "$report.out" || true
grep -vE "$annotation" "$report.out" >"$report" || true
rm -f "$report.out"

summary=${GITHUB_STEP_SUMMARY:-/dev/null}
case $code in
0)
	echo "No drift in workspace $workspace."
	printf '### personactl drift: none in workspace `%s`\n\nLive personas match what personactl last applied.\n' "$workspace" >>"$summary"
	;;
2)
	# One table row per drifted persona: kind, then each field recorded -> live
	# (long values cut to 80 characters).
	rows=$(jq -r '
		def short: (if type == "string" then . else tojson end) | if length > 80 then .[:77] + "..." else . end | gsub("\\|"; "\\|") | gsub("\n"; " ");
		.changes[] | select(.drift != null) |
		"| `\(.email)` | \(.drift.kind | gsub("_"; " ")) | \([(.drift.fields // [])[] | "`\(.name)`: \(.before | short) → \(.after | short)"] | join("<br>")) |"' "$report")
	emails=$(jq -r '[.changes[] | select(.drift != null) | .email] | join(", ")' "$report")
	count=$(jq -r '[.changes[] | select(.drift != null)] | length' "$report")
	{
		printf '### personactl drift: %s persona(s) changed outside personactl in workspace `%s`\n\n' "$count" "$workspace"
		printf '| persona | drift | fields (recorded → live) |\n|---|---|---|\n%s\n\n' "$rows"
		printf 'Bring them back to the catalog with `personactl apply`, or put the change into the catalog; `personactl drift` shows the details.\n'
	} >>"$summary"
	echo "::error title=Persona drift in workspace $workspace::$count persona(s) changed outside personactl: $emails. See the job summary."
	;;
*)
	echo "::error title=personactl drift failed::The drift check could not run (exit $code); no verdict. See the messages above."
	printf '### personactl drift: the check failed (exit %s) in workspace `%s`\n\nSee the job log.\n' "$code" "$workspace" >>"$summary"
	code=1
	;;
esac
exit "$code"
