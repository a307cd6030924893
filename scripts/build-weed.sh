#!/usr/bin/env bash
# Build the SeaweedFS `weed` binary (the S3 server used by tests) from the
# pinned module in tools/weed, into a cache dir, unless it is already there.
# Prints the binary's path on stdout; progress goes to stderr.
#
#   scripts/build-weed.sh            # -> $AGORA_CACHE/bin/weed-<version>
#
# Env: AGORA_CACHE (default $HOME/.cache/agora).
# A cold build takes ~9-14 min on 2 cores (~3-7 min module download, ~6 min
# compile); with the Go module cache warm ~6-8 min. Start it early and in the
# background in CI. A cached run takes ~0.05 s.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
moddir="$root/tools/weed"
cache="${AGORA_CACHE:-${HOME:-/root}/.cache/agora}"

# Matches both `require github.com/seaweedfs/seaweedfs vX` and a require block line.
version=$(awk '{ for (i = 1; i < NF; i++) if ($i == "github.com/seaweedfs/seaweedfs") { print $(i + 1); exit } }' "$moddir/go.mod")
if [[ -z "$version" ]]; then
	echo "build-weed: cannot find the seaweedfs version in $moddir/go.mod" >&2
	exit 1
fi
# Invalidate the cache when the dependency set (go.sum) changes too.
sumhash=$(sha256sum "$moddir/go.mod" "$moddir/go.sum" | sha256sum | cut -c1-8)
bin="$cache/bin/weed-$version-$sumhash"

if [[ -x "$bin" ]]; then
	echo "$bin"
	exit 0
fi

mkdir -p "$cache/bin"
# Serialise concurrent builds (e.g. two scripts racing on a fresh machine).
exec 9>"$cache/bin/.weed.lock"
flock 9
if [[ -x "$bin" ]]; then
	echo "$bin"
	exit 0
fi

echo "build-weed: building weed $version (a cold build takes several minutes)..." >&2
start=$(date +%s)
tmp="$bin.tmp.$$"
trap 'rm -f "$tmp"' EXIT
(
	cd "$moddir"
	# GOWORK=off: never let a go.work elsewhere change what is built.
	# CGO_ENABLED=0, -s -w: as upstream release builds, and faster to link.
	GOWORK=off CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=readonly" \
		go build -trimpath -ldflags='-s -w' -o "$tmp" github.com/seaweedfs/seaweedfs/weed
)
mv -f "$tmp" "$bin"
trap - EXIT
# Drop binaries of other versions (~160 MB each); a running one keeps working.
find "$cache/bin" -maxdepth 1 -name 'weed-v*' ! -name "$(basename "$bin")" ! -name '*.tmp.*' -delete
echo "build-weed: built $bin in $(($(date +%s) - start))s" >&2
echo "$bin"
