#!/usr/bin/env bash
# Start/stop the real services the tests use, on loopback only:
#   - PostgreSQL 15 (Debian package), a throwaway cluster (initdb + pg_ctl);
#   - SeaweedFS `weed mini` as an S3 server (built by scripts/build-weed.sh);
# and install the Debian tools tests need (only the missing ones).
#
#   scripts/services.sh start        # install missing packages, start both, wait until ready
#   scripts/services.sh start pg|s3  # only one of them
#   eval "$(scripts/services.sh env)"
#   scripts/services.sh status
#   scripts/services.sh stop         # stop both and delete their data
#   scripts/services.sh install      # only install the missing Debian packages
#
# `env` prints: AGORA_TEST_PG, AGORA_TEST_S3_ENDPOINT, AGORA_TEST_S3_BUCKET,
# AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION.
#
# Settings (env):
#   AGORA_SVC_DIR      data, logs and state (default /tmp/agora-svc; root: must
#                      be traversable by the postgres user)
#   AGORA_PG_PORT      PostgreSQL TCP port (default 25432)
#   AGORA_S3_PORT      S3 port (default 28333); weed also uses the next 9 ports
#   If a port is taken by something else, the next free one (block) is used
#   and `env` reports it. Defaults are below Linux's ephemeral port range
#   (32768-60999), so an outgoing connection cannot be holding them.
#   AGORA_WEED         a weed binary to use instead of building one
#   AGORA_SVC_NO_INSTALL=1  never run apt-get
#   AGORA_APT_PACKAGES      override the list of Debian packages
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SVC_DIR=${AGORA_SVC_DIR:-/tmp/agora-svc}
PG_PORT_DEFAULT=${AGORA_PG_PORT:-25432}
S3_PORT_DEFAULT=${AGORA_S3_PORT:-28333}
PG_USER=agora
PG_PASS=agora
PG_DB=agora
S3_ACCESS_KEY=agoratestaccesskey
S3_SECRET_KEY=agoratestsecretkey
S3_BUCKET=agora-test
S3_REGION=us-east-1
PG_MAJOR=15
APT_PACKAGES=${AGORA_APT_PACKAGES:-"postgresql-$PG_MAJOR curl ca-certificates git git-lfs nginx chromium fonts-liberation wrk hyperfine"}

PG_DIR=$SVC_DIR/pg
PG_DATA=$PG_DIR/data
PG_SOCK=$PG_DIR/sock
S3_DIR=$SVC_DIR/s3

log() { echo "services: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

# port_busy PORT: true if something accepts TCP connections on 127.0.0.1:PORT
# or the port cannot be bound (checked by connecting: no extra tools needed).
port_busy() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

state_get() { # state_get KEY -> value from $SVC_DIR/state
	[[ -f $SVC_DIR/state ]] || return 1
	awk -F= -v k="$1" '$1 == k { print substr($0, length(k) + 2); found = 1 } END { exit !found }' "$SVC_DIR/state"
}
state_set() { # state_set KEY VALUE
	local tmp=$SVC_DIR/state.tmp
	{
		[[ -f $SVC_DIR/state ]] && grep -v "^$1=" "$SVC_DIR/state" || true
		echo "$1=$2"
	} >"$tmp"
	mv -f "$tmp" "$SVC_DIR/state"
}

# ---------------------------------------------------------------- packages --

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
	if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO=(sudo -n); else SUDO=(); fi
fi

pkg_installed() {
	[[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

install_packages() {
	[[ ${AGORA_SVC_NO_INSTALL:-} == 1 ]] && return 0
	command -v dpkg-query >/dev/null || {
		log "not a Debian system: skipping package install"
		return 0
	}
	local missing=() p
	for p in $APT_PACKAGES; do
		pkg_installed "$p" || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	if [[ $(id -u) -ne 0 && ${#SUDO[@]} -eq 0 ]]; then
		log "warning: missing packages ${missing[*]} and no root/sudo: not installing"
		return 0
	fi
	local t0
	t0=$(now)
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	"${SUDO[@]}" apt-get update -q >/dev/null
	"${SUDO[@]}" apt-get install -y -q --no-install-recommends -o Dpkg::Use-Pty=0 "${missing[@]}" >/dev/null
	log "installed packages in $(since "$t0")"
}

# -------------------------------------------------------------- PostgreSQL --

pg_bindir() {
	if [[ -n ${AGORA_PG_BINDIR:-} ]]; then echo "$AGORA_PG_BINDIR"; return; fi
	if [[ -x /usr/lib/postgresql/$PG_MAJOR/bin/initdb ]]; then echo "/usr/lib/postgresql/$PG_MAJOR/bin"; return; fi
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
	[[ -n $d ]] && { echo "$d"; return; }
	d=$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/x)")
	[[ -x $d/initdb ]] && { echo "$d"; return; }
	return 1
}

# as_pg CMD...: run as the cluster owner (postgres when we are root).
as_pg() {
	# cd /: the postgres user may not be able to read the caller's directory.
	if [[ $(id -u) -eq 0 ]]; then
		if command -v runuser >/dev/null; then
			(cd / && runuser -u postgres -- "$@")
		else
			(cd / && su postgres -s /bin/sh -c "$(printf '%q ' "$@")")
		fi
	else
		(cd / && "$@")
	fi
}

pg_running() { # our cluster's postmaster is alive and answers on its port
	local port pid
	port=$(state_get pg_port) || return 1
	[[ -f $PG_DATA/postmaster.pid ]] || return 1
	pid=$(head -n1 "$PG_DATA/postmaster.pid")
	[[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
	[[ $(cat "/proc/$pid/comm" 2>/dev/null) == postgres ]] || return 1
	"$BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -t 2
}

pg_start() {
	local t0 port
	t0=$(now)
	BIN=$(pg_bindir) || die "PostgreSQL server binaries not found (install postgresql-$PG_MAJOR)"
	if pg_running; then
		log "postgres already running on port $(state_get pg_port)"
		return 0
	fi
	pg_stop_quiet
	if [[ $(id -u) -eq 0 ]]; then
		id postgres >/dev/null 2>&1 || die "running as root needs the postgres user (from the postgresql package)"
	fi

	port=$PG_PORT_DEFAULT
	while port_busy "$port"; do
		log "port $port is in use, trying $((port + 1))"
		port=$((port + 1))
		((port < PG_PORT_DEFAULT + 50)) || die "no free port for postgres near $PG_PORT_DEFAULT"
	done

	rm -rf "$PG_DIR"
	mkdir -p "$PG_DATA" "$PG_SOCK"
	chmod 700 "$PG_DATA"
	if [[ $(id -u) -eq 0 ]]; then
		chown -R postgres: "$PG_DIR"
		as_pg test -w "$PG_DIR" || die "the postgres user cannot reach $PG_DIR: use an AGORA_SVC_DIR it can traverse"
	fi
	as_pg "$BIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 --locale=C \
		--auth-local=trust --auth-host=scram-sha-256 --no-sync >"$PG_DIR/initdb.log" 2>&1 ||
		{ cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
	# Throwaway cluster: durability off for speed; loopback only.
	cat >>"$PG_DATA/postgresql.conf" <<-EOF
		listen_addresses = '127.0.0.1'
		port = $port
		unix_socket_directories = '$PG_SOCK'
		max_connections = 200
		fsync = off
		synchronous_commit = off
		full_page_writes = off
	EOF
	# 8>&-: the daemon must not inherit (and so hold) our lock.
	as_pg "$BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DIR/postgres.log" -w -t 60 start >/dev/null 8>&- ||
		{ tail -n 30 "$PG_DIR/postgres.log" >&2; die "postgres did not start"; }
	state_set pg_port "$port"

	local psql=("$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$port" -U postgres -d postgres)
	"${psql[@]}" -c "CREATE ROLE $PG_USER LOGIN CREATEDB CREATEROLE PASSWORD '$PG_PASS'" >/dev/null
	"${psql[@]}" -c "CREATE DATABASE $PG_DB OWNER $PG_USER" >/dev/null
	"$BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -t 10 || die "pg_isready failed"
	# Check the password login over TCP, as tests will do.
	PGPASSWORD=$PG_PASS "$BIN/psql" -X -q -h 127.0.0.1 -p "$port" -U "$PG_USER" -d "$PG_DB" -tAc 'SELECT 1' >/dev/null ||
		die "cannot log in as $PG_USER over TCP"
	log "postgres $("$BIN/postgres" -V | awk '{print $3}') ready on 127.0.0.1:$port in $(since "$t0")"
}

pg_stop_quiet() {
	local bin pid
	[[ -d $PG_DATA ]] || return 0
	if [[ -f $PG_DATA/postmaster.pid ]]; then
		pid=$(head -n1 "$PG_DATA/postmaster.pid")
		if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == postgres ]]; then
			bin=$(pg_bindir || true)
			if [[ -n $bin ]]; then
				as_pg "$bin/pg_ctl" -D "$PG_DATA" -m immediate -w -t 20 stop >/dev/null 2>&1 || true
			fi
			if kill -0 "$pid" 2>/dev/null; then
				kill -QUIT "$pid" 2>/dev/null || true
				for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
				kill -KILL "$pid" 2>/dev/null || true
			fi
		fi
		rm -f "$PG_DATA/postmaster.pid" # stale or stopped
	fi
}

# ---------------------------------------------------------------------- S3 --

# s3_code PORT METHOD PATH [curl args]: prints the HTTP status code.
s3_code() {
	local port=$1 method=$2 path=$3
	shift 3
	curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
		--aws-sigv4 "aws:amz:$S3_REGION:s3" -u "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
		-X "$method" "$@" "http://127.0.0.1:$port$path" 2>/dev/null || true
}

weed_pid_alive() {
	local pid
	pid=$(cat "$S3_DIR/weed.pid" 2>/dev/null) || return 1
	[[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
	# Guard against a recycled pid: it must be a weed process.
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'weed[^ ]* .*mini' || return 1
	echo "$pid"
}

s3_running() {
	local port
	port=$(state_get s3_port) || return 1
	weed_pid_alive >/dev/null || return 1
	[[ $(s3_code "$port" GET /) == 200 ]]
}

s3_start() {
	local t0 weed port p i code
	t0=$(now)
	if s3_running; then
		log "s3 already running on port $(state_get s3_port)"
		return 0
	fi
	s3_stop_quiet
	command -v curl >/dev/null || die "curl is needed"

	if [[ -n ${AGORA_WEED:-} ]]; then
		weed=$AGORA_WEED
	else
		weed=$("$root/scripts/build-weed.sh")
	fi
	[[ -x $weed ]] || die "weed binary not found: $weed"

	# weed uses ports port..port+9; find a block that is entirely free.
	port=$S3_PORT_DEFAULT
	for ((i = 0; ; i++)); do
		((i < 20)) || die "no free port block for s3 near $S3_PORT_DEFAULT"
		local busy=
		for p in $(seq "$port" $((port + 9))); do
			if port_busy "$p"; then busy=$p; break; fi
		done
		[[ -z $busy ]] && break
		log "port $busy is in use, trying ports from $((port + 10))"
		port=$((port + 10))
	done

	rm -rf "$S3_DIR"
	mkdir -p "$S3_DIR/data"
	cat >"$S3_DIR/s3.json" <<-EOF
		{
		  "identities": [
		    {
		      "name": "agora",
		      "credentials": [{"accessKey": "$S3_ACCESS_KEY", "secretKey": "$S3_SECRET_KEY"}],
		      "actions": ["Admin", "Read", "List", "Tagging", "Write"]
		    }
		  ]
		}
	EOF
	# Clean environment for weed: it would otherwise add AWS_* from the
	# environment as an extra admin identity.
	(
		cd "$S3_DIR"
		# setsid: own session, so a Ctrl-C or a killed process group of the
		# caller does not take weed down. The pid file is written by the
		# shell that then execs weed (setsid may fork).
		exec env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u S3_BUCKET \
			setsid bash -c 'echo $$ >"$0"; exec "$@"' "$S3_DIR/weed.pid" "$weed" -logtostderr -v=0 mini \
			-dir="$S3_DIR/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
			-s3.port="$port" -master.port=$((port + 1)) -master.port.grpc=$((port + 2)) \
			-volume.port=$((port + 3)) -volume.port.grpc=$((port + 4)) \
			-filer.port=$((port + 5)) -filer.port.grpc=$((port + 6)) -s3.port.grpc=$((port + 7)) \
			-admin.port=$((port + 8)) -admin.port.grpc=$((port + 9)) -admin.port.legacy=0 -admin.ui=false \
			-s3.port.iceberg=0 -s3.port.lance=0 -webdav=false -master.telemetry=false \
			-s3.config="$S3_DIR/s3.json" \
			-filer.localSocket="$S3_DIR/filer.sock" -s3.localSocket="$S3_DIR/s3.sock" \
			</dev/null >"$S3_DIR/weed.log" 2>&1 8>&- &
	)
	for _ in $(seq 50); do [[ -s $S3_DIR/weed.pid ]] && break; sleep 0.1; done
	state_set s3_port "$port"

	# Ready = signed ListBuckets works, the bucket exists and a PutObject
	# succeeds (the first write waits for the filer to join the cluster).
	local deadline=$((SECONDS + 90)) step=list
	while :; do
		weed_pid_alive >/dev/null || { tail -n 30 "$S3_DIR/weed.log" >&2; die "weed exited"; }
		case $step in
		list) [[ $(s3_code "$port" GET /) == 200 ]] && step=bucket ;;
		bucket)
			code=$(s3_code "$port" PUT "/$S3_BUCKET")
			[[ $code == 200 || $code == 409 ]] && step=put
			;;
		put)
			# -T, not --data-binary: curl 7.88's --aws-sigv4 signs form posts wrongly.
			if [[ $(s3_code "$port" PUT "/$S3_BUCKET/.agora-ready" -T "$S3_DIR/s3.json") == 200 ]]; then
				s3_code "$port" DELETE "/$S3_BUCKET/.agora-ready" >/dev/null
				break
			fi
			;;
		esac
		((SECONDS < deadline)) || { tail -n 30 "$S3_DIR/weed.log" >&2; die "s3 not ready (step $step) after 90s"; }
		sleep 0.2
	done
	log "s3 (weed $("$weed" version 2>/dev/null | awk '{print $3}')) ready on http://127.0.0.1:$port in $(since "$t0")"
}

s3_stop_quiet() {
	local pid
	if pid=$(weed_pid_alive); then
		# Data is thrown away, so do not wait for weed's slow graceful shutdown.
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
		for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	fi
	rm -f "$S3_DIR/weed.pid"
}

# ------------------------------------------------------------------ verbs --

print_env() {
	local pg s3
	pg=$(state_get pg_port || true)
	s3=$(state_get s3_port || true)
	[[ -n $pg || -n $s3 ]] || die "services not started (no $SVC_DIR/state); run: scripts/services.sh start"
	if [[ -n $pg ]]; then
		echo "export AGORA_TEST_PG='postgres://$PG_USER:$PG_PASS@127.0.0.1:$pg/$PG_DB?sslmode=disable'"
	fi
	if [[ -n $s3 ]]; then
		echo "export AGORA_TEST_S3_ENDPOINT='http://127.0.0.1:$s3'"
		echo "export AGORA_TEST_S3_BUCKET='$S3_BUCKET'"
		echo "export AWS_ACCESS_KEY_ID='$S3_ACCESS_KEY'"
		echo "export AWS_SECRET_ACCESS_KEY='$S3_SECRET_KEY'"
		echo "export AWS_REGION='$S3_REGION'"
	fi
}

lock() {
	mkdir -p "$SVC_DIR"
	chmod 755 "$SVC_DIR"
	exec 8>"$SVC_DIR/.lock"
	flock 8
}

cmd=${1:-}
what=${2:-all}
case $what in all | pg | s3) ;; *) die "unknown service $what (all|pg|s3)" ;; esac

case $cmd in
start)
	lock
	t0=$(now)
	install_packages
	if [[ $what == all || $what == pg ]]; then pg_start; fi
	if [[ $what == all || $what == s3 ]]; then s3_start; fi
	log "started in $(since "$t0")"
	;;
stop)
	[[ -d $SVC_DIR ]] || exit 0
	lock
	if [[ $what == all || $what == pg ]]; then
		pg_stop_quiet
		rm -rf "$PG_DIR"
		[[ -f $SVC_DIR/state ]] && { grep -v '^pg_port=' "$SVC_DIR/state" >"$SVC_DIR/state.tmp" || true; mv -f "$SVC_DIR/state.tmp" "$SVC_DIR/state"; }
	fi
	if [[ $what == all || $what == s3 ]]; then
		s3_stop_quiet
		rm -rf "$S3_DIR"
		[[ -f $SVC_DIR/state ]] && { grep -v '^s3_port=' "$SVC_DIR/state" >"$SVC_DIR/state.tmp" || true; mv -f "$SVC_DIR/state.tmp" "$SVC_DIR/state"; }
	fi
	if [[ $what == all ]]; then
		rm -f "$SVC_DIR/state" "$SVC_DIR/state.tmp" "$SVC_DIR/.lock"
		rmdir "$SVC_DIR" 2>/dev/null || true
	fi
	log "stopped"
	;;
env)
	print_env
	;;
status)
	rc=0
	BIN=$(pg_bindir || true)
	if [[ -n $BIN ]] && pg_running; then echo "pg: running on 127.0.0.1:$(state_get pg_port)"; else echo "pg: stopped"; rc=1; fi
	if s3_running; then echo "s3: running on http://127.0.0.1:$(state_get s3_port)"; else echo "s3: stopped"; rc=1; fi
	exit $rc
	;;
install)
	install_packages
	;;
*)
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
	;;
esac
