#!/usr/bin/env bash
# Scanner benchmark (issue: trust). Scans a PyTorch-style zip of SIZE bytes
# (default 2 GiB, written sparse so it costs no disk) with the hub's
# scanner and reports throughput, bytes actually read, allocations and the
# process's peak RSS: the tensor payloads are skipped, so the time is
# bounded by the pickles, not by the file size.
#
#   bench/scan.sh [SIZE_BYTES]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
size=${1:-2147483648}
work=$(mktemp -d "${TMPDIR:-/tmp}/agora-scanbench.XXXXXX")
trap 'rm -rf "$work"' EXIT
(cd "$root" && go test -c -o "$work/scan.test" ./internal/scan)
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (Debian package time)" >&2; exit 1; }
cd "$work"
AGORA_BENCH_ZIP_SIZE=$size /usr/bin/time -v ./scan.test -test.run '^$' -test.bench 'ScanLargeZip' -test.benchmem -test.benchtime 20x 2>"$work/time.txt" | grep -E 'Benchmark|ok'
grep -E 'Maximum resident set size' "$work/time.txt"
