#!/usr/bin/env bash
# install.sh: install a pinned personactl release on a runner, checked
# against the SHA-256 the repository pinned (the workflows' first step).
#
# It downloads the release archive for this machine's OS and architecture
# (personactl_VERSION_OS_ARCH.tar.gz, the name .goreleaser.yaml gives it),
# computes its SHA-256 and compares it with PERSONACTL_SHA256. The pin is
# set by a person in the repository's workflow variables, from the release
# they reviewed; a checksums file downloaded from the same place as the
# archive would prove nothing, since whoever can replace the one can replace
# the other. An archive whose SHA-256 differs is refused: exit 1, and nothing
# is installed.
#
# Environment:
#   PERSONACTL_VERSION      the release, e.g. v1.2.0 (required)
#   PERSONACTL_SHA256       the SHA-256 of that release's archive for this
#                           runner's OS and architecture (required)
#   PERSONACTL_TOOLS        the programs to install from the archive
#                           (default: personactl; add mana-auth-dev for tests)
#   PERSONACTL_BIN_DIR      where to install them
#                           (default: $RUNNER_TEMP/personactl-bin, or ~/.local/bin)
#   PERSONACTL_RELEASE_URL  where the archive is (default: the release's
#                           download folder on GitHub); a mirror or a test server
#   GITHUB_PATH             when set, gets the bin directory, so later steps
#                           find personactl on PATH
# Needs curl, tar and sha256sum (or shasum), all on GitHub's hosted runners.
#
# Exit status: 0 installed; 1 not installed (no pin, no such archive, or an
# archive that is not the pinned one).
set -euo pipefail

fail() {
	echo "::error title=personactl not installed::$*"
	exit 1
}

version=${PERSONACTL_VERSION:-}
pin=${PERSONACTL_SHA256:-}
if [ -z "$version" ] || [ -z "$pin" ]; then
	fail "set the workflow variables PERSONACTL_VERSION (e.g. v1.2.0) and PERSONACTL_SHA256 (the SHA-256 of that release's archive for this runner, from the release you reviewed); see docs/install.md."
fi
version=${version#v}
pin=$(printf '%s' "$pin" | tr 'A-F' 'a-f')
[[ $pin =~ ^[0-9a-f]{64}$ ]] || fail "PERSONACTL_SHA256 is not a SHA-256 (64 hexadecimal digits)."

case $(uname -s) in
Linux) os=linux ;;
Darwin) os=darwin ;;
*) fail "no personactl release is built for $(uname -s)." ;;
esac
case $(uname -m) in
x86_64 | amd64) arch=amd64 ;;
aarch64 | arm64) arch=arm64 ;;
*) fail "no personactl release is built for $(uname -m)." ;;
esac

archive="personactl_${version}_${os}_${arch}.tar.gz"
base=${PERSONACTL_RELEASE_URL:-https://github.com/mana/personactl/releases/download/v$version}
bin_dir=${PERSONACTL_BIN_DIR:-${RUNNER_TEMP:+$RUNNER_TEMP/personactl-bin}}
bin_dir=${bin_dir:-$HOME/.local/bin}
work=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/personactl-install.XXXXXX")
trap 'rm -rf "$work"' EXIT

curl -fsSL --retry 3 --proto '=https,http' -o "$work/$archive" "$base/$archive" ||
	fail "could not download $base/$archive; check PERSONACTL_VERSION (v$version) and that the release has an archive for $os/$arch."
if command -v sha256sum >/dev/null 2>&1; then
	sum=$(sha256sum "$work/$archive")
else
	sum=$(shasum -a 256 "$work/$archive")
fi
sum=${sum%% *}
[ "$sum" = "$pin" ] ||
	fail "$archive has SHA-256 $sum, not the pinned $pin: refused, nothing installed. If v$version is the release you meant, take its SHA-256 from the release you reviewed and update PERSONACTL_SHA256; otherwise the download was tampered with."

mkdir "$work/x"
tar -xzf "$work/$archive" -C "$work/x"
read -ra tools <<<"${PERSONACTL_TOOLS:-personactl}"
for tool in "${tools[@]}"; do
	[ -f "$work/x/$tool" ] || fail "$archive holds no $tool: nothing installed."
done
mkdir -p "$bin_dir"
for tool in "${tools[@]}"; do
	install -m 0755 "$work/x/$tool" "$bin_dir/$tool"
done
if [ -n "${GITHUB_PATH:-}" ]; then
	echo "$bin_dir" >>"$GITHUB_PATH"
fi
echo "Installed $("$bin_dir/personactl" version) into $bin_dir ($archive, SHA-256 $sum)."
