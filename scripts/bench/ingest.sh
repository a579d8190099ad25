#!/usr/bin/env bash
# Batch-ingestion throughput (events/s) for batches of 1, 10 and 100 events over keep-alive
# connections with durable acknowledgements, against the storage ceiling measured in the same
# run: scripts/bench/sqlite_ceiling.c inserting the same rows into a database with Parley's
# schema, indexes and pragmas, one transaction per batch. Runs interleaved; reports medians.
#
# Usage: scripts/bench/ingest.sh [RUNS] [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/../.."

runs=${1:-3}
seconds=${2:-8}
connections=${3:-16}

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
swift build -c release --product parley >/dev/null
parley_bin=$(swift build -c release --show-bin-path)/parley

work=$(mktemp -d)
server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

gcc -O2 -o "$work/sqlite_ceiling" scripts/bench/sqlite_ceiling.c -lsqlite3

start_parley() { # DB -> sets port
    PARLEY_INIT_PUBLIC_KEY=pk-lf-bench PARLEY_INIT_SECRET_KEY=sk-lf-bench \
        "$parley_bin" serve --port 0 --log-level warning --db "$1" 2>"$work/parley.log" &
    server_pid=$!
    for _ in $(seq 1 200); do
        grep -q 'listening on http' "$work/parley.log" 2>/dev/null && break
        sleep 0.05
    done
    port=$(sed -n 's|listening on http://[^:]*:\([0-9]*\)$|\1|p' "$work/parley.log")
}
stop_parley() {
    kill "$server_pid"
    wait "$server_pid" || true
    server_pid=""
}

# A database with Parley's schema, made by Parley itself, copied fresh for every measurement.
start_parley "$work/template.sqlite"
stop_parley

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
minmax() { sort -g | awk 'NR==1{min=$1} {max=$1} END {printf "%.0f–%.0f", min, max}'; }

declare -A parley sqlite
for run in $(seq 1 "$runs"); do
    for batch in 1 10 100; do
        rm -f "$work"/run.sqlite*
        cp "$work/template.sqlite" "$work/run.sqlite"
        events=$(( batch == 1 ? 30000 : batch == 10 ? 150000 : 300000 ))
        sqlite[$batch]+="$("$work/sqlite_ceiling" "$work/run.sqlite" "$batch" "$events") "

        rm -f "$work"/run.sqlite*
        cp "$work/template.sqlite" "$work/run.sqlite"
        start_parley "$work/run.sqlite"
        requests=$(BATCH=$batch AUTH=$(printf 'pk-lf-bench:sk-lf-bench' | base64) \
            wrk -t1 -c"$connections" -d"${seconds}s" -s scripts/bench/ingest.lua "http://127.0.0.1:$port" \
            | awk '/Requests\/sec/ {print $2}')
        stop_parley
        parley[$batch]+="$(awk -v r="$requests" -v b="$batch" 'BEGIN {printf "%.0f", r * b}') "
    done
    echo "run $run/$runs done" >&2
done

echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(date -u +%Y-%m-%d); parley $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "wrk -t1 -c$connections -d${seconds}s -s scripts/bench/ingest.lua, $runs interleaved runs; ceiling: sqlite_ceiling.c, one transaction per batch"
echo
echo "| batch | Parley events/s (median, min–max) | raw SQLite events/s (median, min–max) | ratio |"
echo "|---|---|---|---|"
for batch in 1 10 100; do
    p=$(tr ' ' '\n' <<<"${parley[$batch]}" | grep -v '^$')
    s=$(tr ' ' '\n' <<<"${sqlite[$batch]}" | grep -v '^$')
    pm=$(median <<<"$p"); sm=$(median <<<"$s")
    printf '| %s | %.0f (%s) | %.0f (%s) | %s |\n' "$batch" "$pm" "$(minmax <<<"$p")" "$sm" "$(minmax <<<"$s")" \
        "$(awk -v a="$pm" -v b="$sm" 'BEGIN {printf "%.2f", a / b}')"
done
