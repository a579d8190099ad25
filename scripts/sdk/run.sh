#!/usr/bin/env bash
# End-to-end tests with real Langfuse Python SDKs against a live parley binary:
#   v2: langfuse==2.60.10 (ingestion and reads), scripts/sdk/*.py, venv .venv-sdk/
#   v4: langfuse==4.18.0 (the read API client), scripts/sdk/v4/, venv .venv-sdk-v4/
#   v5: langfuse==5.0.4 and plain OpenTelemetry (OTLP/HTTP export over HTTP and HTTPS),
#       scripts/sdk/v5/, venv .venv-sdk-v5/
# The SDKs cannot share a venv, so each suite runs in its own pytest process.
#
#   scripts/sdk/run.sh [pytest args...]     (the args go to every pytest run)
#
# PARLEY_BIN: the server binary (default .build/debug/parley, relative to the repo root).
# PYTHON:     the interpreter that creates the venvs (default python3; CPython 3.11 tested).
# SDK_SUITES: which suites to run (default "v2 v4 v5").
# Each venv is reused while its requirements file (and the interpreter's version) is unchanged;
# otherwise it is rebuilt. Exit code: 0 when every suite passed, else the first failing
# suite's pytest status (a suite whose args selected no test, pytest's 5, counts as passed as
# long as another suite ran tests).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"

python="${PYTHON:-python3}"
export PARLEY_BIN="${PARLEY_BIN:-.build/debug/parley}"
suites="${SDK_SUITES:-v2 v4 v5}"

if [ ! -x "$PARLEY_BIN" ]; then
    echo "run.sh: no parley binary at $PARLEY_BIN (run 'swift build' or set PARLEY_BIN)" >&2
    exit 2
fi

# ensure_venv VENV REQUIREMENTS: (re)creates VENV from REQUIREMENTS unless its stamp matches.
ensure_venv() {
    "$python" scripts/parleykit/venvs.py "$1" "$2" "langfuse, pytest, requests"
}

final=0
ran_tests=0
no_tests=0
for suite in $suites; do
    case "$suite" in
        v2) venv=.venv-sdk; requirements=scripts/sdk/requirements-v2.txt
            target=(scripts/sdk --ignore=scripts/sdk/v4 --ignore=scripts/sdk/v5); label="langfuse 2.60.10" ;;
        v4) venv=.venv-sdk-v4; requirements=scripts/sdk/requirements-v4.txt
            target=(scripts/sdk/v4); label="langfuse 4.18.0" ;;
        v5) venv=.venv-sdk-v5; requirements=scripts/sdk/requirements-v5.txt
            target=(scripts/sdk/v5); label="langfuse 5.0.4 + OpenTelemetry OTLP" ;;
        *) echo "run.sh: unknown suite '$suite' in SDK_SUITES (v2, v4, v5)" >&2; exit 2 ;;
    esac
    ensure_venv "$venv" "$requirements"
    echo "== pytest ${target[0]} ($label, PARLEY_BIN=$PARLEY_BIN)"
    set +e
    "$venv/bin/python" -m pytest "${target[@]}" -p no:cacheprovider "$@"
    status=$?
    set -e
    case $status in
        0) ran_tests=1 ;;
        5) no_tests=1 ;;
        *) echo "== $label suite FAILED (pytest exit $status)" >&2
           [ "$final" -ne 0 ] || final=$status ;;
    esac
done
if [ "$final" -eq 0 ] && [ "$ran_tests" -eq 0 ] && [ "$no_tests" -eq 1 ]; then
    final=5
fi
exit "$final"
