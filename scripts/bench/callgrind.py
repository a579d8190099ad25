#!/usr/bin/env python3
"""Instructions per request, counted by callgrind: figures that do not move with the machine's
noise, so two binaries can be compared on a shared machine.

    scripts/bench/callgrind.py BINARY [BINARY ...] [--requests 200]

For each binary: `parley serve` under `valgrind --tool=callgrind` on a fresh database, then
REQUESTS requests of each workload, one at a time on one connection, then SIGTERM; the same with
no request; the difference divided by REQUESTS is the cost of one request (the server's work
plus the idle loop's, which is negligible next to it). Workloads:

* `single`: a one-event batch (a trace-create of a new trace in one of 20 sessions);
* `batch100`: a 100-event batch in the SDK's shape (scripts/bench/ingest.lua's templates);
* `turn`: one turn of one growing session (a trace and a generation), as `longsession` posts;
* `growing`: one long trace, each request an update of the trace (its output and metadata) and
  a new span in it, as an agent run flushed step by step: the cost of folding an entity that
  already has many events.

Prints a Markdown table: binary, workload, instructions per request.
"""
from __future__ import annotations

import argparse
import http.client
import json
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import AUTHORIZATION, iso, start_parley  # noqa: E402
from parleykit.server import Parley  # noqa: E402  (run.py put scripts/ on sys.path)

HEADERS = {"Content-Type": "application/json", "Authorization": AUTHORIZATION}


def stamp(seconds: int, millis: int = 0) -> str:
    return iso(1_772_442_000 + seconds + millis / 1000)


def single(index: int) -> dict:
    trace = f"single-{index}"
    return {"batch": [{"id": f"{trace}-e", "type": "trace-create", "timestamp": stamp(index),
                       "body": {"id": trace, "name": "chat-turn", "sessionId": f"s-{index % 20}", "userId": "u",
                                "timestamp": stamp(index), "input": "question", "metadata": {"turn.number": index // 20 + 1}}}]}


def batch100(index: int) -> dict:
    events = []
    for turn in range(10):
        trace = f"b{index}-t{turn}"
        at = index * 10 + turn
        events.append({"id": f"{trace}-e0", "type": "trace-create", "timestamp": stamp(at),
                       "body": {"id": trace, "name": "chat-turn", "sessionId": f"s-{index % 20}", "userId": "u",
                                "timestamp": stamp(at), "input": {"role": "user", "content": "What is the weather?"},
                                "metadata": {"turn.number": at + 1}, "tags": ["bench"]}})
        for step in range(9):
            kind = ["span-create", "generation-create", "generation-update", "span-create", "span-update",
                    "event-create", "span-update", "span-create", "span-update"][step]
            body = {"id": f"{trace}-o{step // 2}", "traceId": trace, "name": f"step-{step}", "startTime": stamp(at, step * 10)}
            if kind == "generation-update":
                body.update({"id": f"{trace}-o0", "endTime": stamp(at, 500), "usageDetails": {"input": 200, "output": 40},
                             "costDetails": {"total": 5.4e-05}})
            events.append({"id": f"{trace}-e{step + 1}", "type": kind, "timestamp": stamp(at, step * 10 + 1), "body": body})
    return {"batch": events}


def turn(index: int) -> dict:
    trace = f"long-t{index}"
    return {"batch": [
        {"id": f"{trace}-e1", "type": "trace-create", "timestamp": stamp(index * 60),
         "body": {"id": trace, "sessionId": "long", "name": "chat-turn", "timestamp": stamp(index * 60),
                  "input": f"question {index}", "output": f"answer {index}", "metadata": {"turn.number": index + 1}}},
        {"id": f"{trace}-e2", "type": "generation-create", "timestamp": stamp(index * 60, 10),
         "body": {"id": f"{trace}-g", "traceId": trace, "name": "llm-call", "model": "gpt-4o-mini",
                  "startTime": stamp(index * 60, 10), "endTime": stamp(index * 60, 900), "usageDetails": {"input": 100, "output": 20}}},
    ]}


def growing(index: int) -> dict:
    return {"batch": [
        {"id": f"grow-e{index}", "type": "trace-create", "timestamp": stamp(index),
         "body": {"id": "grow", "sessionId": "grow", "name": "agent-run", "output": f"step {index}",
                  "metadata": {f"step{index % 5}": index}}},
        {"id": f"grow-s{index}", "type": "span-create", "timestamp": stamp(index, 10),
         "body": {"id": f"grow-s{index}", "traceId": "grow", "name": f"step-{index}",
                  "startTime": stamp(index, 10), "endTime": stamp(index, 900)}},
    ]}


WORKLOADS = {"single": single, "batch100": batch100, "turn": turn, "growing": growing}


def serve(binary: str, work: Path, wrapper: list[str] | None = None) -> Parley:
    """`parley serve --threads 1` on a fresh database in `work` (under `wrapper`, e.g. valgrind,
    which is slow to start), with the bench key, once it listens."""
    return start_parley(binary, work, work / f"db-{time.time_ns()}.sqlite", threads=1, wrapper=wrapper or [],
                        start_timeout=300)


def post(connection: http.client.HTTPConnection, workload: str, index: int) -> None:
    """Request `index` of `workload`; raises unless it was acknowledged (207)."""
    connection.request("POST", "/api/public/ingestion", body=json.dumps(WORKLOADS[workload](index)), headers=HEADERS)
    answer = connection.getresponse()
    answer.read()
    if answer.status != 207:
        raise RuntimeError(f"{workload} {index}: {answer.status}")


def instructions(binary: str, workload: str | None, requests: int, work: Path) -> int:
    """Total instructions of one server run with `requests` requests of `workload`."""
    out = work / f"callgrind-{time.time_ns()}.out"
    server = serve(binary, work, ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"])
    connection = server.connection(timeout=600)
    for index in range(requests if workload else 0):
        post(connection, workload, index)
    connection.close()
    server.stop(timeout=600)
    totals = re.search(r"^(?:summary|totals):\s+(\d+)", out.read_text(), re.M)
    if not totals:
        raise RuntimeError(f"no totals in {out}")
    return int(totals.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binaries", nargs="+")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--workloads", default="single,batch100,turn")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="parley-callgrind-"))
    print("| binary | workload | instructions per request |")
    print("|---|---|---|")
    for binary in args.binaries:
        idle = instructions(binary, None, 0, work)
        for workload in args.workloads.split(","):
            count = args.requests if workload != "batch100" else max(1, args.requests // 10)
            total = instructions(binary, workload, count, work)
            print(f"| {binary} | {workload} ({count} requests) | {(total - idle) / count:,.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
