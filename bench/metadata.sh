#!/usr/bin/env bash
# Metadata benchmark (issue 15): the requests every download starts with,
# against nginx serving the identical bytes as static files, in one run.
#
# A fresh embedded hub gets one small model repository (a card, a
# config.json, a tokenizer, a safetensors LFS file); then wrk drives, for
# each endpoint in turn, agora and nginx (serving the body agora returned,
# saved to a file) with the same connections:
#   model_info   GET  /api/models/bench/bench
#   paths-info   POST /api/models/bench/bench/paths-info/main (nginx: GET of the same JSON)
#   tree         GET  /api/models/bench/bench/tree/main
#   resolve HEAD HEAD /bench/bench/resolve/main/config.json (nginx: HEAD of the file)
# and prints req/s, p50 and p99 of both and their ratio (goal: agora at
# least 0.3x nginx, p99 < 10 ms).
#
#   bench/metadata.sh [DURATION] [CONNECTIONS]   defaults: 10s, 16
#
# With PROFILE=DIR, a CPU profile of the server is saved in DIR for each
# endpoint's agora run (go tool pprof DIR/model_info.pprof), with what it
# allocated in DIR/model_info.allocs.pprof (-sample_index=alloc_space).
#
# With BASE=BINARY, a second agora (say, built from the last commit) serves
# the same data in the same run, driven right after this tree's build, so
# that a change is measured against its baseline under the same load.
# "cpu us" is the server's CPU time (user + system) per request: on a
# busy machine it moves far less than the rates.
# Needs wrk and nginx (scripts/services.sh installs both), curl, go. HEAD
# requests go through bench/httpload (wrk cannot time them), so compare
# that row with itself only.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dur=${1:-10s}
conns=${2:-16}
source "$root/bench/lib.sh" agora-meta-bench

command -v wrk >/dev/null || { echo "wrk not found (scripts/services.sh installs it)" >&2; exit 1; }

echo "building agora..." >&2
(cd "$root" && go build -o "$work/agora" ./cmd/agora)
port=$(free_port)
url="http://127.0.0.1:$port"
tok=$("$work/agora" user add bench --data "$work/data" | tail -1)
# No rate limits or connection caps: the load comes from one address.
"$work/agora" serve --data "$work/data" --addr "127.0.0.1:$port" --log-level warn \
	--rate-limit-anon off --rate-limit-user off --max-conns-per-ip 0 ${PROFILE:+--debug-addr 127.0.0.1:$((port + 1))} 2>"$work/agora.log" &
apid=$!
pids+=($apid)
for _ in $(seq 100); do curl -sf "$url/readyz" >/dev/null && break; sleep 0.1; done

auth=(-H "Authorization: Bearer $tok")
curl -sf -X POST "${auth[@]}" "$url/api/repos/create" -d '{"name":"bench","organization":"bench"}' >/dev/null
# A safetensors header (one F32 tensor of 4 values) as the LFS file.
python3 - "$work/model.safetensors" <<'EOF'
import json, struct, sys
h = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
open(sys.argv[1], "wb").write(struct.pack("<Q", len(h)) + h + b"\0" * 16)
EOF
oid=$(sha256sum "$work/model.safetensors" | cut -d' ' -f1)
size=$(stat -c %s "$work/model.safetensors")
href=$(curl -sf -X POST "${auth[@]}" -H 'Content-Type: application/vnd.git-lfs+json' "$url/bench/bench.git/info/lfs/objects/batch" \
	-d "{\"operation\":\"upload\",\"transfers\":[\"basic\"],\"objects\":[{\"oid\":\"$oid\",\"size\":$size}]}" |
	python3 -c 'import json,sys; a=json.load(sys.stdin)["objects"][0].get("actions"); print(a["upload"]["href"] if a else "")')
[[ -n $href ]] && curl -sf -T "$work/model.safetensors" "$href" >/dev/null
python3 - "$work/commit.ndjson" "$oid" "$size" <<'EOF'
import base64, json, sys
out, oid, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
files = {
    "README.md": "---\nlicense: mit\npipeline_tag: text-generation\ntags: [bench]\n---\n# bench\n",
    "config.json": json.dumps({"model_type": "llama", "architectures": ["LlamaForCausalLM"]}),
    "tokenizer.json": json.dumps({"version": "1.0", "model": {"type": "BPE"}}),
    "generation_config.json": "{}",
}
with open(out, "w") as f:
    f.write(json.dumps({"key": "header", "value": {"summary": "bench"}}) + "\n")
    for p, c in files.items():
        f.write(json.dumps({"key": "file", "value": {"path": p, "encoding": "base64", "content": base64.b64encode(c.encode()).decode()}}) + "\n")
    f.write(json.dumps({"key": "lfsFile", "value": {"path": "model.safetensors", "algo": "sha256", "oid": oid, "size": size}}) + "\n")
EOF
curl -sf -X POST "${auth[@]}" -H 'Content-Type: application/x-ndjson' "$url/api/models/bench/bench/commit/main" --data-binary "@$work/commit.ndjson" >/dev/null

if [[ -n ${BASE:-} ]]; then
	bport=$(free_port)
	burl="http://127.0.0.1:$bport"
	"$BASE" serve --data "$work/data" --addr "127.0.0.1:$bport" --log-level warn \
		--rate-limit-anon off --rate-limit-user off --max-conns-per-ip 0 2>"$work/base.log" &
	bpid=$!
	pids+=($bpid)
	for _ in $(seq 100); do curl -sf "$burl/readyz" >/dev/null && break; sleep 0.1; done
fi

# The bodies nginx will serve: exactly what agora answers.
mkdir -p "$work/static"
curl -sf "$url/api/models/bench/bench" -o "$work/static/info.json"
curl -sf -X POST "$url/api/models/bench/bench/paths-info/main" -H 'Content-Type: application/json' \
	-d '{"paths":["config.json","model.safetensors"],"expand":true}' -o "$work/static/paths-info.json"
curl -sf "$url/api/models/bench/bench/tree/main" -o "$work/static/tree.json"
curl -sf "$url/bench/bench/resolve/main/config.json" -o "$work/static/config.json"

start_nginx "$work/static" 1 1024 'keepalive_requests 1000000; default_type application/json;'
nurl="http://127.0.0.1:$nport"

cat >"$work/post.lua" <<'EOF'
wrk.method = "POST"
wrk.body = '{"paths":["config.json","model.safetensors"],"expand":true}'
wrk.headers["Content-Type"] = "application/json"
EOF
echo 'wrk.method = "HEAD"' >"$work/head.lua"
: >"$work/get.lua"

# wrk waits for the body a HEAD answer announces: HEAD goes through a
# small Go load generator instead (for agora and nginx alike).
(cd "$root" && go build -o "$work/httpload" ./bench/httpload)

# bench NAME SCRIPT URL: req/s, p50 (ms), p99 (ms) of one wrk run.
bench() {
	local out
	if [[ $2 == "$work/head.lua" ]]; then
		"$work/httpload" -X HEAD -c "$conns" -d "$dur" "$3"
		return
	fi
	out=$(wrk -t2 -c"$conns" -d"$dur" --latency -s "$2" "$3")
	if grep -q "Non-2xx" <<<"$out"; then echo "$1: non-2xx answers from $3" >&2; echo "$out" >&2; exit 1; fi
	awk '
		function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
		/Requests\/sec/ { rps = $2 }
		$1 == "50%" { p50 = ms($2) }
		$1 == "99%" { p99 = ms($2) }
		END { printf "%.0f %.2f %.2f\n", rps, p50, p99 }' <<<"$out"
}

# cpu PID: the process's CPU time so far (user + system), in clock ticks.
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
secs=${dur%s}

echo
echo "wrk -t2 -c$conns -d$dur, loopback; nginx serves agora's own answer bytes; load $(loadavg)"
hdr=$(printf '%-13s %9s %8s %8s %7s' endpoint "agora r/s" "p50 ms" "p99 ms" "cpu us")
[[ -z ${BASE:-} ]] || hdr+=$(printf '   %9s %8s %7s' "base r/s" "p99 ms" "cpu us")
hdr+=$(printf '   %9s %8s %8s   %6s' "nginx r/s" "p50 ms" "p99 ms" ratio)
[[ -z ${BASE:-} ]] || hdr+=$(printf ' %6s' "base")
echo "$hdr"
# measure PID NAME SCRIPT URL: r/s, p50, p99 and CPU us per request.
measure() {
	local c0 c1 r p50 p99
	c0=$(cpu "$1")
	read -r r p50 p99 <<<"$(bench "$2" "$3" "$4")"
	c1=$(cpu "$1")
	echo "$r $p50 $p99 $(awk -v c=$((c1 - c0)) -v hz="$hz" -v r="$r" -v d="$secs" 'BEGIN{printf "%.0f", c / hz * 1e6 / (r * d)}')"
}
row() {
	local prof="" line
	if [[ -n ${PROFILE:-} ]]; then
		mkdir -p "$PROFILE"
		curl -sf -o "$PROFILE/$1.pprof" "http://127.0.0.1:$((port + 1))/debug/pprof/profile?seconds=${dur%s}" &
		prof=$!
		curl -sf -o "$PROFILE/$1.allocs.pprof" "http://127.0.0.1:$((port + 1))/debug/pprof/allocs?seconds=${dur%s}" &
		prof+=" $!"
	fi
	read -r ar ap50 ap99 acpu <<<"$(measure "$apid" "$1" "$2" "$url$3")"
	[[ -z $prof ]] || wait $prof || true
	line=$(printf '%-13s %9s %8s %8s %7s' "$1" "$ar" "$ap50" "$ap99" "$acpu")
	if [[ -n ${BASE:-} ]]; then
		read -r br _ bp99 bcpu <<<"$(measure "$bpid" "$1" "$2" "$burl$3")"
		line+=$(printf '   %9s %8s %7s' "$br" "$bp99" "$bcpu")
	fi
	read -r nr np50 np99 <<<"$(bench "$1" "$4" "$5")"
	line+=$(printf '   %9s %8s %8s   %6.2f' "$nr" "$np50" "$np99" "$(awk -v a="$ar" -v b="$nr" 'BEGIN{print a/b}')")
	[[ -z ${BASE:-} ]] || line+=$(printf ' %6.2f' "$(awk -v a="$br" -v b="$nr" 'BEGIN{print a/b}')")
	echo "$line"
}
row model_info "$work/get.lua" "/api/models/bench/bench" "$work/get.lua" "$nurl/info.json"
row paths-info "$work/post.lua" "/api/models/bench/bench/paths-info/main" "$work/get.lua" "$nurl/paths-info.json"
row tree "$work/get.lua" "/api/models/bench/bench/tree/main" "$work/get.lua" "$nurl/tree.json"
row resolve-HEAD "$work/head.lua" "/bench/bench/resolve/main/config.json" "$work/head.lua" "$nurl/config.json"
echo "(goal: ratio >= 0.3 and agora p99 < 10 ms; load after: $(loadavg))"
