#!/usr/bin/env bash
# Run every fuzz target of the module for a bounded time each.
#   scripts/fuzz.sh [DURATION]     default 8s per target
set -euo pipefail
cd "$(dirname "$0")/.."
t=${1:-8s}
for pkg in $(go list ./...); do
	for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		echo "fuzz $pkg $target ($t)"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$t" "$pkg" >/tmp/agora-fuzz.log 2>&1 || {
			cat /tmp/agora-fuzz.log >&2
			exit 1
		}
	done
done
