#!/usr/bin/env bash
# API contract: validates openapi.yaml, then runs schemathesis from it against a live parley.
#
#   scripts/api-contract.sh BINARY
#
# 1. openapi-spec-validator checks openapi.yaml (OpenAPI 3.1).
# 2. BINARY serves on an ephemeral port with a temporary database and the capture keys
#    (pk-lf-capture / sk-lf-capture), seeded with the langfuse 2.60.10 capture batches and the
#    4.18.0 score event from Tests/Fixtures/sdk/.
# 3. schemathesis tests every operation with Basic auth (phases examples, coverage, fuzzing,
#    stateful; at most API_CONTRACT_MAX_EXAMPLES cases per operation, default 25) with the
#    checks below; the whole run is capped at API_CONTRACT_TIME_LIMIT seconds (default 170).
# 4. The server gets SIGTERM and must exit 0.
#
# Exits non-zero on an invalid openapi.yaml, any 5xx, any response that breaks openapi.yaml
# (undocumented status, wrong content type or headers, body not matching its schema), a server
# that dies, does not shut down cleanly, or a run that hits the time cap.
#
# PYTHON: the interpreter that creates .venv-tools/ (default python3; CPython 3.11 tested).
# API_CONTRACT_SEED: schemathesis seed (default fixed, so runs are reproducible).
# API_CONTRACT_REPORT_DIR: when set, schemathesis writes JUnit and NDJSON reports there.
# API_CONTRACT_WORKERS: schemathesis workers (default 1; see step 3 for why not more).
# API_CONTRACT_CHECKS: schemathesis checks instead of the default list (e.g. `all` to also see
#   positive_data_acceptance/negative_data_rejection, which flag Langfuse's deliberate leniency:
#   unknown and empty query parameters ignored, per-event errors inside a 207).
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 BINARY" >&2
    exit 2
fi
binary="$1"
case "$binary" in /*) ;; *) binary="$PWD/$binary" ;; esac
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
if [ ! -x "$binary" ]; then
    echo "api-contract: no parley binary at $binary" >&2
    exit 2
fi

python="${PYTHON:-python3}"
requirements=scripts/sdk/requirements-tools.txt
venv=.venv-tools
public_key=pk-lf-capture
secret_key=sk-lf-capture
seed="${API_CONTRACT_SEED:-20261124}"
max_examples="${API_CONTRACT_MAX_EXAMPLES:-25}"
time_limit="${API_CONTRACT_TIME_LIMIT:-170}"
checks="${API_CONTRACT_CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance}"

# --- tools venv, reused while requirements-tools.txt and the interpreter are unchanged
"$python" scripts/parleykit/venvs.py "$venv" "$requirements" "openapi_spec_validator, schemathesis"

# --- 1. the document itself
echo "== openapi-spec-validator openapi.yaml"
"$venv/bin/openapi-spec-validator" openapi.yaml

# --- 2. a live server
work="$(mktemp -d)"
server_pid=""
stop_server() {
    # SIGTERM, then wait up to 30 s; prints nothing, returns the exit code (137 when killed).
    local pid="$server_pid" code=0
    server_pid=""
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 300); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        return 137
    fi
    wait "$pid" || code=$?
    return "$code"
}
cleanup() {
    stop_server || true
    rm -rf "$work"
}
trap cleanup EXIT

echo "== starting $binary on an ephemeral port"
(
    unset PARLEY_PORT PARLEY_HOST PARLEY_TLS_PORT PARLEY_DB
    export PARLEY_INIT_PUBLIC_KEY="$public_key" PARLEY_INIT_SECRET_KEY="$secret_key"
    exec "$binary" serve --port 0 --db "$work/parley.sqlite" </dev/null >/dev/null 2>"$work/server.log"
) &
server_pid=$!
url=""
for _ in $(seq 300); do
    url="$(sed -n 's/^listening on \(http:\/\/[^ ]*\).*/\1/p' "$work/server.log" | head -n 1)"
    [ -n "$url" ] && break
    if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
    sleep 0.1
done
if [ -z "$url" ]; then
    echo "api-contract: parley did not start:" >&2
    cat "$work/server.log" >&2
    exit 1
fi
echo "   $url"

echo "== seeding: langfuse 2.60.10 capture batches and the 4.18.0 score event"
for body in Tests/Fixtures/sdk/langfuse-python-2.60.10/ingestion-batch-1.json \
            Tests/Fixtures/sdk/langfuse-python-2.60.10/ingestion-batch-2.json \
            Tests/Fixtures/sdk/langfuse-python-4.18.0/ingestion-score-create.json; do
    status="$(curl -sS -o "$work/seed.json" -w '%{http_code}' -u "$public_key:$secret_key" \
        -H 'Content-Type: application/json' --data-binary "@$body" "$url/api/public/ingestion")"
    if [ "$status" != 207 ] || ! grep -q '"errors":\[\]' "$work/seed.json"; then
        echo "api-contract: seeding $body answered $status: $(cat "$work/seed.json")" >&2
        exit 1
    fi
done

# --- 3. schemathesis
echo "== schemathesis (checks: $checks; at most $max_examples cases per operation; seed $seed; cap ${time_limit}s)"
report=()
if [ -n "${API_CONTRACT_REPORT_DIR:-}" ]; then
    mkdir -p "$API_CONTRACT_REPORT_DIR"
    report=(--report "junit,ndjson" --report-dir "$API_CONTRACT_REPORT_DIR")
fi
# One worker: CPython 3.11's ast module is not thread-safe (its recursion-depth check is global
# state, gh-106905), and with two workers hypothesis describing a filter (ast.parse) in both
# threads at once raised "SystemError: AST constructor recursion depth mismatch", reported as a
# Runtime Error of whichever operation it was drawing for (POST /scores, POST /models) in most
# runs. One worker takes as long here (the run is CPU-bound on two cores) and never hit it.
set +e
(
    cd "$work"   # schemathesis would pick up a schemathesis.toml from the working directory
    timeout --signal=INT --kill-after=15 "$time_limit" "$repo/$venv/bin/schemathesis" run "$repo/openapi.yaml" \
        --url "$url" --auth "$public_key:$secret_key" \
        --checks "$checks" --phases examples,coverage,fuzzing,stateful \
        --max-examples "$max_examples" --seed "$seed" --workers "${API_CONTRACT_WORKERS:-1}" \
        --request-timeout 10 --output-truncate true "${report[@]}"
)
st_status=$?
set -e

# --- 4. the server must still be up, then shut down cleanly
failed=0
if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "api-contract: parley died during the run; its log:" >&2
    tail -n 50 "$work/server.log" >&2
    failed=1
fi
set +e
stop_server
server_status=$?
set -e
if [ "$server_status" -ne 0 ]; then
    echo "api-contract: parley exited with $server_status after SIGTERM" >&2
    failed=1
fi
case $st_status in
    0) ;;
    124|137) echo "api-contract: schemathesis hit the ${time_limit}s cap" >&2; failed=1 ;;
    *) echo "api-contract: schemathesis reported failures (exit $st_status)" >&2; failed=1 ;;
esac
if [ "$failed" -ne 0 ]; then
    exit 1
fi
echo "== API contract: openapi.yaml valid; schemathesis found no failures; parley exited 0"
