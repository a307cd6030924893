#!/usr/bin/env bash
# Make (or reuse) one Python virtualenv per lock file in e2e/python/*.txt,
# for the end-to-end tests with the Python clients as users install them
# from PyPI (huggingface_hub, hf_xet, transformers, datasets…).
#
#   scripts/pyenv.sh              make/reuse every env, print NAME=PATH,… on stdout
#   scripts/pyenv.sh hub2 hub036  only these
#
# Used by scripts/test.sh as
#   AGORA_E2E_PYENVS=$(scripts/pyenv.sh); export AGORA_E2E_PYENVS
# and by e2e/python_test.go itself when AGORA_E2E_PYENVS is unset.
#
# A venv lives in ~/.cache/agora/venv/NAME-HASH, HASH covering the lock file
# and the interpreter, so a changed lock or Python gets a new venv and an
# unchanged one is reused at no cost. Wheels are cached in ~/.cache/agora/pip/wheels.
# Installs are hash-checked (--require-hashes) and take nothing the lock does
# not name (--no-deps). Progress goes to stderr, the result alone to stdout.
#
# Settings (env):
#   AGORA_PYTHON     interpreter that makes the venvs (default python3)
#   AGORA_CACHE      cache root (default ~/.cache/agora)
set -euo pipefail
# mkvenv runs inside $(…): without this a failing step there would not stop it.
shopt -s inherit_errexit

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
locks=$root/e2e/python
python=${AGORA_PYTHON:-python3}
cache=${AGORA_CACHE:-$HOME/.cache/agora}
venvs=$cache/venv
export PIP_CACHE_DIR=$cache/pip
wheels=$cache/pip/wheels
export PIP_DISABLE_PIP_VERSION_CHECK=1

log() { echo "pyenv: $*" >&2; }

mkdir -p "$venvs" "$wheels"
pyid=$("$python" -c 'import sys, platform; print(sys.version, platform.machine())')

names=("$@")
if [[ ${#names[@]} -eq 0 ]]; then
	for f in "$locks"/*.txt; do
		names+=("$(basename "$f" .txt)")
	done
fi

# mkvenv NAME: print the path of NAME's venv, creating it if needed.
mkvenv() {
	local name=$1 lock=$locks/$1.txt
	[[ -f $lock ]] || { log "no lock file $lock"; return 1; }
	local hash
	hash=$({ cat "$lock"; echo "$pyid"; } | sha256sum | cut -c1-12)
	local dir=$venvs/$name-$hash
	# Several checkouts on one machine share the cache: one maker at a time,
	# and a venv counts only once its marker is written, since a venv cannot
	# be built elsewhere and renamed (its scripts name their own path).
	exec {lockfd}>"$venvs/$name.lock"
	flock "$lockfd"
	if [[ ! -f $dir/.agora-complete ]]; then
		local t0=$SECONDS
		log "$name: creating $dir"
		rm -rf "$dir"
		"$python" -m venv "$dir"
		# pip's own HTTP cache is not used: it keeps nothing when the index
		# answers no-store. Wheels are kept in a folder that pip download
		# fills (it skips files it already has) and install reads offline.
		# --no-compile: compiling every module of transformers takes minutes
		# on two cores; Python compiles what the tests import on first use
		# and keeps it in the venv (e2e/python_test.go lifts
		# PYTHONDONTWRITEBYTECODE for that).
		if ! "$dir/bin/python" -m pip download --quiet --no-input --require-hashes --no-deps \
			--only-binary :all: -d "$wheels" -r "$lock" >&2 ||
			! "$dir/bin/python" -m pip install --quiet --no-input --require-hashes --no-deps \
				--no-compile --no-index --find-links "$wheels" -r "$lock" >&2; then
			rm -rf "$dir"
			log "$name: pip install failed"
			return 1
		fi
		# --no-deps trusts the lock to be complete; pip check proves it.
		"$dir/bin/python" -m pip check >&2 || { rm -rf "$dir"; return 1; }
		touch "$dir/.agora-complete"
		log "$name: ready in $((SECONDS - t0))s"
	fi
	touch "$dir/.agora-complete"
	# Venvs of older locks not used for two weeks are dropped; a recent one may
	# belong to another checkout on another branch.
	find "$venvs" -maxdepth 2 -regextype posix-extended -regex "$venvs/$name-[0-9a-f]{12}/\.agora-complete" \
		-mtime +14 -printf '%h\n' |
		while read -r old; do
			[[ $old == "$dir" ]] || rm -rf "$old"
		done
	exec {lockfd}>&-
	echo "$dir"
}

# One venv after another: side by side they download the same wheels at
# once and fight over two cores (10 minutes instead of 4 when cold).
out=()
for name in "${names[@]}"; do
	path=$(mkvenv "$name")
	out+=("$name=$path")
done
(IFS=,; echo "${out[*]}")
