"""Durability modes, as far as this machine can show them without cutting its power: the server
runs under strace, a client sends ingestion batches one after another, and the system calls say
whether the WAL reached the disk (fsync/fdatasync of the -wal file) between receiving each batch
and sending its acknowledgement.

- `--durability full` must sync the WAL before every acknowledgement (survives power loss).
- `--durability normal` must not (it survives a process crash, which the crash check proves);
  it is also the control showing that this check can fail."""
from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

from common import AUTH, Context, Parley, Result, log, request

NAME = "durability"
FAST = False
ORDER = 15

REQUESTS = 20


def traced_acks(context: Context, durability: str) -> tuple[int, int, list[str]]:
    """(acknowledgements, acknowledgements preceded by a WAL sync since the previous one, notes)."""
    name = f"durability-{durability}"
    trace = context.path(name) / "strace.txt"
    with context.serve(name, ["--durability", durability, "--log-level", "warning"]) as server:
        notes = traced_requests(server, trace)
    if notes:
        return 0, 0, notes
    acks = synced = 0
    wal_synced = False
    for line in trace.read_text(errors="replace").splitlines():
        if re.search(r"\b(fsync|fdatasync)\(\d+<[^>]*-wal>", line):
            wal_synced = True
        elif re.search(r"\b(write|writev|sendmsg|sendto)\(\d+<(TCP|socket)[^>]*>.*HTTP/1\.1 207", line):
            acks += 1
            synced += wal_synced
            wal_synced = False
    return acks, synced, []


def traced_requests(server: Parley, trace: Path) -> list[str]:
    """REQUESTS batches, one after another, while strace writes `trace`; what went wrong, if anything."""
    tracer = subprocess.Popen(["strace", "-f", "-y", "-qq", "-e", "trace=fsync,fdatasync,write,writev,sendmsg,sendto",
                               "-s", "16", "-o", str(trace), "-p", str(server.pid)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)  # strace attaches to every thread
        connection = server.connection()
        for index in range(REQUESTS):
            body = {"batch": [{"id": f"durable-{index}", "type": "trace-create",
                               "timestamp": "2026-12-02T10:00:00.000Z",
                               "body": {"id": f"t-durable-{index}", "name": "durability"}}]}
            status, _, _ = request(connection, "POST", "/api/public/ingestion", body, auth=AUTH)
            if status != 207:
                return [f"request {index} answered {status}"]
        connection.close()
        time.sleep(0.5)
    finally:
        tracer.terminate()
        tracer.wait()
    return []


def run(context: Context) -> list[Result]:
    if shutil.which("strace") is None:
        return [Result("durability modes (strace)", 0, None, "skipped: strace is not installed (apt-get install strace)")]
    results = []
    for durability, want_synced in (("full", True), ("normal", False)):
        acks, synced, notes = traced_acks(context, durability)
        log(f"{durability}: {synced} of {acks} acknowledgements preceded by a WAL sync")
        passed = acks == REQUESTS and (synced == acks if want_synced else synced == 0)
        expectation = "every one" if want_synced else "none (process-crash safety only)"
        results.append(Result(
            f"durability {durability}: WAL synced before each ack", acks, passed,
            f"{synced} of {acks} acknowledgements preceded by an fsync/fdatasync of the WAL; expected {expectation}",
            notes))
    return results
