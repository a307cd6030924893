#!/usr/bin/env bash
# Xet storage benchmarks (issue: Xet storage), each against plain LFS in
# the same run, with the real Python client (huggingface_hub + hf_xet from
# the pinned lock e2e/python/hub2.txt, made by scripts/pyenv.sh):
#
#   dedup     ten successive versions of a SIZE MiB safetensors file, each
#             changing 1 % of its tensors, uploaded through Xet and, to
#             another hub, through LFS (HF_HUB_DISABLE_XET=1): bytes on disk
#             against the unique bytes of the history (goal: Xet <= 1.3x).
#   transfer  one SIZE MiB file uploaded and downloaded through Xet and
#             through LFS, alternating, RUNS times each: throughputs.
#   resolve   plain GET /resolve (curl) of a file stored through Xet (the
#             server reconstructs it) against one stored as an LFS blob
#             (sendfile), alternating (goal: Xet >= 0.7x).
#
#   bench/xet.sh [all|dedup|transfer|resolve] [SIZE_MIB] [RUNS]
#                                  defaults: all, 256 MiB, 3 runs
#
# Loopback only; needs curl, python3, go. Run it on a quiet machine: the
# client, the server and the disk share the cores.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-all}
size_mib=${2:-256}
runs=${3:-3}
source "$root/bench/lib.sh" agora-xet-bench

echo "building agora..." >&2
(cd "$root" && go build -o "$work/agora" ./cmd/agora)
venv=$(bash "$root/scripts/pyenv.sh" hub2 | cut -d= -f2)
py="$venv/bin/python"

# start_hub NAME: an empty hub in $work/NAME, its URL and token in
# ${NAME}_url and ${NAME}_tok.
start_hub() {
	local name=$1 port
	port=$(free_port)
	local tok
	tok=$("$work/agora" user add bench --data "$work/$name" | tail -1)
	"$work/agora" serve --data "$work/$name" --addr "127.0.0.1:$port" --log-level warn 2>"$work/$name.log" &
	pids+=($!)
	for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
	printf -v "${name}_url" '%s' "http://127.0.0.1:$port"
	printf -v "${name}_tok" '%s' "$tok"
}

# client HUB [ENV…] -- ARGS: run bench/xet_client.py against hub HUB.
client() {
	local name=$1
	shift
	local url_var="${name}_url" tok_var="${name}_tok"
	env HF_ENDPOINT="${!url_var}" HF_TOKEN="${!tok_var}" HF_HOME="$work/hf-$name" \
		HF_HUB_DISABLE_PROGRESS_BARS=1 HF_HUB_DISABLE_TELEMETRY=1 HF_XET_TELEMETRY_ENABLED=0 \
		"$@"
}

mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
disk() { du -sb "$1" 2>/dev/null | cut -f1; }

if [[ $what == all || $what == dedup ]]; then
	echo "dedup: generating and uploading ten versions of a ${size_mib} MiB safetensors file..." >&2
	start_hub xetd
	start_hub lfsd
	"$py" "$root/bench/xet_client.py" versions "$work/versions" "$size_mib" 10 >"$work/versions.json"
	client xetd "$py" "$root/bench/xet_client.py" upload-versions "$work/versions" bench/model
	client lfsd HF_HUB_DISABLE_XET=1 "$py" "$root/bench/xet_client.py" upload-versions "$work/versions" bench/model
	unique=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["unique_bytes"])' "$work/versions.json")
	xet=$(disk "$work/xetd/blobs/xorbs")
	lfs=$(disk "$work/lfsd/blobs/objects")
	echo
	echo "dedup: 10 versions of ${size_mib} MiB, 1 % of the tensors changed each time"
	printf '  unique bytes of the history   %8s MiB\n' "$(mib "$unique")"
	printf '  Xet xorbs on disk             %8s MiB   %.2fx unique (goal <= 1.3)\n' "$(mib "$xet")" "$(awk -v a="$xet" -v b="$unique" 'BEGIN{print a/b}')"
	printf '  plain LFS objects on disk     %8s MiB   %.2fx unique\n' "$(mib "$lfs")" "$(awk -v a="$lfs" -v b="$unique" 'BEGIN{print a/b}')"
fi

if [[ $what == all || $what == transfer ]]; then
	echo "transfer: uploading and downloading ${size_mib} MiB through Xet and LFS, $runs runs..." >&2
	start_hub tx
	head -c $((size_mib * 1024 * 1024)) /dev/urandom >"$work/tx.bin"
	up_x=() up_l=() dl_x=() dl_l=()
	for i in $(seq "$runs"); do
		# A fresh byte makes each run's file new to the hub (no dedup).
		printf '%08d' "$i" | dd of="$work/tx.bin" bs=1 seek=0 conv=notrunc status=none
		up_x+=("$(client tx "$py" "$root/bench/xet_client.py" upload "$work/tx.bin" "bench/tx-xet-$i")")
		printf 'L%07d' "$i" | dd of="$work/tx.bin" bs=1 seek=0 conv=notrunc status=none
		up_l+=("$(client tx HF_HUB_DISABLE_XET=1 "$py" "$root/bench/xet_client.py" upload "$work/tx.bin" "bench/tx-lfs-$i")")
		dl_x+=("$(client tx "$py" "$root/bench/xet_client.py" download "bench/tx-xet-$i" "$work/dl-x-$i")")
		dl_l+=("$(client tx HF_HUB_DISABLE_XET=1 "$py" "$root/bench/xet_client.py" download "bench/tx-lfs-$i" "$work/dl-l-$i")")
		rm -rf "$work/dl-x-$i" "$work/dl-l-$i"
	done
	size=$((size_mib * 1048576))
	tp() { awk -v s="$size" -v t="$1" 'BEGIN { printf "%.0f", s / t / 1048576 }'; }
	ux=$(printf '%s\n' "${up_x[@]}" | median) ul=$(printf '%s\n' "${up_l[@]}" | median)
	dx=$(printf '%s\n' "${dl_x[@]}" | median) dl=$(printf '%s\n' "${dl_l[@]}" | median)
	echo
	echo "transfer: ${size_mib} MiB of random bytes, Python client, $runs alternating runs, medians"
	printf '  upload    Xet %5s MiB/s   LFS %5s MiB/s   ratio %.2f\n' "$(tp "$ux")" "$(tp "$ul")" "$(awk -v a="$ul" -v b="$ux" 'BEGIN{print a/b}')"
	printf '  download  Xet %5s MiB/s   LFS %5s MiB/s   ratio %.2f\n' "$(tp "$dx")" "$(tp "$dl")" "$(awk -v a="$dl" -v b="$dx" 'BEGIN{print a/b}')"
fi

if [[ $what == all || $what == resolve ]]; then
	echo "resolve: ${size_mib} MiB through Xet and as an LFS blob, $runs runs..." >&2
	start_hub rs
	# Two kinds of content: weight-like float32 (hf_xet stores its chunks
	# BG4-LZ4 compressed: the server decodes them) and random bytes (stored
	# uncompressed: sent with sendfile). Of each, two files of the same size,
	# one per storage: the same bytes stored both ways would be served from
	# the LFS blob.
	"$py" "$root/bench/xet_client.py" versions "$work/rs" "$size_mib" 1 >/dev/null
	cp "$work/rs/v0.safetensors" "$work/rs/w-xet.bin"
	mv "$work/rs/v0.safetensors" "$work/rs/w-lfs.bin"
	printf 'X' | dd of="$work/rs/w-lfs.bin" bs=1 seek=$((size_mib * 1048576 - 1)) conv=notrunc status=none
	head -c $((size_mib * 1048576)) /dev/urandom >"$work/rs/r-xet.bin"
	head -c $((size_mib * 1048576)) /dev/urandom >"$work/rs/r-lfs.bin"
	for k in w r; do
		client rs "$py" "$root/bench/xet_client.py" upload "$work/rs/$k-xet.bin" "bench/$k-xet" >/dev/null
		client rs HF_HUB_DISABLE_XET=1 "$py" "$root/bench/xet_client.py" upload "$work/rs/$k-lfs.bin" "bench/$k-lfs" >/dev/null
	done
	echo
	echo "resolve: plain GET of ${size_mib} MiB, $runs alternating runs, medians"
	for k in w r; do
		xs=() ls=()
		for f in xet lfs; do curl -sf -o /dev/null "$rs_url/bench/$k-$f/resolve/main/file.bin"; done # warm
		for i in $(seq "$runs"); do
			xs+=("$(curl -sf -o /dev/null -w '%{speed_download}' "$rs_url/bench/$k-xet/resolve/main/file.bin")")
			ls+=("$(curl -sf -o /dev/null -w '%{speed_download}' "$rs_url/bench/$k-lfs/resolve/main/file.bin")")
		done
		xm=$(printf '%s\n' "${xs[@]}" | median) lm=$(printf '%s\n' "${ls[@]}" | median)
		kind="weight-like float32 (BG4-LZ4 chunks)"
		[[ $k == r ]] && kind="random bytes (uncompressed chunks)"
		printf '  %-38s Xet %6s MiB/s   LFS blob %6s MiB/s   ratio %.2f (goal >= 0.7)\n' "$kind" "$(mib "$xm")" "$(mib "$lm")" "$(awk -v a="$xm" -v b="$lm" 'BEGIN{print a/b}')"
	done
fi
