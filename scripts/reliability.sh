#!/usr/bin/env bash
# Every reliability and security check of docs/RELIABILITY.md from one command, with a summary
# table (check, trials, result, figures). Builds a release binary unless --binary is given.
#
#   scripts/reliability.sh                 # every check (about 15 minutes on 2 cores)
#   scripts/reliability.sh --fast          # the quick set the test command runs
#   scripts/reliability.sh --only crash,overload --binary .build/release/parley
#   scripts/reliability.sh --report /tmp/table.md
set -euo pipefail
cd "$(dirname "$0")/.."

binary=
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --binary) binary=$2; shift 2 ;;
        *) args+=("$1"); shift ;;
    esac
done

# Tools some checks use, from Debian, installed only when missing.
scripts/apt-ensure.sh openssl curl python3 sqlite3

if [ -z "$binary" ]; then
    echo "== building parley (release)"
    swift build -c release --product parley
    # The extreme-values check runs the semantic fuzz target's replay mode from beside the binary.
    swift build -c release --product parley-fuzz
    binary=.build/release/parley
fi
# 10,000 idle connections need the descriptors for both ends in this one machine.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec python3 scripts/reliability/run.py --binary "$binary" "${args[@]}"
