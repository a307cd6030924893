#!/usr/bin/env bash
# Build tools/oidcop, the OpenID Connect provider of the single sign-on
# tests (zitadel/oidc's example provider, pinned in tools/oidcop/go.mod),
# into a cache dir unless it is already there. Prints the binary's path on
# stdout; progress goes to stderr.
#
#   scripts/build-oidcop.sh          # -> $AGORA_CACHE/bin/oidcop-<version>-<hash>
#
# Env: AGORA_CACHE (default $HOME/.cache/agora).
# A cold build takes ~1 min on 2 cores (module download + compile); a
# cached run ~0.05 s.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
moddir="$root/tools/oidcop"
cache="${AGORA_CACHE:-${HOME:-/root}/.cache/agora}"

version=$(awk '{ for (i = 1; i < NF; i++) if ($i == "github.com/zitadel/oidc/v3") { print $(i + 1); exit } }' "$moddir/go.mod")
if [[ -z "$version" ]]; then
	echo "build-oidcop: cannot find the zitadel/oidc version in $moddir/go.mod" >&2
	exit 1
fi
# The provider's main is ours: its changes invalidate the cache too.
sumhash=$(sha256sum "$moddir/go.mod" "$moddir/go.sum" "$moddir/main.go" | sha256sum | cut -c1-8)
bin="$cache/bin/oidcop-$version-$sumhash"

if [[ -x "$bin" ]]; then
	echo "$bin"
	exit 0
fi

mkdir -p "$cache/bin"
exec 9>"$cache/bin/.oidcop.lock"
flock 9
if [[ -x "$bin" ]]; then
	echo "$bin"
	exit 0
fi

echo "build-oidcop: building the OpenID provider (zitadel/oidc $version)..." >&2
start=$(date +%s)
tmp="$bin.tmp.$$"
trap 'rm -f "$tmp"' EXIT
(
	cd "$moddir"
	GOWORK=off CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=readonly" \
		go build -trimpath -ldflags='-s -w' -o "$tmp" .
)
mv -f "$tmp" "$bin"
trap - EXIT
find "$cache/bin" -maxdepth 1 -name 'oidcop-v*' ! -name "$(basename "$bin")" ! -name '*.tmp.*' -delete
echo "build-oidcop: built $bin in $(($(date +%s) - start))s" >&2
echo "$bin"
