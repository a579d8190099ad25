#!/usr/bin/env bash
# Session reads on a generated database (100k sessions, ~1M observations by default): p50 and
# p99 latency of a session list page (50 newest, and 50 by cost) and of drill-downs of 10-,
# 100- and 1,000-turn sessions, idle and while ingestion runs at half its measured capacity.
#
# Usage: scripts/bench/reads.sh [RUNS] [SECONDS] [SESSIONS] [OBSERVATIONS]
# The dataset is generated once through Parley's ingestion API (scripts/bench/gen_dataset.py)
# and cached in .bench-data/; each measurement runs on a fresh copy.
set -euo pipefail
cd "$(dirname "$0")/../.."

runs=${1:-3}
seconds=${2:-8}
sessions=${3:-100000}
observations=${4:-1000000}

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
swift build -c release --product parley >/dev/null
parley_bin=$(swift build -c release --show-bin-path)/parley
auth=$(printf 'pk-lf-bench:sk-lf-bench' | base64)

work=$(mktemp -d)
server_pid=""
load_pid=""
cleanup() {
    [ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null || true
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

start_parley() { # DB [EXTRA SERVE ARGS...]
    local db=$1
    shift
    PARLEY_INIT_PUBLIC_KEY=pk-lf-bench PARLEY_INIT_SECRET_KEY=sk-lf-bench \
        "$parley_bin" serve --port 0 --log-level warning --db "$db" "$@" 2>"$work/parley.log" &
    server_pid=$!
    for _ in $(seq 1 400); do
        grep -q 'listening on http' "$work/parley.log" 2>/dev/null && break
        sleep 0.05
    done
    port=$(sed -n 's|listening on http://[^:]*:\([0-9]*\)$|\1|p' "$work/parley.log")
}
stop_parley() { kill "$server_pid"; wait "$server_pid" || true; server_pid=""; }

mkdir -p .bench-data
dataset=.bench-data/dataset-v3-$sessions-$observations.sqlite
if [ ! -f "$dataset" ]; then
    echo "generating $dataset (once)…" >&2
    # The turns are 30 days old: a long timeout keeps the sweeper from ending sessions while
    # their later turns still arrive (the measuring server then ends them at its start).
    start_parley "$work/gen.sqlite" --inactivity-timeout 315360000
    python3 scripts/bench/gen_dataset.py "http://127.0.0.1:$port" pk-lf-bench sk-lf-bench "$sessions" "$observations" >&2
    stop_parley
    cp "$work/gen.sqlite" "$dataset"
fi
cp "$dataset" "$work/run.sqlite"
start_parley "$work/run.sqlite"
base="http://127.0.0.1:$port"

to_ms() { # wrk latency text (e.g. 1.23ms, 850.00us, 1.02s) -> milliseconds
    awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); print v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v); print v} else if (v ~ /s$/) {sub(/s$/,"",v); print v*1000} else print v}'
}
latency() { # PATH -> "p50 p99" in ms
    local out
    out=$(wrk -t1 -c4 -d"${seconds}s" --latency -H "Authorization: Basic $auth" "$base$1")
    printf '%s %s\n' "$(awk '$1=="50%" {print $2}' <<<"$out" | to_ms)" "$(awk '$1=="99%" {print $2}' <<<"$out" | to_ms)"
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

paths=(
    "/api/public/sessions?limit=50"
    "/api/public/sessions?limit=50&orderBy=cost.desc"
    "/api/public/sessions/bench-drill-10"
    "/api/public/sessions/bench-drill-100"
    "/api/public/sessions/bench-drill-1000"
)
labels=("session list, 50 newest" "session list, 50 by cost" "drill-down, 10 turns" "drill-down, 100 turns" "drill-down, 1,000 turns")

# Ingestion capacity on this database: 100-event batches, unpaced, for a few seconds.
capacity=$(BATCH=100 AUTH=$auth wrk -t1 -c8 -d5s -s scripts/bench/ingest.lua "$base" | awk '/Requests\/sec/ {print $2}')
half=$(awk -v c="$capacity" 'BEGIN {printf "%.0f", c / 2}')

declare -A p50 p99
for run in $(seq 1 "$runs"); do
    for mode in idle loaded; do
        if [ "$mode" = loaded ]; then
            RATE=$half CONNECTIONS=4 BATCH=100 AUTH=$auth \
                wrk -t1 -c4 -d$(( seconds * ${#paths[@]} + 10 ))s -s scripts/bench/ingest_paced.lua "$base" >/dev/null &
            load_pid=$!
            sleep 1
        fi
        for i in "${!paths[@]}"; do
            read -r a b < <(latency "${paths[$i]}")
            p50[$mode,$i]+="$a "
            p99[$mode,$i]+="$b "
        done
        if [ -n "$load_pid" ]; then kill "$load_pid" 2>/dev/null || true; wait "$load_pid" 2>/dev/null || true; load_pid=""; fi
    done
    echo "run $run/$runs done" >&2
done

echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(date -u +%Y-%m-%d); parley $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "Dataset: $(sqlite3 "$work/run.sqlite" 'select count(*) from sessions') sessions, $(sqlite3 "$work/run.sqlite" 'select count(*) from traces') traces, $(sqlite3 "$work/run.sqlite" 'select count(*) from observations') observations"
echo "wrk -t1 -c4 -d${seconds}s --latency per read; loaded = 100-event batches paced at half the measured capacity ($half of $capacity req/s, i.e. $(( half * 100 )) events/s); medians of $runs runs"
echo
echo "| read | idle p50 ms | idle p99 ms | loaded p50 ms | loaded p99 ms |"
echo "|---|---|---|---|---|"
for i in "${!paths[@]}"; do
    row="| ${labels[$i]} |"
    for mode in idle loaded; do
        row+=" $(tr ' ' '\n' <<<"${p50[$mode,$i]}" | grep -v '^$' | median) |"
        row+=" $(tr ' ' '\n' <<<"${p99[$mode,$i]}" | grep -v '^$' | median) |"
    done
    echo "$row"
done
