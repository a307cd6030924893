#!/usr/bin/env bash
# Git clone benchmark (issues 6 and 15): a repository of FILES small files
# and COMMITS commits is pushed to agora with git, then cloned from agora's
# smart HTTP and from `git http-backend` (Debian git, through the Go CGI
# wrapper bench/gitcgi) serving the same repository from disk. Prints, for
# bare clones, agora's first clone after a restart (cold: every object read
# and compressed) and its best (warm: compressed objects cached), git's
# best, and their ratios; then the best clone with checkout of each; and
# agora's peak RSS during the clones (VmHWM of a server restarted after the
# push, so the push does not count).
#
#   bench/gitclone.sh [FILES] [COMMITS] [RUNS]    defaults: 10000 200 3
#
# Loopback only; needs git, curl, python3 and go. AGORA_BIN=path uses a
# prebuilt agora binary instead of building one. With PROFILE=DIR, CPU
# profiles of the server during the cold clone and during the warm ones
# are saved in DIR (cold.pprof, warm.pprof), each PROFILE_SECONDS long
# (default 5) from the start of the clones.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
files=${1:-10000}
commits=${2:-200}
runs=${3:-3}
source "$root/bench/lib.sh" agora-gitbench
echo "building agora and gitcgi..." >&2
if [[ -n ${AGORA_BIN:-} ]]; then
	cp "$AGORA_BIN" "$work/agora"
else
	(cd "$root" && go build -o "$work/agora" ./cmd/agora)
fi
(cd "$root" && go build -o "$work/gitcgi" ./bench/gitcgi)

# An isolated git configuration (after the build, which needs the real HOME
# for Go's caches).
export HOME=$work/home GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0 GIT_LFS_SKIP_SMUDGE=1
mkdir -p "$HOME"
git config --global user.name bench
git config --global user.email bench@example.org
git config --global init.defaultBranch main

echo "making a repository of $files files and $commits commits..." >&2
src=$work/src
git init -q "$src"
# One fast-import stream: the first commit adds every file, each later one
# changes five of them.
python3 - "$files" "$commits" <<'PY' | git -C "$src" fast-import --quiet
import random, sys
n, commits = int(sys.argv[1]), int(sys.argv[2])
out = sys.stdout.buffer
content = {}
def blob(data):
    out.write(b"data %d\n" % len(data) + data + b"\n")
def path(i):
    return b"d%03d/f%05d.txt" % (i // 100, i)
random.seed(1)
for c in range(1, commits + 1):
    msg = b"commit %d\n" % c
    out.write(b"commit refs/heads/main\ncommitter bench <bench@example.org> %d +0000\n" % (1700000000 + c * 60))
    out.write(b"data %d\n" % len(msg) + msg)
    changed = range(n) if c == 1 else [random.randrange(n) for _ in range(5)]
    for i in changed:
        if c == 1:
            content[i] = b"file %d\n%s\n" % (i, b" ".join(b"%f" % random.random() for _ in range(20)))
        else:
            content[i] += b"commit %d\n" % c
        out.write(b"M 100644 inline " + path(i) + b"\n")
        blob(content[i])
    out.write(b"\n")
PY
git -C "$src" checkout -q main
mkdir -p "$work/srv"
git clone -q --bare "$src" "$work/srv/repo.git"

port=$(free_port)
url=http://127.0.0.1:$port
tok=$("$work/agora" user add bench --data "$work/data" | tail -1)
start_agora() {
	"$work/agora" serve --data "$work/data" --addr "127.0.0.1:$port" --log-level warn \
		${PROFILE:+--debug-addr 127.0.0.1:$((port + 1))} 2>>"${AGORA_LOG:-$work/agora.log}" &
	agora_pid=$!
	pids+=($agora_pid)
	for _ in $(seq 100); do curl -sf "$url/readyz" >/dev/null && break; sleep 0.1; done
}
start_agora
curl -sf -X POST -H "Authorization: Bearer $tok" "$url/api/repos/create" -d '{"name":"repo","organization":"bench"}' >/dev/null
curl -sf -X PUT -H "Authorization: Bearer $tok" "$url/api/models/bench/repo/settings" -d '{"allowForcePush":true}' >/dev/null
echo "pushing to agora..." >&2
t0=$(now)
git -C "$src" -c http.extraHeader="Authorization: Bearer $tok" push -q --force "$url/bench/repo" main
t1=$(now)
push_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
# The push queues a security scan of every file; the clones are measured
# once the queue is empty, as http-backend scans nothing (how long the
# scans took is printed).
t0=$(now)
for _ in $(seq 1800); do
	curl -sf "$url/api/models/bench/repo?securityStatus=1" | grep -q '"scansDone":true' && break
	sleep 1
done
t1=$(now)
scan_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }')
kill "$agora_pid"; wait "$agora_pid" 2>/dev/null || true
start_agora
rss0=$(awk '/VmRSS/ { print $2 }' "/proc/$agora_pid/status")

cgiport=$(free_port)
"$work/gitcgi" -addr "127.0.0.1:$cgiport" -root "$work/srv" 2>>"$work/gitcgi.log" &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$cgiport/repo.git/info/refs?service=git-upload-pack" >/dev/null && break; sleep 0.1; done

best() { sort -n | head -1; }
clone_times() { # URL
	for r in $(seq "$runs"); do
		rm -rf "$work/clone"
		local a b
		a=$(now)
		git clone -q --bare "$1" "$work/clone"
		b=$(now)
		awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f\n", b - a }'
	done
}
# profile NAME: a CPU profile of the server for the next PROFILE_SECONDS
# (default 5) seconds; stop_profile waits for it.
profile() {
	[[ -n ${PROFILE:-} ]] || return 0
	mkdir -p "$PROFILE"
	curl -sf -o "$PROFILE/$1.pprof" "http://127.0.0.1:$((port + 1))/debug/pprof/profile?seconds=${PROFILE_SECONDS:-5}" &
	prof_pid=$!
	sleep 0.2
}
stop_profile() {
	[[ -n ${PROFILE:-} ]] || return 0
	wait "$prof_pid" || true
}
echo "cloning ($runs runs each)..." >&2
profile cold
agora_cold=$(runs=1 clone_times "$url/bench/repo")
stop_profile
profile warm
agora_warm=$(clone_times "$url/bench/repo")
stop_profile
agora_all=$(printf '%s\n%s\n' "$agora_cold" "$agora_warm")
agora_t=$(best <<<"$agora_warm")
got=$(git -C "$work/clone" rev-list --count main)
[[ $got == "$commits" ]] || { echo "agora clone has $got commits, want $commits" >&2; exit 1; }
git -C "$work/clone" fsck --no-progress >/dev/null
git_t=$(clone_times "http://127.0.0.1:$cgiport/repo.git" | best)
checkout_times() { # URL
	for r in $(seq "$runs"); do
		rm -rf "$work/checkout"
		local a b
		a=$(now)
		git clone -q "$1" "$work/checkout"
		b=$(now)
		awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f\n", b - a }'
	done
}
agora_co=$(checkout_times "$url/bench/repo" | best)
git_co=$(checkout_times "http://127.0.0.1:$cgiport/repo.git" | best)
hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$agora_pid/status")
objects=$(git -C "$work/srv/repo.git" rev-list --objects --all | wc -l)

printf 'repository:              %d files, %d commits, %d objects\n' "$files" "$commits" "$objects"
printf 'push to agora:           %s s (then %s s until every file was scanned)\n' "$push_s" "$scan_s"
printf 'bare clone from agora, cold:  %s s (first clone after a restart)\n' "$agora_cold"
printf 'bare clone from agora, warm:  %s s (best of %d after the cold one)\n' "$agora_t" "$runs"
printf 'bare clone from http-backend: %s s (best of %d)\n' "$git_t" "$runs"
awk -v c="$agora_cold" -v a="$agora_t" -v g="$git_t" 'BEGIN { printf "time ratio agora/git:    cold %.2f, warm %.2f (goal <= 1.2)\n", c / g, a / g }'
printf 'clone with checkout:     agora %s s, http-backend %s s (best of %d)\n' "$agora_co" "$git_co" "$runs"
awk -v a="$agora_co" -v g="$git_co" 'BEGIN { printf "checkout ratio agora/git: %.2f (goal <= 1.1)\n", a / g }'
printf 'agora RSS: %d MiB idle, peak %d MiB during the clones (VmHWM)\n' $((rss0 / 1024)) $((hwm / 1024))
