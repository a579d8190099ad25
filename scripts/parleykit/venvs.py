"""A venv of pinned PyPI packages, (re)created unless it is up to date: its stamp (the hash of
the requirements file and the interpreter's version) matches and its modules import.

    python3 scripts/parleykit/venvs.py VENV REQUIREMENTS "MODULE, MODULE"
    python3 scripts/parleykit/venvs.py .venv-console scripts/console/requirements.txt "selenium, pytest"

The interpreter that runs it creates the venv (the shell entry points run it with $PYTHON).
Run as a file it imports nothing of parleykit, so it needs no sys.path line."""
from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

STAMP = ".requirements.sha256"


def ensure(venv: Path, requirements: Path, modules: str) -> Path:
    """Makes `venv` hold what `requirements` pins (reused when its stamp matches and `modules`,
    a comma-separated import list, import); returns its python."""
    venv, requirements = Path(venv), Path(requirements)
    key = hashlib.sha256(requirements.read_bytes() + f"{sys.version}\n".encode()).hexdigest()
    python = venv / "bin" / "python"
    stamp = venv / STAMP
    current = (python.exists() and stamp.exists() and stamp.read_text().strip() == key
               and subprocess.run([str(python), "-c", f"import {modules}"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL).returncode == 0)
    if current:
        print(f"== reusing {venv}", flush=True)
        return python
    print(f"== creating {venv} (requirements changed or venv missing)", flush=True)
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input",
                    "-r", str(requirements)], check=True)
    stamp.write_text(key + "\n")
    return python


def main() -> int:
    if len(sys.argv) != 4:
        print(f"usage: {sys.argv[0]} VENV REQUIREMENTS MODULES", file=sys.stderr)
        return 2
    ensure(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])
    return 0


if __name__ == "__main__":
    sys.exit(main())
