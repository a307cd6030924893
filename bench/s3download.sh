#!/usr/bin/env bash
# Download throughput on the scale-out store (issue 16).
#
# One LFS file per size on SeaweedFS S3 (started by scripts/services.sh),
# metadata in PostgreSQL, fetched RUNS times each, alternating:
#
#   direct     a presigned GET straight from the S3 server (the baseline;
#              a fresh URL from agora's 302 before every run, untimed)
#   redirect   agora's /resolve answering 302 to a presigned URL, followed
#              (`curl -L`: both requests are in the time)
#   proxied    agora's /resolve streaming the object itself (--blobs-proxy)
#   nginx      nginx as a reverse proxy in front of the S3 server, fetching
#              the same presigned URL (what a proxy in general costs on
#              this machine: the reference for the proxied ratio)
#   and, for resumes, direct and proxied with Range: bytes=HALF-.
#
# The order of the kinds rotates every run. Prints min / median / max MiB/s
# per kind and the ratios of medians with 95 % bootstrap intervals
# (bench/ratio.py), with the load averages and versions.
#
#   bench/s3download.sh [SIZES_MIB] [RUNS]      defaults: "64 1024 4096", 15
#   SAMPLES=DIR      keep the raw samples (DIR/s3-SIZE.txt)
#   AGORA_BIN=PATH   measure this agora binary instead of building one
#   AGORA_FLAGS=...  extra `agora serve` flags for both servers
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sizes=${1:-64 1024 4096}
runs=${2:-15}
source "$root/bench/lib.sh" agora-s3bench

largest=0
for s in $sizes; do ((s > largest)) && largest=$s; done
if (($(free_mib "$work") < 3 * largest + 512)); then
	echo "need $((3 * largest + 512)) MiB free under $work (the file, and its copy in S3)" >&2
	exit 1
fi

"$root/scripts/services.sh" start >/dev/null
eval "$("$root/scripts/services.sh" env)"
schema="bench_$$"
bucket="agora-bench-$$"
oids=()
# s3 METHOD PATH: a signed request to the S3 server (curl signs SigV4).
s3() {
	curl -sf -X "$1" --aws-sigv4 "aws:amz:${AWS_REGION:-us-east-1}:s3" \
		--user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" "$AGORA_TEST_S3_ENDPOINT/$bucket$2" >/dev/null
}
# Gigabytes of objects must not outlive the run in the shared S3 server.
drop() {
	for o in "${oids[@]}"; do s3 DELETE "/objects/${o:0:2}/${o:2:2}/$o" || true; done
	s3 DELETE "" || true
	psql "$AGORA_TEST_PG" -qc "DROP SCHEMA $schema CASCADE" >/dev/null 2>&1 || true
	cleanup
}
psql "$AGORA_TEST_PG" -qc "CREATE SCHEMA $schema"
trap drop EXIT
db="$AGORA_TEST_PG&search_path=$schema"
blobs="s3://$bucket?endpoint=$AGORA_TEST_S3_ENDPOINT&region=us-east-1"

if [[ -n ${AGORA_BIN:-} ]]; then
	cp "$AGORA_BIN" "$work/agora"
else
	echo "building agora..." >&2
	(cd "$root" && go build -o "$work/agora" ./cmd/agora)
fi
p1=$(free_port)
p2=$(free_port)
tok=$("$work/agora" user add bench --db "$db" --blobs "$blobs" | tail -1)
# shellcheck disable=SC2086
"$work/agora" serve --db "$db" --blobs "$blobs" --addr "127.0.0.1:$p1" --log-level warn ${AGORA_FLAGS:-} 2>"$work/a1.log" &
pids+=($!)
# shellcheck disable=SC2086
"$work/agora" serve --db "$db" --blobs "$blobs" --addr "127.0.0.1:$p2" --log-level warn --blobs-proxy ${AGORA_FLAGS:-} 2>"$work/a2.log" &
proxy_pid=$!
pids+=($proxy_pid)
# nginx proxying to S3, buffered in memory (never to temp files), 1 MiB
# buffers: the best plain configuration measured.
s3host=${AGORA_TEST_S3_ENDPOINT#http://}
np=$(free_port)
start_nginx /nonexistent auto 1024 "server { listen 127.0.0.1:$np; location / { proxy_pass http://$s3host; proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_buffering on; proxy_buffer_size 1m; proxy_buffers 8 1m; proxy_busy_buffers_size 2m; proxy_max_temp_file_size 0; } }"
for p in $p1 $p2; do for _ in $(seq 100); do curl -sf "http://127.0.0.1:$p/readyz" >/dev/null && break; sleep 0.1; done; done
u1="http://127.0.0.1:$p1"
curl -sf -X POST -H "Authorization: Bearer $tok" "$u1/api/repos/create" -d '{"name":"b","organization":"bench"}' >/dev/null

weed_pid=$(cat "${AGORA_SVC_DIR:-/tmp/agora-svc}/s3/weed.pid" 2>/dev/null || true)
weed_version=$([[ -n $weed_pid ]] && "$(readlink "/proc/$weed_pid/exe")" version 2>/dev/null | awk '{print $3}' || echo '?')
echo "date:    $(date -u +%FT%TZ)"
echo "machine: $(nproc) cores, $(uname -r), load $(loadavg)"
echo "agora:   $(cd "$root" && git describe --always --dirty 2>/dev/null || echo '?'), $(go version | cut -d' ' -f3)${AGORA_FLAGS:+, flags: $AGORA_FLAGS}"
echo "s3:      SeaweedFS ${weed_version:-?} (weed mini, scripts/services.sh), metadata in PostgreSQL"
echo "client:  $(curl --version | head -1 | cut -d' ' -f1-2)"

mibs() { awk -v b="$1" -v t="$2" 'BEGIN { printf "%.1f", b / t / 1048576 }'; }
# fetch SERIES URL [curl args]: one download, appends "SERIES MiB/s".
fetch() {
	local name=$1 u=$2 want=$size out bytes t
	shift 2
	[[ $name == *range ]] && want=$((size - size / 2))
	out=$(curl -sf -o /dev/null -w '%{size_download} %{time_total}' "$@" "$u")
	read -r bytes t <<<"$out"
	if [[ $bytes != "$want" ]]; then
		echo "$name: got $bytes bytes, want $want" >&2
		exit 1
	fi
	echo "$name $(mibs "$bytes" "$t")" >>"$samples"
}

for size_mib in $sizes; do
	samples="$work/samples-$size_mib.txt"
	: >"$samples"
	echo "uploading $size_mib MiB..." >&2
	head -c $((size_mib * 1048576)) /dev/urandom >"$work/f.bin"
	size=$(stat -c %s "$work/f.bin")
	oid=$(sha256sum "$work/f.bin" | cut -d' ' -f1)
	oids+=("$oid")
	href=$(curl -sf -X POST -H "Authorization: Bearer $tok" "$u1/bench/b.git/info/lfs/objects/batch" \
		-d "{\"operation\":\"upload\",\"objects\":[{\"oid\":\"$oid\",\"size\":$size}]}" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["objects"][0]["actions"]["upload"]["href"])')
	curl -sf -T "$work/f.bin" -H 'Expect:' "$href" >/dev/null
	curl -sf -X POST -H "Authorization: Bearer $tok" "$u1/api/models/bench/b/commit/main" --data-binary \
		"{\"key\":\"header\",\"value\":{\"summary\":\"$size_mib\"}}
{\"key\":\"lfsFile\",\"value\":{\"path\":\"f.bin\",\"algo\":\"sha256\",\"oid\":\"$oid\",\"size\":$size}}" >/dev/null
	rm -f "$work/f.bin"
	res="$u1/bench/b/resolve/main/f.bin"
	prx="http://127.0.0.1:$p2/bench/b/resolve/main/f.bin"
	half="$((size / 2))-"

	load0=$(loadavg)
	reset_peak_rss "$proxy_pid"
	echo "downloading: $runs rotations..." >&2
	for i in $(seq "$runs"); do
		direct=$(curl -sf -o /dev/null -w '%{redirect_url}' "$res")
		kinds=(direct redirect proxied nginx)
		for j in 0 1 2 3; do
			case ${kinds[$(((i + j) % 4))]} in
			direct)
				fetch direct "$direct"
				fetch direct-range "$direct" -r "$half"
				;;
			redirect) fetch redirect "$res" -L ;;
			proxied)
				fetch proxied "$prx"
				fetch proxied-range "$prx" -r "$half"
				;;
			nginx)
				fetch nginx "http://127.0.0.1:$np/${direct#"$AGORA_TEST_S3_ENDPOINT"/}"
				fetch nginx-range "http://127.0.0.1:$np/${direct#"$AGORA_TEST_S3_ENDPOINT"/}" -r "$half"
				;;
			esac
		done
	done
	load1=$(loadavg)

	echo
	echo "== $size_mib MiB on S3: $runs rotations; load before $load0, after $load1; proxying server peak RSS $(peak_rss_mib "$proxy_pid") MiB"
	echo "   MiB/s: min / median / max; ratio of medians [95 % bootstrap interval]"
	python3 "$root/bench/ratio.py" "$samples" --goal 0.95 redirect/direct
	python3 "$root/bench/ratio.py" "$samples" --goal 0.9 proxied/direct proxied-range/direct-range
	python3 "$root/bench/ratio.py" "$samples" nginx/direct nginx-range/direct-range proxied/nginx
	if [[ -n ${SAMPLES:-} ]]; then
		mkdir -p "$SAMPLES"
		cp "$samples" "$SAMPLES/s3-$size_mib.txt"
	fi
done
