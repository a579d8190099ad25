"""Runs the reliability checks (scripts/reliability/check_*.py) and prints a summary table:
check, trials, result, figures. Each check module defines NAME, FAST (part of the quick set run
by the test command) and run(ctx) returning a Result or a list of them.

    python3 scripts/reliability/run.py --binary .build/release/parley [--fast] [--only a,b]
        [--report docs-table.md]

Exits 1 when any check fails; a check that cannot run on this machine is reported as skipped
with its reason, and does not count as a pass."""
from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import Context, Result, guarded  # noqa: E402


def discover() -> list:
    modules = []
    for path in sorted(Path(__file__).parent.glob("check_*.py")):
        modules.append(importlib.import_module(path.stem))
    return sorted(modules, key=lambda module: getattr(module, "ORDER", 100))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--fast", action="store_true", help="only the quick checks, with fewer trials")
    parser.add_argument("--only", help="comma-separated check names")
    parser.add_argument("--report", help="also write the table as Markdown to this file")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    wanted = set(args.only.split(",")) if args.only else None
    work = Path(tempfile.mkdtemp(prefix="parley-reliability-"))
    context = Context(binary=str(Path(args.binary).resolve()), work=work, fast=args.fast)
    results: list[Result] = []
    for module in discover():
        if wanted is not None and module.NAME not in wanted:
            continue
        if args.fast and not module.FAST:
            continue
        print(f"== {module.NAME}", flush=True)
        started = time.monotonic()
        outcome = guarded(module.NAME, module.run, context)
        produced = outcome if isinstance(outcome, list) else [outcome]
        for result in produced:
            for line in result.details:
                print(f"    {line}")
            print(f"  -> {verdict(result)}: {result.figures} ({time.monotonic() - started:.0f} s)", flush=True)
        results.extend(produced)
    table = render(results)
    print()
    print(table)
    if args.report:
        Path(args.report).write_text(table + "\n")
    if not args.keep:
        import shutil
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"work directory kept: {work}")
    if wanted is not None and not results:
        print(f"no check named {sorted(wanted)}", file=sys.stderr)
        return 2
    return 1 if any(result.passed is False for result in results) else 0


def verdict(result: Result) -> str:
    return {True: "pass", False: "FAIL", None: "skipped"}[result.passed]


def render(results: list[Result]) -> str:
    lines = ["| check | trials | result | figures |", "|---|---|---|---|"]
    for result in results:
        figures = result.figures.replace("|", "/")
        lines.append(f"| {result.check} | {result.trials} | {verdict(result)} | {figures} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
