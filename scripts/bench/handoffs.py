#!/usr/bin/env python3
"""Thread hand-offs per request: how many times each of the server's threads went to sleep and
was woken while it answered one request (issue #18, item 7).

    scripts/bench/handoffs.py BINARY [BINARY ...] [--requests 2000] [--workloads single,batch100]

For each binary: `parley serve --threads 1` on a fresh database, then REQUESTS requests of a
workload (callgrind.py's), one at a time on one keep-alive connection, so that every thread a
request passes through is idle when the request reaches it. The kernel's count of voluntary
context switches (`/proc/PID/task/TID/status`) of each thread, before and after, divided by
REQUESTS, is the number of times that thread blocked per request: a hand-off to it, or a wait
inside it (fsync, a lock). Threads are grouped by their kernel name (`parley-io-0`,
`parley-writer`, `parley-reader-N`, and the cooperative pool's dispatch workers). The settler and
the checkpointer run on timers, so their share per request falls as REQUESTS grows.

Prints a Markdown table: binary, workload, thread, switches per request.
"""
from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from callgrind import post, serve  # noqa: E402  (the same requests and server start)


def switches(pid: int) -> dict[str, int]:
    """Voluntary context switches so far, summed by thread name."""
    totals: dict[str, int] = defaultdict(int)
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            status = (task / "status").read_text()
        except OSError:
            continue  # the thread ended between the listing and the read
        if match := re.search(r"^voluntary_ctxt_switches:\s+(\d+)", status, re.M):
            # Dispatch names its workers after their queue; the pool's are "…default-qos".
            totals[re.sub(r"^.*(default-qos|utility-qos|overcommit)$", r"pool (\1)", name)] += int(match.group(1))
    return totals


def measure(binary: str, workload: str, requests: int, work: Path) -> dict[str, float]:
    server = serve(binary, work)
    try:
        connection = server.connection(timeout=60)
        for index in range(20):  # warm: the key cache, prepared statements, the pool's threads
            post(connection, workload, requests + index)
        before = switches(server.pid)
        for index in range(requests):
            post(connection, workload, index)
        after = switches(server.pid)
        connection.close()
        return {name: (after[name] - before.get(name, 0)) / requests for name in after}
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binaries", nargs="+")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--workloads", default="single,batch100")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="parley-handoffs-"))
    print("| binary | workload | thread | blocking waits per request |")
    print("|---|---|---|---|")
    try:
        for binary in args.binaries:
            for workload in args.workloads.split(","):
                count = args.requests if workload != "batch100" else max(1, args.requests // 10)
                figures = measure(binary, workload, count, work)
                for name, value in sorted(figures.items(), key=lambda item: -item[1]):
                    if value >= 0.005:
                        print(f"| {binary} | {workload} | {name} | {value:.2f} |", flush=True)
                print(f"| {binary} | {workload} | **all threads** | {sum(figures.values()):.2f} |", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
