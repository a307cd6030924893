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
fuzztime=${AGORA_FUZZTIME:-5s}
start=$(date +%s)
step() { echo "== $* ($(( $(date +%s) - start ))s)"; }

# The S3 server (SeaweedFS) is built from the Go module proxy; a cold build
# takes minutes, so it starts first and runs while the rest gets ready.
step "build the S3 server in the background (cached after the first run)"
weedlog=$(mktemp)
scripts/build-weed.sh >"$weedlog" 2>&1 &
weedpid=$!
# Under set -e a failing command inside the trap turns a passing run into
# exit 1 (the weed build has normally been reaped already, so kill fails):
# every step here is guarded and the run keeps its own exit status.
trap 'kill $weedpid 2>/dev/null || true; scripts/services.sh stop >/dev/null 2>&1 || true' EXIT

step "install Debian packages and start PostgreSQL"
scripts/services.sh start pg

step "install the JS clients (npm ci, pinned lockfile)"
(cd e2e && npm ci --no-audit --no-fund --loglevel=error)

# One virtualenv per lock file of e2e/python (huggingface_hub 2.x, 1.x and
# 0.36 with hf_xet, transformers, datasets…), from PyPI with every version
# and hash pinned; reused from ~/.cache/agora while the locks are unchanged.
step "install the Python clients (pinned locks, cached virtualenvs)"
AGORA_E2E_PYENVS=$(scripts/pyenv.sh)
export AGORA_E2E_PYENVS

step "gofmt and go vet"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './e2e/node_modules/*'))
if [[ -n "$unformatted" ]]; then
	echo "gofmt would change:" $unformatted >&2
	exit 1
fi
go vet ./...

step "wait for the S3 server build and start it"
if ! wait $weedpid; then
	cat "$weedlog" >&2
	exit 1
fi
scripts/services.sh start s3
eval "$(scripts/services.sh env)"

step "go test -race"
go test -race -timeout 25m ./...

step "fuzz every target for $fuzztime"
scripts/fuzz.sh "$fuzztime"

step "all tests passed"
