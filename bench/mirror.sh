#!/usr/bin/env bash
# Pull-through mirror benchmark (issue 14), loopback only.
#
# Cold: a SIZE MiB LFS file downloaded through a mirror that has to fetch
# it (evicted before each run) against the same download straight from
# the upstream, alternating runs; prints the throughput ratio
# mirror/direct (goal >= 0.8).
# Warm: the same file once cached, from the mirror's /resolve against
# nginx serving the mirror's own blob file from the same disk; prints the
# ratio mirror/nginx (goal >= 0.95).
#
#   bench/mirror.sh [SIZE_MIB] [RUNS]     defaults: 512 MiB, 3 runs
#
# Needs curl, nginx, python3, go.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
size_mib=${1:-512}
runs=${2:-3}
source "$root/bench/lib.sh" agora-mirror-bench


echo "building agora..." >&2
(cd "$root" && go build -o "$work/agora" ./cmd/agora)
hub_url=""
start() { # start NAME DATA ARGS...: starts a hub and sets hub_url
	local name=$1 data=$2 port
	shift 2
	port=$(free_port)
	"$work/agora" serve --data "$data" --addr "127.0.0.1:$port" --log-level warn "$@" >"$work/$name.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
	hub_url="http://127.0.0.1:$port"
}

tok=$("$work/agora" user add bench --data "$work/up" | tail -1)
start upstream "$work/up"
up=$hub_url
start mirror "$work/mir" --upstream "up=$up"
mirror=$hub_url

echo "generating ${size_mib} MiB of random content..." >&2
head -c $((size_mib * 1024 * 1024)) /dev/urandom >"$work/file.bin"
size=$(stat -c %s "$work/file.bin")
oid=$(sha256sum "$work/file.bin" | cut -d' ' -f1)
curl -sf -X POST -H "Authorization: Bearer $tok" "$up/api/repos/create" -d '{"name":"bench","organization":"bench"}' >/dev/null
href=$(curl -sf -X POST -H "Authorization: Bearer $tok" -H 'Content-Type: application/vnd.git-lfs+json' \
	"$up/bench/bench.git/info/lfs/objects/batch" \
	-d "{\"operation\":\"upload\",\"transfers\":[\"basic\"],\"objects\":[{\"oid\":\"$oid\",\"size\":$size}]}" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["objects"][0]["actions"]["upload"]["href"])')
curl -sf -T "$work/file.bin" -H 'Content-Type: application/octet-stream' -o /dev/null "$href"
curl -sf -X POST -H "Authorization: Bearer $tok" "$up/api/models/bench/bench/commit/main" \
	--data-binary "{\"key\":\"header\",\"value\":{\"summary\":\"bench\"}}
{\"key\":\"lfsFile\",\"value\":{\"path\":\"file.bin\",\"algo\":\"sha256\",\"oid\":\"$oid\",\"size\":$size}}" >/dev/null
rm "$work/file.bin"
curl -sf "$mirror/api/models/bench/bench" >/dev/null # the mirror binds the repository

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
speed() { curl -sf -o /dev/null -w '%{speed_download}' "$1"; }

cold=() direct=()
for i in $(seq "$runs"); do
	"$work/agora" mirror evict bench/bench --data "$work/mir" >/dev/null
	direct+=("$(speed "$up/bench/bench/resolve/main/file.bin")")
	cold+=("$(speed "$mirror/bench/bench/resolve/main/file.bin")")
done
sleep 1 # the last fill links and accounts the object after the last byte

start_nginx "$work/mir/blobs/objects" 1 64
blobpath="${oid:0:2}/${oid:2:2}/$oid"
cat "$work/mir/blobs/objects/$blobpath" >/dev/null # warm the page cache for both
warm=() ng=()
for i in $(seq "$runs"); do
	ng+=("$(speed "http://127.0.0.1:$nport/$blobpath")")
	warm+=("$(speed "$mirror/bench/bench/resolve/main/file.bin")")
done

mb() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1048576 }'; }
med() { printf '%s\n' "$@" | median; }
c=$(med "${cold[@]}") d=$(med "${direct[@]}") w=$(med "${warm[@]}") n=$(med "${ng[@]}")
echo
echo "file: $size_mib MiB, $runs alternating runs each, medians"
printf 'cold  mirror %6s MiB/s   upstream direct %6s MiB/s   ratio %.3f (goal >= 0.8)\n' "$(mb "$c")" "$(mb "$d")" "$(awk -v a="$c" -v b="$d" 'BEGIN{print a/b}')"
printf 'warm  mirror %6s MiB/s   nginx           %6s MiB/s   ratio %.3f (goal >= 0.95)\n' "$(mb "$w")" "$(mb "$n")" "$(awk -v a="$w" -v b="$n" 'BEGIN{print a/b}')"
