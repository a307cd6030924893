#!/usr/bin/env bash
# Many transfers at once on the embedded default (issue 16).
#
# Each round, alternating which side goes first:
#   downloads  N parallel GETs of one DL_MIB file from agora's /resolve,
#              then from nginx (sendfile on; tcp_nopush on; one worker per
#              core) serving the blob store's own file: aggregate MiB/s =
#              N × size / wall time of the batch (goal: agora ≥ 0.9×);
#   uploads    N parallel verified LFS PUTs of N distinct UP_MIB files the
#              store has never seen, against N parallel `sha256sum`s of the
#              same files (goal ≥ 0.8×);
# and once at the end a mixed batch (N downloads and N uploads together).
# agora's peak RSS (VmHWM, reset before each batch) is printed per kind
# (goal < 150 MB). Ratios of medians with 95 % bootstrap intervals
# (bench/ratio.py), load averages and versions are printed with them.
#
#   bench/parallel.sh [N] [ROUNDS]        defaults: 16, 9
#   DL_MIB=1024 UP_MIB=256                file sizes
#   SAMPLES=DIR                           keep the raw samples
#   AGORA_BIN=PATH                        measure this binary instead of building one
#   AGORA_FLAGS=...                       extra `agora serve` flags
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-16}
rounds=${2:-9}
dl_mib=${DL_MIB:-1024}
up_mib=${UP_MIB:-256}
source "$root/bench/lib.sh" agora-parallel

need=$((2 * dl_mib + 3 * n * up_mib + 512))
if (($(free_mib "$work") < need)); then
	echo "need $need MiB free under $work, have $(free_mib "$work")" >&2
	exit 1
fi

# shellcheck disable=SC2086
start_bench_hub ${AGORA_FLAGS:-}
start_nginx "$work/data/blobs/objects" auto 256

echo "date:    $(date -u +%FT%TZ)"
echo "machine: $(nproc) cores, $(uname -r), load $(loadavg)"
echo "agora:   $(cd "$root" && git describe --always --dirty 2>/dev/null || echo '?'), $(go version | cut -d' ' -f3)${AGORA_FLAGS:+, flags: $AGORA_FLAGS}"
echo "nginx:   $("$NGINX" -v 2>&1 | sed 's/.*version: //') (sendfile on; tcp_nopush on; worker_processes auto)"
echo "client:  $(curl --version | head -1 | cut -d' ' -f1-2)"

batch() {
	curl -sf -X POST -H "Authorization: Bearer $tok" -H 'Content-Type: application/vnd.git-lfs+json' \
		"$url/bench/bench.git/info/lfs/objects/batch" \
		-d "{\"operation\":\"upload\",\"transfers\":[\"basic\"],\"objects\":[{\"oid\":\"$1\",\"size\":$2}]}" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["objects"][0]["actions"]["upload"]["href"])'
}
blobfile() { echo "$work/data/blobs/objects/${1:0:2}/${1:2:2}/$1"; }
max() { echo $(($1 > $2 ? $1 : $2)); }
mibs() { awk -v b="$1" -v t="$2" 'BEGIN { printf "%.1f", b / t / 1048576 }'; }
samples="$work/samples.txt"
: >"$samples"

echo "preparing a $dl_mib MiB download and $n × $up_mib MiB uploads..." >&2
head -c $((dl_mib * 1048576)) /dev/urandom >"$work/dl.bin"
dl_size=$(stat -c %s "$work/dl.bin")
dl_oid=$(sha256sum "$work/dl.bin" | cut -d' ' -f1)
curl -sf -T "$work/dl.bin" -H 'Expect:' "$(batch "$dl_oid" "$dl_size")" >/dev/null
curl -sf -X POST -H "Authorization: Bearer $tok" "$url/api/models/bench/bench/commit/main" \
	--data-binary "{\"key\":\"header\",\"value\":{\"summary\":\"bench\"}}
{\"key\":\"lfsFile\",\"value\":{\"path\":\"dl.bin\",\"algo\":\"sha256\",\"oid\":\"$dl_oid\",\"size\":$dl_size}}" >/dev/null
rm -f "$work/dl.bin"
blob=$(blobfile "$dl_oid")
cat "$blob" >/dev/null
agurl="$url/bench/bench/resolve/main/dl.bin"
ngurl="http://127.0.0.1:$nport/${blob#"$work/data/blobs/objects/"}"
for k in $(seq "$n"); do head -c $((up_mib * 1048576)) /dev/urandom >"$work/up$k.bin"; done
up_size=$((up_mib * 1048576))

# downloads SERIES URL: N parallel GETs; appends the aggregate MiB/s.
downloads() {
	local cp=() k t0 t1
	t0=$(now)
	for k in $(seq "$n"); do
		curl -sf -o /dev/null -w '%{size_download}\n' "$2" >"$work/dl$k.out" &
		cp+=($!)
	done
	wait "${cp[@]}"
	t1=$(now)
	for k in $(seq "$n"); do
		[[ $(cat "$work/dl$k.out") == "$dl_size" ]] || { echo "$1: download $k incomplete" >&2; exit 1; }
	done
	echo "$1 $(mibs $((n * dl_size)) "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")" >>"$samples"
}

# fresh: new content in every upload file (a store may skip what it has).
fresh() {
	local k
	for k in $(seq "$n"); do head -c 32 /dev/urandom | dd of="$work/up$k.bin" conv=notrunc status=none; done
}

# hashes SERIES: N parallel sha256sums (the baseline); leaves the oids in
# up*.oid.
hashes() {
	local cp=() k t0 t1
	t0=$(now)
	for k in $(seq "$n"); do
		sha256sum "$work/up$k.bin" | cut -d' ' -f1 >"$work/up$k.oid" &
		cp+=($!)
	done
	wait "${cp[@]}"
	t1=$(now)
	echo "$1 $(mibs $((n * up_size)) "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")" >>"$samples"
}

# uploads SERIES: N parallel PUTs of the files hashes named; removes the
# objects after.
uploads() {
	local cp=() k t0 t1 hrefs=()
	for k in $(seq "$n"); do hrefs+=("$(batch "$(cat "$work/up$k.oid")" "$up_size")"); done
	t0=$(now)
	for k in $(seq "$n"); do
		curl -sf -T "$work/up$k.bin" -H 'Content-Type: application/octet-stream' -H 'Expect:' -o /dev/null "${hrefs[$((k - 1))]}" &
		cp+=($!)
	done
	wait "${cp[@]}"
	t1=$(now)
	echo "$1 $(mibs $((n * up_size)) "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")" >>"$samples"
	for k in $(seq "$n"); do rm -f "$(blobfile "$(cat "$work/up$k.oid")")"; done
}

rss_dl=0 rss_up=0
load0=$(loadavg)
for i in $(seq "$rounds"); do
	echo "round $i/$rounds" >&2
	if ((i % 2)); then
		downloads nginx "$ngurl"
		reset_peak_rss "$agora_pid"
		downloads agora "$agurl"
		rss_dl=$(max "$rss_dl" "$(peak_rss_mib "$agora_pid")")
	else
		reset_peak_rss "$agora_pid"
		downloads agora "$agurl"
		rss_dl=$(max "$rss_dl" "$(peak_rss_mib "$agora_pid")")
		downloads nginx "$ngurl"
	fi
	fresh
	hashes sha256sum
	reset_peak_rss "$agora_pid"
	uploads upload
	rss_up=$(max "$rss_up" "$(peak_rss_mib "$agora_pid")")
done
load1=$(loadavg)

echo "mixed batch: $n downloads and $n uploads at once..." >&2
fresh
hashes sha256sum-mixed
reset_peak_rss "$agora_pid"
downloads agora-mixed "$agurl" &
mixed=$!
uploads upload-mixed
wait "$mixed"
rss_mix=$(peak_rss_mib "$agora_pid")

echo
echo "== $n parallel: $rounds rounds; downloads of $dl_mib MiB, uploads of $up_mib MiB; load before $load0, after $load1, after the mixed batch $(loadavg)"
echo "   aggregate MiB/s: min / median / max; ratio of medians [95 % bootstrap interval]"
python3 "$root/bench/ratio.py" "$samples" --goal 0.9 agora/nginx
python3 "$root/bench/ratio.py" "$samples" --goal 0.8 upload/sha256sum
echo "agora peak RSS: downloads $rss_dl MiB, uploads $rss_up MiB, mixed $rss_mix MiB (goal < 150 MB = 143 MiB)"
if [[ -n ${SAMPLES:-} ]]; then
	mkdir -p "$SAMPLES"
	cp "$samples" "$SAMPLES/parallel-$n.txt"
fi
