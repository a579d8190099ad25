#!/usr/bin/env bash
# The web console's browser tests: headless Chromium (Debian's chromium and chromium-driver)
# driven by Selenium (pinned in requirements.txt, venv .venv-console/) against a live parley
# binary filled by scripts/demo.sh, the langfuse 2.60.10 capture fixtures and generated batches.
#
#   scripts/console/run.sh [pytest args...]
#
# PARLEY_BIN: the server binary (default .build/debug/parley, relative to the repo root).
# PYTHON:     the interpreter that creates the venv (default python3; CPython 3.11 tested).
# CONSOLE_SCREENSHOTS: a folder to save a PNG of each view into (docs/console for the docs).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"

scripts/apt-ensure.sh --no-install-recommends chromium chromium-driver
scripts/apt-ensure.sh curl python3
python="${PYTHON:-python3}"
export PARLEY_BIN="${PARLEY_BIN:-.build/debug/parley}"
if [ ! -x "$PARLEY_BIN" ]; then
    echo "console/run.sh: no parley binary at $PARLEY_BIN (run 'swift build' or set PARLEY_BIN)" >&2
    exit 2
fi

venv=.venv-console
requirements=scripts/console/requirements.txt
"$python" scripts/parleykit/venvs.py "$venv" "$requirements" "selenium, pytest, requests"

# Selenium Manager would try to download a driver or browser; everything is local here.
export SE_OFFLINE=true
echo "== pytest scripts/console ($(chromium --version 2>/dev/null || echo chromium), PARLEY_BIN=$PARLEY_BIN)"
exec "$venv/bin/python" -m pytest scripts/console -p no:cacheprovider "$@"
