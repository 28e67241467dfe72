#!/usr/bin/env bash
# deploy-plan.sh: the first half of a deploy (examples/github-actions/apply-deploy.yml):
# save the plan that the second half applies, and show it for review.
#
# It runs `personactl plan --out=PLAN_FILE --detailed-exitcode`, prints the
# plan in the job log, writes it as Markdown to the job summary (that is what
# an environment's reviewer approves) and says in GITHUB_OUTPUT whether there
# is anything to apply. The plan file holds no secret: it can be kept as an
# artifact and handed to deploy-apply.sh.
#
# Environment:
#   PLAN_FILE            where to save the plan (default: personas.plan)
#   PERSONACTL           the personactl binary (default: personactl on PATH)
#   GITHUB_OUTPUT        when set, gets changes=true|false
#   GITHUB_STEP_SUMMARY  when set, gets the plan as Markdown
#   plus personactl's own: PERSONACTL_CATALOG, PERSONACTL_STATE, MANA_AUTH_URL,
#   MANA_ADMIN_JWT, PERSONA_SEED_SECRET, PERSONACTL_WORKSPACE, …
#
# Exit status: 0 the plan is saved (changes=true: there is something to
# apply; changes=false: nothing); 1 the plan failed and nothing is saved.
set -euo pipefail

pc=${PERSONACTL:-personactl}
plan_file=${PLAN_FILE:-personas.plan}

# 2 means "changes", not failure: capture it instead of letting bash -e end the step.
if "$pc" plan --out="$plan_file" --detailed-exitcode; then
	code=0
else
	code=$?
fi
case $code in
0) changes=false ;;
2) changes=true ;;
*)
	echo "::error title=personactl plan failed::The plan could not be made (exit $code); nothing was saved or applied. See the messages above."
	exit 1
	;;
esac

if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
	"$pc" show --format=markdown "$plan_file" >>"$GITHUB_STEP_SUMMARY"
fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
	echo "changes=$changes" >>"$GITHUB_OUTPUT"
fi
echo "Saved the plan to $plan_file (changes: $changes)."
