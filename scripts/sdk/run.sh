#!/usr/bin/env bash
# End-to-end tests with the real langfuse==2.60.10 Python SDK against a live parley binary.
#
#   scripts/sdk/run.sh [pytest args...]
#
# PARLEY_BIN: the server binary (default .build/debug/parley, relative to the repo root).
# PYTHON:     the interpreter that creates the venv (default python3; CPython 3.11 tested).
# The venv lives in .venv-sdk/ and is reused while requirements-v2.txt (and the interpreter's
# version) are unchanged; otherwise it is rebuilt. Exit code: pytest's.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"

requirements=scripts/sdk/requirements-v2.txt
venv=.venv-sdk
python="${PYTHON:-python3}"
export PARLEY_BIN="${PARLEY_BIN:-.build/debug/parley}"

if [ ! -x "$PARLEY_BIN" ]; then
    echo "run.sh: no parley binary at $PARLEY_BIN (run 'swift build' or set PARLEY_BIN)" >&2
    exit 2
fi

key="$( { cat "$requirements"; "$python" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)"
stamp="$venv/.requirements.sha256"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$key" ] \
        || ! "$venv/bin/python" -c 'import langfuse, pytest, requests' >/dev/null 2>&1; then
    echo "== creating $venv (requirements changed or venv missing)"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$requirements"
    echo "$key" > "$stamp"
else
    echo "== reusing $venv"
fi

echo "== pytest scripts/sdk (PARLEY_BIN=$PARLEY_BIN)"
set +e
"$venv/bin/python" -m pytest scripts/sdk -p no:cacheprovider "$@"
status=$?
set -e
exit $status
