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
