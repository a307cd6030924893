#!/usr/bin/env bash
# Download throughput on the scale-out store (issue: PostgreSQL + S3).
#
# One LFS file on SeaweedFS S3 (started by scripts/services.sh) is fetched
#   - through agora's /resolve with the default 302 to a presigned URL,
#   - through agora's /resolve proxied (--blobs-proxy),
#   - directly from the S3 server (a presigned GET, the baseline),
# alternating runs; medians and ratios against the direct GET are printed.
#
#   bench/s3download.sh [SIZE_MIB] [RUNS]      defaults: 512 MiB, 5 runs
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
size_mib=${1:-512}
runs=${2:-5}
source "$root/bench/lib.sh" agora-s3bench

"$root/scripts/services.sh" start >/dev/null
eval "$("$root/scripts/services.sh" env)"
schema="bench_$$"
psql "$AGORA_TEST_PG" -qc "CREATE SCHEMA $schema"
trap 'psql "$AGORA_TEST_PG" -qc "DROP SCHEMA $schema CASCADE" >/dev/null 2>&1 || true; cleanup' EXIT
db="$AGORA_TEST_PG&search_path=$schema"
blobs="s3://agora-bench/$schema?endpoint=$AGORA_TEST_S3_ENDPOINT&region=us-east-1"

(cd "$root" && go build -o "$work/agora" ./cmd/agora)
p1=$(free_port); p2=$(free_port)
tok=$("$work/agora" user add bench --db "$db" --blobs "$blobs" | tail -1)
"$work/agora" serve --db "$db" --blobs "$blobs" --addr "127.0.0.1:$p1" --log-level warn 2>"$work/a1.log" &
pids+=($!)
"$work/agora" serve --db "$db" --blobs "$blobs" --addr "127.0.0.1:$p2" --log-level warn --blobs-proxy 2>"$work/a2.log" &
pids+=($!)
for p in $p1 $p2; do for _ in $(seq 100); do curl -sf "http://127.0.0.1:$p/readyz" >/dev/null && break; sleep 0.1; done; done
u1="http://127.0.0.1:$p1"

head -c $((size_mib * 1024 * 1024)) /dev/urandom >"$work/f.bin"
size=$(stat -c %s "$work/f.bin")
oid=$(sha256sum "$work/f.bin" | cut -d' ' -f1)
curl -sf -X POST -H "Authorization: Bearer $tok" "$u1/api/repos/create" -d '{"name":"b","organization":"bench"}' >/dev/null
href=$(curl -sf -X POST -H "Authorization: Bearer $tok" "$u1/bench/b.git/info/lfs/objects/batch" \
	-d "{\"operation\":\"upload\",\"objects\":[{\"oid\":\"$oid\",\"size\":$size}]}" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["objects"][0]["actions"]["upload"]["href"])')
curl -sf -T "$work/f.bin" "$href" >/dev/null
curl -sf -X POST -H "Authorization: Bearer $tok" "$u1/api/models/bench/b/commit/main" --data-binary \
	"{\"key\":\"header\",\"value\":{\"summary\":\"b\"}}
{\"key\":\"lfsFile\",\"value\":{\"path\":\"f.bin\",\"algo\":\"sha256\",\"oid\":\"$oid\",\"size\":$size}}" >/dev/null
direct=$(curl -s -o /dev/null -w '%{redirect_url}' "$u1/bench/b/resolve/main/f.bin")

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
rd=() px=() dr=()
for i in $(seq "$runs"); do
	dr+=("$(curl -sf -o /dev/null -w '%{speed_download}' "$direct")")
	rd+=("$(curl -sfL -o /dev/null -w '%{speed_download}' "$u1/bench/b/resolve/main/f.bin")")
	px+=("$(curl -sf -o /dev/null -w '%{speed_download}' "http://127.0.0.1:$p2/bench/b/resolve/main/f.bin")")
done
m() { printf '%s\n' "$@" | median; }
d=$(m "${dr[@]}"); r=$(m "${rd[@]}"); p=$(m "${px[@]}")
mb() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1048576 }'; }
echo "file: $size_mib MiB on SeaweedFS S3, $runs alternating runs, medians"
printf 'direct S3 GET          %6s MiB/s\n' "$(mb "$d")"
printf 'agora 302 + presigned  %6s MiB/s   ratio %.3f\n' "$(mb "$r")" "$(awk -v a="$r" -v b="$d" 'BEGIN{print a/b}')"
printf 'agora proxied          %6s MiB/s   ratio %.3f\n' "$(mb "$p")" "$(awk -v a="$p" -v b="$d" 'BEGIN{print a/b}')"
