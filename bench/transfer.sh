#!/usr/bin/env bash
# Transfer benchmark of the embedded default (issue 16).
#
# For each size, RUNS alternations of agora and its baseline:
#
#   download  agora's /resolve against nginx (sendfile on; tcp_nopush on)
#             serving the blob store's own file from the same disk, three
#             ways: a plain GET; a resume (Range: bytes=HALF-); and HEAD then
#             GET with Accept-Encoding: identity on one connection, as
#             huggingface_hub does (throughput counts the HEAD's time too);
#   upload    a verified LFS PUT (hashed while written, fsynced, renamed) of
#             content the store has never seen, against `sha256sum` of the
#             same file (which also names it for the upload).
#
# Within a pair the order flips every run, so a change in the machine's
# load falls on both sides. Each pair prints min / median / max MiB/s per
# side and the ratio of medians with a 95 % bootstrap interval
# (bench/ratio.py); the load averages before and after each size and the
# versions of everything measured are printed with them.
#
#   bench/transfer.sh [SIZES_MIB] [RUNS]      defaults: "64 1024 4096", 15
#   UPLOAD_RUNS=N    upload alternations per size (default: RUNS)
#   SAMPLES=DIR      keep the raw samples (DIR/SIZE.txt: "series MiB/s")
#   AGORA_BIN=PATH   measure this agora binary instead of building one
#   AGORA_FLAGS=...  extra `agora serve` flags (to measure a knob)
#
# Loopback only; needs curl, nginx (scripts/install-deps.sh installs it),
# go, python3. Disk: about 3 × the largest size, checked first; RAM: the
# largest file must fit in the page cache for the download figures to be
# about the server rather than the disk.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sizes=${1:-64 1024 4096}
runs=${2:-15}
upruns=${UPLOAD_RUNS:-$runs}
source "$root/bench/lib.sh" agora-transfer

largest=0
for s in $sizes; do ((s > largest)) && largest=$s; done
need=$((3 * largest + 512))
if (($(free_mib "$work") < need)); then
	echo "need $need MiB free under $work, have $(free_mib "$work")" >&2
	exit 1
fi

# shellcheck disable=SC2086
start_bench_hub ${AGORA_FLAGS:-}
start_nginx "$work/data/blobs/objects" 1 64

echo "date:    $(date -u +%FT%TZ)"
echo "machine: $(nproc) cores, $(uname -r), load $(loadavg)"
echo "agora:   $(cd "$root" && git describe --always --dirty 2>/dev/null || echo '?'), $(go version | cut -d' ' -f3)${AGORA_FLAGS:+, flags: $AGORA_FLAGS}"
echo "nginx:   $("$NGINX" -v 2>&1 | sed 's/.*version: //') (sendfile on; tcp_nopush on; 1 worker)"
echo "client:  $(curl --version | head -1 | cut -d' ' -f1-2)"

# batch OID SIZE: the signed upload URL for a new LFS object.
batch() {
	curl -sf -X POST -H "Authorization: Bearer $tok" -H 'Content-Type: application/vnd.git-lfs+json' \
		"$url/bench/bench.git/info/lfs/objects/batch" \
		-d "{\"operation\":\"upload\",\"transfers\":[\"basic\"],\"objects\":[{\"oid\":\"$1\",\"size\":$2}]}" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["objects"][0]["actions"]["upload"]["href"])'
}
# put FILE HREF: uploads, prints the seconds curl took. No "Expect:
# 100-continue": the Python and JS clients do not send it.
put() { curl -sf -T "$1" -H 'Content-Type: application/octet-stream' -H 'Expect:' -o /dev/null -w '%{time_total}' "$2"; }
mibs() { awk -v b="$1" -v t="$2" 'BEGIN { printf "%.1f", b / t / 1048576 }'; }
blobfile() { echo "$work/data/blobs/objects/${1:0:2}/${1:2:2}/$1"; }

# fetch SERIES KIND URL: one download; appends "SERIES MiB/s" to $samples.
# KIND: get, range (from the middle: a resume), headget (HEAD + GET on
# one connection, both with Accept-Encoding: identity).
fetch() {
	local out bytes t want=$size
	case $2 in
	get) out=$(curl -sf -o /dev/null -w '%{size_download} %{time_total}' "$3") ;;
	range)
		want=$((size - size / 2))
		out=$(curl -sf -o /dev/null -r "$((size / 2))-" -w '%{size_download} %{time_total}' "$3")
		;;
	headget)
		out=$(curl -sf -I -o /dev/null -H 'Accept-Encoding: identity' -w '%{time_total} ' "$3" \
			--next -sf -o /dev/null -H 'Accept-Encoding: identity' -w '%{size_download} %{time_total}' "$3" |
			awk '{ print $2, $1 + $3 }')
		;;
	esac
	read -r bytes t <<<"$out"
	if [[ $bytes != "$want" ]]; then
		echo "$1: got $bytes bytes, want $want" >&2
		exit 1
	fi
	echo "$1 $(mibs "$bytes" "$t")" >>"$samples"
}

for size_mib in $sizes; do
	samples="$work/samples-$size_mib.txt"
	: >"$samples"
	echo "generating $size_mib MiB of random content..." >&2
	head -c $((size_mib * 1048576)) /dev/urandom >"$work/file.bin"
	size=$(stat -c %s "$work/file.bin")
	oid=$(sha256sum "$work/file.bin" | cut -d' ' -f1)
	put "$work/file.bin" "$(batch "$oid" "$size")" >/dev/null
	curl -sf -X POST -H "Authorization: Bearer $tok" "$url/api/models/bench/bench/commit/main" \
		--data-binary "{\"key\":\"header\",\"value\":{\"summary\":\"$size_mib MiB\"}}
{\"key\":\"lfsFile\",\"value\":{\"path\":\"file.bin\",\"algo\":\"sha256\",\"oid\":\"$oid\",\"size\":$size}}" >/dev/null
	blob=$(blobfile "$oid")
	ngurl="http://127.0.0.1:$nport/${blob#"$work/data/blobs/objects/"}"
	agurl="$url/bench/bench/resolve/main/file.bin"
	cat "$blob" >/dev/null # warm the page cache for both

	load0=$(loadavg)
	reset_peak_rss "$agora_pid"
	echo "downloading: $runs alternations of 3 kinds..." >&2
	for i in $(seq "$runs"); do
		for kind in get range headget; do
			if ((i % 2)); then
				fetch "nginx-$kind" "$kind" "$ngurl"
				fetch "agora-$kind" "$kind" "$agurl"
			else
				fetch "agora-$kind" "$kind" "$agurl"
				fetch "nginx-$kind" "$kind" "$ngurl"
			fi
		done
	done
	load1=$(loadavg)
	rss=$(peak_rss_mib "$agora_pid")

	# Uploads of content the store has never seen: a content-addressed
	# store could rightly skip writing an object it already holds, which
	# would measure nothing. The file's first bytes change every run;
	# sha256sum names the new content and is the baseline.
	echo "uploading: $upruns alternations..." >&2
	rm -f "$blob" # the downloads are done: make room
	for i in $(seq "$upruns"); do
		head -c 32 /dev/urandom | dd of="$work/file.bin" conv=notrunc status=none
		t0=$(now)
		uoid=$(sha256sum "$work/file.bin" | cut -d' ' -f1)
		t1=$(now)
		echo "sha256sum $(mibs "$size" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")" >>"$samples"
		href=$(batch "$uoid" "$size")
		t=$(put "$work/file.bin" "$href")
		echo "upload $(mibs "$size" "$t")" >>"$samples"
		rm -f "$(blobfile "$uoid")"
	done
	load2=$(loadavg)

	echo
	echo "== $size_mib MiB: $runs download / $upruns upload alternations; load before $load0, after downloads $load1, after uploads $load2; agora peak RSS $rss MiB"
	echo "   MiB/s: min / median / max; ratio of medians [95 % bootstrap interval]"
	python3 "$root/bench/ratio.py" "$samples" --goal 0.95 agora-get/nginx-get agora-range/nginx-range agora-headget/nginx-headget
	python3 "$root/bench/ratio.py" "$samples" --goal 0.8 upload/sha256sum
	if [[ -n ${SAMPLES:-} ]]; then
		mkdir -p "$SAMPLES"
		cp "$samples" "$SAMPLES/$size_mib.txt"
	fi
	rm -f "$work/file.bin"
done
