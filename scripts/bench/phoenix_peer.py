"""`scripts/bench.sh --peer phoenix`: Arize Phoenix (PyPI arize-phoenix, the single-process,
SQLite-backed LLM-observability server) and Parley loaded with the same OTLP protobuf exports
(otlp.lua: 100 spans each, fresh ids) by the same wrk for the same time, one after the other.

For each server: spans/s acknowledged (2xx), requests refused (non-2xx), spans/s durably stored
(rows in its SQLite file once it has drained, over the time from the start of the load to the
last new row), how long it took to drain, and RSS idle and at peak. Parley acknowledges only
after COMMIT, so for it acknowledged and stored are the same spans.
"""
from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import time
from pathlib import Path

from parleykit import venvs
from parleykit.server import free_port, rss_kb, wait_port
from run import AUTH, BENCH, REPO, log, start_parley, wrk

REQUIREMENTS = BENCH / "requirements-phoenix.txt"
PHOENIX_VERSION = REQUIREMENTS.read_text().split("==", 1)[1].strip()
VENV = REPO / ".venv-phoenix"


def ensure_phoenix() -> Path:
    venvs.ensure(VENV, REQUIREMENTS, "phoenix")
    return VENV / "bin" / "phoenix"


def tree_rss_kb(pid: int, field: str) -> int:
    """RSS of `pid` and its children (Phoenix may fork workers)."""
    total = rss_kb(pid, field)
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        for child in children.read_text().split():
            try:
                total += tree_rss_kb(int(child), field)
            except (FileNotFoundError, ProcessLookupError):
                pass
    return total


def count_rows(db: Path, table: str) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as connection:
            return connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    except sqlite3.Error:
        return -1


def drain(db: Path, table: str, started: float, limit_s: float) -> tuple[int, float]:
    """Polls until the row count has not moved for 10 s (or `limit_s` passed); returns the
    final count and the seconds from `started` to the last change."""
    last, last_change = count_rows(db, table), time.time()
    deadline = time.time() + limit_s
    while time.time() < deadline and time.time() - last_change < 10:
        time.sleep(1)
        now = count_rows(db, table)
        if now != last:
            last, last_change = now, time.time()
    return last, last_change - started


def load(url: str, seconds: int, template: Path, pid: int, peak: list[int]) -> dict:
    process = subprocess.Popen(
        ["wrk", "-t1", "-c8", f"-d{seconds}s", "-s", str(BENCH / "otlp.lua"), url],
        env=dict(os.environ, AUTH=AUTH, TEMPLATE=str(template), OTLP_PATH="/v1/traces"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    # Sampled every half second (Phoenix's worker processes have no common high-water mark).
    while process.poll() is None:
        peak[0] = max(peak[0], tree_rss_kb(pid, "VmRSS"))
        time.sleep(0.5)
    out = process.stdout.read()
    result = {"requests": 0, "non2xx": 0}
    if m := re.search(r"(\d+) requests in", out):
        result["requests"] = int(m.group(1))
    if m := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out):
        result["non2xx"] = int(m.group(1))
    return result


def run_phoenix(harness) -> tuple[str, str, list[str]]:
    seconds = max(harness.args.seconds, 20)
    template = harness.otlp_template
    rows: list[list[str]] = []

    # Phoenix
    binary = ensure_phoenix()
    home = harness.work / "phoenix"
    home.mkdir()
    port, grpc = free_port(), free_port()
    env = dict(os.environ, PHOENIX_WORKING_DIR=str(home), PHOENIX_PORT=str(port), PHOENIX_GRPC_PORT=str(grpc),
               PHOENIX_HOST="127.0.0.1")
    phoenix = subprocess.Popen([str(binary), "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        time.sleep(5)
        idle = tree_rss_kb(phoenix.pid, "VmRSS")
        peak = [idle]
        started = time.time()
        result = load(f"http://127.0.0.1:{port}", seconds, template, phoenix.pid, peak)
        stored, until = drain(home / "phoenix.db", "spans", started, limit_s=600)
        accepted = (result["requests"] - result["non2xx"]) * 100
        rows.append(["Phoenix " + PHOENIX_VERSION, result, accepted, stored, until, idle, peak[0]])
    finally:
        phoenix.terminate()
        try:
            phoenix.wait(timeout=30)
        except subprocess.TimeoutExpired:
            phoenix.kill()
    log("phoenix: done")

    # Parley, same load
    db = harness.fresh_db("peer")
    parley = start_parley(harness.args.parley, harness.work, db)
    try:
        time.sleep(1)
        idle = rss_kb(parley.pid, "VmRSS")
        peak = [idle]
        started = time.time()
        result = load(parley.url, seconds, template, parley.pid, peak)
        stored, until = drain(db, "observations", started, limit_s=60)
        peak[0] = max(peak[0], rss_kb(parley.pid, "VmHWM"))
        accepted = (result["requests"] - result["non2xx"]) * 100
        rows.append(["Parley", result, accepted, stored, until, idle, peak[0]])
    finally:
        parley.stop()

    lines = ["| server | spans acknowledged/s | requests refused | spans stored/s | drained after (s) | RSS idle MB | RSS peak MB |",
             "|---|---|---|---|---|---|---|"]
    for name, result, accepted, stored, until, idle, peak in rows:
        refused = f"{result['non2xx']} of {result['requests']}"
        lines.append(f"| {name} | {accepted / seconds:.0f} | {refused} | {stored / max(until, seconds):.0f} | "
                     f"{max(until - seconds, 0):.0f} | {idle / 1024:.0f} | {peak / 1024:.0f} |")
    phoenix_row, parley_row = rows
    speed = (parley_row[3] / max(parley_row[4], seconds)) / max(1e-9, phoenix_row[3] / max(phoenix_row[4], seconds))
    memory = parley_row[6] / max(1, phoenix_row[6])
    lines.append(f"\nParley stored {speed:.0f}× Phoenix's spans/s (target ≥ 100×) at {memory:.2f} of its peak memory "
                 "(target ≤ 0.10).")
    harness.target("peer: stored spans/s vs Arize Phoenix", "≥ 100×", f"{speed:.0f}×", "", speed >= 100)
    harness.target("peer: peak memory vs Arize Phoenix", "≤ 10%", f"{memory:.2f}", "", memory <= 0.10)
    return ("Peer: Arize Phoenix",
            f"scripts/bench.sh --peer phoenix: wrk -t1 -c8 -d{seconds}s -s scripts/bench/otlp.lua against each, one after the other",
            lines)
