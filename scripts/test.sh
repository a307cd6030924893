#!/usr/bin/env bash
# The test command (README): on a fresh Debian machine it installs what the
# tests need, starts the real services they use (PostgreSQL, SeaweedFS S3)
# on loopback, then runs formatting and vet checks, every Go test with the
# race detector (including the end-to-end suites with the real clients) and
# a short fuzzing pass over every parser of untrusted bytes.
#
#   scripts/test.sh                 everything
#   AGORA_FUZZTIME=30s scripts/test.sh   longer fuzzing per target
#
# AGORA_TEST_REQUIRE=1 (the default here) makes a missing service or tool
# fail the run instead of skipping the tests that need it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export AGORA_TEST_REQUIRE=${AGORA_TEST_REQUIRE:-1}
fuzztime=${AGORA_FUZZTIME:-8s}
start=$(date +%s)
step() { echo "== $* ($(( $(date +%s) - start ))s)"; }

step "install Debian packages and start services"
scripts/services.sh start
trap 'scripts/services.sh stop >/dev/null 2>&1 || true' EXIT
eval "$(scripts/services.sh env)"

step "install the JS clients (npm ci, pinned lockfile)"
(cd e2e && npm ci --no-audit --no-fund --loglevel=error)

step "gofmt and go vet"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './e2e/node_modules/*'))
if [[ -n "$unformatted" ]]; then
	echo "gofmt would change:" $unformatted >&2
	exit 1
fi
go vet ./...

step "go test -race"
go test -race -timeout 25m ./...

step "fuzz every target for $fuzztime"
scripts/fuzz.sh "$fuzztime"

step "all tests passed"
