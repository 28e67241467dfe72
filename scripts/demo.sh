#!/usr/bin/env bash
# The main job end to end against mana-auth-dev in memory, signed in as an
# admin the way a deploy does (mana-auth-dev with the role line fixed):
# auth status, plan, apply, verify (the runner can log in), plan again (No
# changes.), a plan for an edited catalog (a word diff), destroy, and the
# history of those runs.
# Run it with `make demo`; it needs nothing but Go and leaves nothing behind.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=bin
work=$(mktemp -d)
server_pid=""
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

printf '%s\n' demo-admin-password >"$work/admin.password"
"$bin/mana-auth-dev" --listen=127.0.0.1:0 --fixed-role-claim --admin-email=ops@demo.test --admin-password-file="$work/admin.password" \
	--quiet >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
for _ in $(seq 50); do
	[ -s "$work/server.out" ] && break
	sleep 0.1
done
url=$(head -n 1 "$work/server.out")
[ -n "$url" ] || { echo "mana-auth-dev did not start:"; cat "$work/server.err"; exit 1; }

export MANA_AUTH_URL="$url" MANA_ADMIN_EMAIL=ops@demo.test MANA_ADMIN_PASSWORD_FILE="$work/admin.password"
unset MANA_ADMIN_JWT MANA_ADMIN_JWT_FILE MANA_ADMIN_PASSWORD
export PERSONACTL_STATE="$work/personactl.state.json"
export PERSONACTL_CATALOG=examples/catalog.json
unset PERSONA_SEED_SECRET NODE_ENV
pc="$bin/personactl"

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold="" plain=""; fi
step() { printf '\n%s$ personactl %s%s\n' "$bold" "$*" "$plain"; }

echo "mana-auth-dev is listening on $url (in memory)."
step "auth status   # signed in as ops@demo.test, as a deploy does"; "$pc" auth status
step validate; "$pc" validate
step plan; "$pc" plan
step apply --auto-approve; "$pc" apply --auto-approve
step "verify   # can the persona runner log in as each of them?"; "$pc" verify
step plan; "$pc" plan
sed 's/on a cardiology ward/on an intensive care ward/' examples/catalog.json >"$work/edited.json"
step "plan --catalog=edited.json   # one phrase changed in Nora's prompt"
"$pc" plan --catalog="$work/edited.json"
step destroy --auto-approve; "$pc" destroy --auto-approve
step history; "$pc" history
echo
echo "Demo complete: mana-auth-dev stopped, its data and the state file removed."
