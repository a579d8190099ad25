#!/usr/bin/env bash
# Parley's benchmarks in one command (issue #6): builds the release binary, installs what the
# ceilings and the load need (wrk, nginx, libsqlite3-dev) from Debian packages when missing,
# builds the SQLite ceiling, then runs scripts/bench/run.py, which measures every workload RUNS
# times next to its ceiling in the same run and prints a Markdown report on stdout.
#
# Usage: scripts/bench.sh [--runs N] [--seconds S] [--only http,handshakes,ingest,otlp,reads,mixed,drilldown,longsession,memory,lifecycle]
#                         [--peer phoenix] [--update-docs]
#   --update-docs  replaces the generated block of docs/BENCHMARKS.md with this run's report
#   --peer phoenix also loads Arize Phoenix (PyPI arize-phoenix, in .venv-phoenix/) with the
#                  same OTLP spans and reports it next to Parley
# A full run takes about 25 minutes on 2 cores (the read dataset is generated once, ~3 minutes,
# and cached in .bench-data/).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
{ command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; } || need+=(nginx)
[ -f /usr/include/sqlite3.h ] || need+=(libsqlite3-dev)
command -v sqlite3 >/dev/null 2>&1 || need+=(sqlite3)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing ${need[*]}" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
export PATH="$PATH:/usr/sbin"

echo "building parley (release)…" >&2
swift build -c release --product parley >/dev/null
parley_bin=$(swift build -c release --show-bin-path)/parley
ceiling=$(mktemp -d)/sqlite_ceiling
gcc -O2 -o "$ceiling" scripts/bench/sqlite_ceiling.c -lsqlite3

# Room for 10,000 idle connections on both ends (run.py raises its own soft limit; the
# servers it starts inherit it).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec python3 scripts/bench/run.py --parley "$parley_bin" --ceiling "$ceiling" "$@"
