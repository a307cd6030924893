# Sourced by the benchmark scripts: `source "$root/bench/lib.sh" PREFIX`
# gives a scratch directory $work, removed on exit together with every
# background process whose pid was added to $pids, and small helpers.
work=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
# The load averages (1, 5, 15 min), recorded next to every figure: on a
# shared 2-core machine they say how far a run is to be trusted.
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
# free_mib DIR: free space of DIR's filesystem in MiB.
free_mib() { df --output=avail -B1M "$1" | tail -1 | tr -d ' '; }
# peak_rss_mib PID: the process's peak resident set so far (VmHWM), in MiB.
peak_rss_mib() { awk '/^VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
# reset_peak_rss PID: start a new peak (Linux clear_refs 5).
reset_peak_rss() { echo 5 >"/proc/$1/clear_refs" 2>/dev/null || true; }
# agora_binary: $work/agora, a copy of $AGORA_BIN or built from this tree.
agora_binary() {
	if [[ -n ${AGORA_BIN:-} ]]; then
		cp "$AGORA_BIN" "$work/agora"
	else
		echo "building agora..." >&2
		(cd "$root" && go build -o "$work/agora" ./cmd/agora)
	fi
}
# start_bench_hub [SERVE_FLAGS...]: agora_binary, then `agora serve` on
# $work/data with a user "bench" (token $tok) and a model bench/bench;
# sets port, url, tok and agora_pid.
start_bench_hub() {
	agora_binary
	port=$(free_port)
	url="http://127.0.0.1:$port"
	tok=$("$work/agora" user add bench --data "$work/data" | tail -1)
	"$work/agora" serve --data "$work/data" --addr "127.0.0.1:$port" "$@" 2>"$work/agora.log" &
	agora_pid=$!
	pids+=($agora_pid)
	for _ in $(seq 100); do curl -sf "$url/readyz" >/dev/null && break; sleep 0.1; done
	curl -sf -X POST -H "Authorization: Bearer $tok" "$url/api/repos/create" -d '{"name":"bench","organization":"bench"}' >/dev/null
}
# start_nginx ROOT WORKERS CONNECTIONS [HTTP_DIRECTIVES]: nginx serving
# ROOT on loopback port $nport with sendfile on and tcp_nopush on (the
# baseline every download benchmark compares with). $NGINX names the
# binary (default: nginx, else /usr/sbin/nginx).
start_nginx() {
	command -v "${NGINX:-nginx}" >/dev/null || NGINX=/usr/sbin/nginx
	NGINX=${NGINX:-nginx}
	nport=$(free_port)
	mkdir -p "$work/nginx/logs"
	local userline=""
	[[ $(id -u) == 0 ]] && userline="user $(id -un) $(id -gn);" # workers must read our files
	cat >"$work/nginx/nginx.conf" <<CONF
$userline
worker_processes $2;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections $3; }
http {
  access_log off;
  sendfile on; tcp_nopush on; ${4:-}
  server { listen 127.0.0.1:$nport; root $1; }
}
CONF
	"$NGINX" -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' &
	pids+=($!)
	for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$nport/" && break; sleep 0.1; done
}
