#!/usr/bin/env bash
# Real instrumentations against a live parley and a stub OpenAI server: each library runs a
# three-turn session (a streamed call, a tool call, a failed call), exports OTLP/HTTP to parley,
# and the test asserts what a user sees (checks.py). Each suite has its own venv of pinned PyPI
# packages (their dependencies conflict) and its own pytest process (the libraries install
# process-wide instrumentation and SDK singletons).
#
#   scripts/instrumentations/run.sh [pytest args...]
#
# PARLEY_BIN:   the server binary (default .build/debug/parley, relative to the repo root).
# PYTHON:       the interpreter that creates the venvs (default python3; CPython 3.11 tested).
# INSTR_SUITES: which suites (default: all of them, in the order below).
# CAPTURE_FIXTURES=1 rewrites Tests/Fixtures/instrumentations/<suite>/ from the exports.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"

python="${PYTHON:-python3}"
export PARLEY_BIN="${PARLEY_BIN:-.build/debug/parley}"
suites="${INSTR_SUITES:-openinference openllmetry traceloop langfuse-openai langchain otel-genai pydantic-ai}"

if [ ! -x "$PARLEY_BIN" ]; then
    echo "run.sh: no parley binary at $PARLEY_BIN (run 'swift build' or set PARLEY_BIN)" >&2
    exit 2
fi

final=0
passed=0
failed=0
for suite in $suites; do
    case "$suite" in
        openinference) venv=openinference; modules="openinference.instrumentation.openai, pytest, requests" ;;
        openllmetry) venv=openllmetry; modules="opentelemetry.instrumentation.openai, pytest, requests" ;;
        traceloop) venv=traceloop; modules="traceloop.sdk, pytest, requests" ;;
        langfuse-openai|langchain) venv=langfuse; modules="langfuse.openai, langchain_openai, pytest, requests" ;;
        otel-genai) venv=otel-genai; modules="opentelemetry.instrumentation.openai_v2, pytest, requests" ;;
        pydantic-ai) venv=pydantic-ai; modules="pydantic_ai, pytest, requests" ;;
        *) echo "run.sh: unknown suite '$suite' in INSTR_SUITES" >&2; exit 2 ;;
    esac
    "$python" scripts/parleykit/venvs.py ".venv-instr-$venv" "scripts/instrumentations/requirements-$venv.txt" "$modules"
    echo "== pytest scripts/instrumentations/test_${suite//-/_}.py (PARLEY_BIN=$PARLEY_BIN)"
    set +e
    ".venv-instr-$venv/bin/python" -m pytest "scripts/instrumentations/test_${suite//-/_}.py" -p no:cacheprovider "$@"
    status=$?
    set -e
    if [ "$status" -eq 0 ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "== $suite FAILED (pytest exit $status)" >&2
        [ "$final" -ne 0 ] || final=$status
    fi
done
echo "instrumentations: $passed passed, $failed failed"
exit "$final"
