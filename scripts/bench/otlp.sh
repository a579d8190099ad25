#!/usr/bin/env bash
# OTLP protobuf exports of 1, 100 and 512 spans (the batch processor's default) against the same
# spans through /api/public/ingestion, in the same run, on the same server, interleaved.
#
# Usage: scripts/bench/otlp.sh [RUNS] [SECONDS]
# Uses the langfuse 5.x SDK venv (scripts/sdk/run.sh builds it) for opentelemetry-proto.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
seconds=${2:-5}
python=.venv-sdk-v5/bin/python
[ -x "$python" ] || { SDK_SUITES=v5 scripts/sdk/run.sh -q -k nothing-selected >/dev/null 2>&1 || true; }
swift build -c release --product parley >/dev/null
parley_bin=$(swift build -c release --show-bin-path)/parley
work=$(mktemp -d)
PARLEY_INIT_PUBLIC_KEY=pk-lf-bench PARLEY_INIT_SECRET_KEY=sk-lf-bench \
    "$parley_bin" serve --port 0 --log-level warning --db "$work/db.sqlite" 2>"$work/log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 200); do grep -q 'listening on http' "$work/log" 2>/dev/null && break; sleep 0.05; done
port=$(sed -n 's|listening on http://[^:]*:\([0-9]*\)$|\1|p' "$work/log")
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
declare -A otlp ingestion
for run in $(seq 1 "$runs"); do
    for spans in 1 100 512; do
        out=$("$python" scripts/bench/otlp_bench.py "http://127.0.0.1:$port" pk-lf-bench sk-lf-bench "$spans" "$seconds")
        otlp[$spans]+="$(awk '/^otlp/ {print $2}' <<<"$out") "
        ingestion[$spans]+="$(awk '/^ingestion/ {print $2}' <<<"$out") "
    done
    echo "run $run/$runs done" >&2
done
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(date -u +%Y-%m-%d); parley $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "scripts/bench/otlp_bench.py, 8 keep-alive connections, ${seconds}s per measurement, medians of $runs runs"
echo
echo "| spans per request | OTLP protobuf spans/s | /ingestion spans/s | OTLP/ingestion |"
echo "|---|---|---|---|"
for spans in 1 100 512; do
    o=$(tr ' ' '\n' <<<"${otlp[$spans]}" | grep -v '^$' | median)
    i=$(tr ' ' '\n' <<<"${ingestion[$spans]}" | grep -v '^$' | median)
    printf '| %s | %.0f | %.0f | %s |\n' "$spans" "$o" "$i" "$(awk -v a="$o" -v b="$i" 'BEGIN {printf "%.2f", a / b}')"
done
