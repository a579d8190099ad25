#!/usr/bin/env bash
# (Re)creates a venv of pinned PyPI packages unless it is up to date: its stamp (the hash of the
# requirements file and the interpreter's version) matches and MODULES import.
#
#   scripts/venv-ensure.sh PYTHON VENV REQUIREMENTS "MODULE, MODULE"
#   scripts/venv-ensure.sh python3 .venv-console scripts/console/requirements.txt "selenium, pytest"
set -euo pipefail
if [ $# -ne 4 ]; then
    echo "usage: $0 PYTHON VENV REQUIREMENTS MODULES" >&2
    exit 2
fi
python="$1" venv="$2" requirements="$3" modules="$4"
key="$( { cat "$requirements"; "$python" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)"
stamp="$venv/.requirements.sha256"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$key" ] \
        || ! "$venv/bin/python" -c "import $modules" >/dev/null 2>&1; then
    echo "== creating $venv (requirements changed or venv missing)"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$requirements"
    echo "$key" > "$stamp"
else
    echo "== reusing $venv"
fi
