"""Contract: scripts/api-contract.sh (openapi.yaml validated, then schemathesis over every
operation against a live server with valid keys: no 5xx, no response that breaks the spec, no
crash, a clean shutdown). The test command runs it on its own, so it is not in the fast set."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

from common import Context, Result

NAME = "contract"
FAST = False
ORDER = 45


def run(context: Context) -> Result:
    script = Path(__file__).resolve().parent.parent / "api-contract.sh"
    completed = subprocess.run([str(script), context.binary], capture_output=True, text=True)
    output = completed.stdout + completed.stderr
    (context.path("contract") / "api-contract.log").write_text(output)
    # schemathesis' summary, e.g. "=== 1234 passed in 95.2s ===" or its test-case count.
    summary = [line.strip(" =") for line in output.splitlines() if re.search(r"\b(passed|failed|errors?)\b.* in [\d.]+s", line)]
    cases = re.findall(r"(\d+) (?:generated|test cases)", output)
    figures = summary[-1] if summary else ("exit 0" if completed.returncode == 0 else f"exit {completed.returncode}")
    if cases:
        figures += f"; {cases[-1]} cases"
    details = [] if completed.returncode == 0 else output.splitlines()[-15:]
    return Result("contract (schemathesis, every operation)", 1, completed.returncode == 0, figures, details)
