#!/usr/bin/env bash
# Transfer benchmark of the embedded default (issue: core hub).
#
# Download: a 1 GiB LFS file fetched in full from agora's /resolve and from
# nginx serving the very same blob file from the same disk, alternating runs;
# prints the throughput ratio agora/nginx (goal >= 0.95).
# Upload: the same file PUT to agora's signed LFS upload URL (hashed and
# written with fsync) against `sha256sum` of the file; prints the ratio
# upload/sha256sum throughput (goal >= 0.8).
#
#   bench/transfer.sh [SIZE_MIB] [RUNS]     defaults: 1024 MiB, 5 runs
#
# Loopback only; needs curl, nginx (scripts/install-deps.sh installs it), go.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
size_mib=${1:-1024}
runs=${2:-5}
source "$root/bench/lib.sh" agora-bench

command -v nginx >/dev/null || NGINX=/usr/sbin/nginx
NGINX=${NGINX:-nginx}

echo "building agora..." >&2
(cd "$root" && go build -o "$work/agora" ./cmd/agora)
port=$(free_port)
url="http://127.0.0.1:$port"
tok=$("$work/agora" user add bench --data "$work/data" | tail -1)
"$work/agora" serve --data "$work/data" --addr "127.0.0.1:$port" --log-level warn 2>"$work/agora.log" &
pids+=($!)
for _ in $(seq 100); do curl -sf "$url/readyz" >/dev/null && break; sleep 0.1; done

echo "generating ${size_mib} MiB of random content..." >&2
head -c $((size_mib * 1024 * 1024)) /dev/urandom >"$work/file.bin"
size=$(stat -c %s "$work/file.bin")
oid=$(sha256sum "$work/file.bin" | cut -d' ' -f1)

curl -sf -X POST -H "Authorization: Bearer $tok" "$url/api/repos/create" -d '{"name":"bench","organization":"bench"}' >/dev/null
batch() {
	curl -sf -X POST -H "Authorization: Bearer $tok" -H 'Content-Type: application/vnd.git-lfs+json' \
		"$url/bench/bench.git/info/lfs/objects/batch" \
		-d "{\"operation\":\"upload\",\"transfers\":[\"basic\"],\"objects\":[{\"oid\":\"$oid\",\"size\":$size}]}"
}
href=$(batch | python3 -c 'import json,sys; print(json.load(sys.stdin)["objects"][0]["actions"]["upload"]["href"])')

secs() { python3 -c "import sys; print(sys.argv[1])" "$1"; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# Upload vs sha256sum, alternating.
up=() sha=()
for i in $(seq "$runs"); do
	t0=$(date +%s.%N); sha256sum "$work/file.bin" >/dev/null; t1=$(date +%s.%N)
	sha+=("$(echo "$t1 - $t0" | bc -l)")
	t=$(curl -sf -T "$work/file.bin" -H 'Content-Type: application/octet-stream' -o /dev/null -w '%{time_total}' "$href")
	up+=("$t")
done
curl -sf -X POST -H "Authorization: Bearer $tok" "$url/api/models/bench/bench/commit/main" \
	--data-binary "{\"key\":\"header\",\"value\":{\"summary\":\"bench\"}}
{\"key\":\"lfsFile\",\"value\":{\"path\":\"file.bin\",\"algo\":\"sha256\",\"oid\":\"$oid\",\"size\":$size}}" >/dev/null

# nginx serving the blob store's own copy of the bytes.
nport=$(free_port)
mkdir -p "$work/nginx/logs"
userline=""
[[ $(id -u) == 0 ]] && userline="user $(id -un) $(id -gn);" # workers must read our files
cat >"$work/nginx/nginx.conf" <<EOF
$userline
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 64; }
http {
  access_log off;
  sendfile on; tcp_nopush on;
  server { listen 127.0.0.1:$nport; root $work/data/blobs/objects; }
}
EOF
"$NGINX" -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' &
pids+=($!)
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$nport/" && break; sleep 0.1; done
blobpath="${oid:0:2}/${oid:2:2}/$oid"

dl=() ng=()
cat "$work/data/blobs/objects/$blobpath" >/dev/null # warm the page cache for both
for i in $(seq "$runs"); do
	ng+=("$(curl -sf -o /dev/null -w '%{speed_download}' "http://127.0.0.1:$nport/$blobpath")")
	dl+=("$(curl -sf -o /dev/null -w '%{speed_download}' "$url/bench/bench/resolve/main/file.bin")")
done

mb() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1048576 }'; }
dl_med=$(printf '%s\n' "${dl[@]}" | median)
ng_med=$(printf '%s\n' "${ng[@]}" | median)
up_med=$(printf '%s\n' "${up[@]}" | median)
sha_med=$(printf '%s\n' "${sha[@]}" | median)
up_tp=$(awk -v s="$size" -v t="$up_med" 'BEGIN { print s / t }')
sha_tp=$(awk -v s="$size" -v t="$sha_med" 'BEGIN { print s / t }')

echo
echo "file: $size_mib MiB, $runs alternating runs each, medians"
printf 'download  agora %6s MiB/s   nginx     %6s MiB/s   ratio %.3f (goal >= 0.95)\n' "$(mb "$dl_med")" "$(mb "$ng_med")" "$(awk -v a="$dl_med" -v b="$ng_med" 'BEGIN{print a/b}')"
printf 'upload    agora %6s MiB/s   sha256sum %6s MiB/s   ratio %.3f (goal >= 0.8)\n' "$(mb "$up_tp")" "$(mb "$sha_tp")" "$(awk -v a="$up_tp" -v b="$sha_tp" 'BEGIN{print a/b}')"
