"""Disk full: the database lives on a small tmpfs that ingestion fills up. Every write must
then be answered 503 with Retry-After (never 500, never a crash) while reads keep working and
the log says why; once space returns (a filler file deleted) ingestion works again, every
acknowledged event is stored, and `PRAGMA integrity_check` says ok, also after a restart.

Needs root (mount -t tmpfs); elsewhere it reports "skipped" with the reason, never a pass."""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import threading
import time
import uuid
from pathlib import Path

from common import Context, Parley, Result, iso, log

NAME = "disk-full"
FAST = True
ORDER = 55

TMPFS_MB = 32
LEFT_FREE_BYTES = 12_000_000 # what the filler file leaves for the database to grow into
WRITERS = 4                  # concurrent connections filling the disk


def mount_tmpfs(target: Path) -> str | None:
    """Mounts a small tmpfs at `target`; the reason it could not, or None."""
    if os.geteuid() != 0:
        return "needs root to mount a tmpfs"
    if not shutil.which("mount"):
        return "no mount command"
    target.mkdir(parents=True, exist_ok=True)
    completed = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_MB}m,mode=0755", "tmpfs", str(target)],
                               capture_output=True, text=True)
    if completed.returncode != 0:
        return f"mount -t tmpfs failed: {completed.stderr.strip() or completed.returncode}"
    return None


def unmount(target: Path) -> None:
    subprocess.run(["umount", "-l", str(target)], capture_output=True)


def free_bytes(path: Path) -> int:
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


def batch(payload_bytes: int, events: int = 3) -> tuple[dict, list[str]]:
    """`events` traces, each with an input of `payload_bytes` of incompressible text."""
    now = iso()
    body, ids = [], []
    for _ in range(events):
        event_id = str(uuid.uuid4())
        body.append({"id": event_id, "type": "trace-create", "timestamp": now,
                     "body": {"id": str(uuid.uuid4()), "name": "disk-full", "sessionId": "disk-full",
                              "timestamp": now, "input": os.urandom(payload_bytes // 2).hex()}})
        ids.append(event_id)
    return {"batch": body}, ids


def otlp(payload_bytes: int) -> tuple[dict, list[str]]:
    span_id = os.urandom(8).hex()
    now = time.time_ns()
    body = {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"scope": {"name": "disk-full"}, "spans": [{
        "traceId": os.urandom(16).hex(), "spanId": span_id, "name": "disk-full", "kind": 1,
        "startTimeUnixNano": str(now), "endTimeUnixNano": str(now + 1000),
        "attributes": [{"key": "input.value", "value": {"stringValue": os.urandom(payload_bytes // 2).hex()}}]}]}]}]}
    return body, [span_id]


class Client:
    """Sends writes and keeps the ledger of what the server acknowledged."""

    def __init__(self, server: Parley) -> None:
        self.server = server
        self.lock = threading.Lock()
        self.events: set[str] = set()
        self.spans: set[str] = set()
        self.statuses: dict[int, int] = {}
        self.unexpected: list[str] = []
        self.without_retry_after = 0

    def send(self, kind: str, payload_bytes: int) -> int:
        if kind == "otlp":
            body, ids = otlp(payload_bytes)
            path = "/api/public/otel/v1/traces"
        elif kind == "session":
            body, ids = {"id": f"disk-full-{uuid.uuid4()}", "metadata": {"x": os.urandom(payload_bytes // 2).hex()}}, []
            path = "/api/public/sessions"
        elif kind == "score":
            body, ids = {"traceId": "disk-full", "name": "n", "value": 1, "comment": os.urandom(payload_bytes // 2).hex()}, []
            path = "/api/public/scores"
        else:
            body, ids = batch(payload_bytes)
            path = "/api/public/ingestion"
        status, headers, data = self.server.request("POST", path, body, timeout=60)
        with self.lock:
            self.record(kind, status, headers, data, ids)
        return status

    def record(self, kind: str, status: int, headers: dict[str, str], data: bytes, ids: list[str]) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status == 503:
            if "retry-after" not in headers:
                self.without_retry_after += 1
        elif kind == "batch" and status == 207:
            answer = json.loads(data)
            self.events.update(item["id"] for item in answer.get("successes", []))
            if answer.get("errors"):
                self.unexpected.append(f"batch errors: {answer['errors'][:1]}")
        elif kind == "otlp" and status == 200:
            if (json.loads(data or b"{}").get("partialSuccess") or {}).get("rejectedSpans"):
                self.unexpected.append(f"OTLP rejected spans: {data[:160]!r}")
            else:
                self.spans.update(ids)
        elif status not in (200, 201, 207):
            self.unexpected.append(f"{kind}: {status} {data[:160]!r}")

    def refused(self) -> int:
        with self.lock:
            return self.statuses.get(503, 0)


def verify(db: Path, events: set[str], spans: set[str]) -> tuple[int, str]:
    """(acknowledged ids missing, integrity_check)."""
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        stored_events = {row[0] for row in connection.execute("SELECT event_id FROM events")}
        stored_spans = {row[0] for row in connection.execute("SELECT observation_id FROM observations")}
        missing = len(events - stored_events) + len(spans - stored_spans)
        return missing, connection.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        connection.close()


def run(context: Context) -> Result:
    directory = context.path("disk-full")
    mount_point = directory / "tmpfs"
    reason = mount_tmpfs(mount_point)
    if reason:
        return Result("disk full", 0, None, f"skipped: {reason}")
    failures: list[str] = []
    server: Parley | None = None
    try:
        db = mount_point / "parley.sqlite"
        # The log must not live on the disk being filled.
        server = context.parley("disk-full", ["--log-level", "warning"], db=db, log_path=directory / "parley.log")
        server.start()
        client = Client(server)
        for _ in range(3):
            if client.send("batch", 2_000) != 207:
                failures.append("control: ingestion fails before the disk is full")
        filler = mount_point / "filler"
        with open(filler, "wb") as out:
            out.write(b"\0" * max(0, free_bytes(mount_point) - LEFT_FREE_BYTES))
        log(f"tmpfs of {TMPFS_MB} MB, {free_bytes(mount_point):,} bytes left free for the database")

        # Fill: big batches and OTLP exports over several connections (so full-disk failures
        # meet group transactions) until the server has refused a few dozen of them.
        stop = threading.Event()
        sent_until_full = []

        def writer(index: int) -> None:
            sent = 0
            while not stop.is_set() and client.refused() < 30:
                client.send("otlp" if index % 2 else "batch", 400_000)
                sent += 1
                if client.refused() == 0:
                    sent_until_full.append(1)
        threads = [threading.Thread(target=writer, args=(index,), daemon=True) for index in range(WRITERS)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and client.refused() < 30 and server.alive():
            time.sleep(0.05)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        first_full = len(sent_until_full) if client.refused() else None
        if first_full is None:
            failures.append("the disk never filled: no 503 within 30 s of 180 kB writes")
        full_free = free_bytes(mount_point)
        refused_before = client.refused()
        for round_ in range(5):
            for kind in ("batch", "otlp", "session", "score"):
                client.send(kind, 200_000)
        refused_while_full = client.refused() - refused_before
        if not server.alive():
            failures.append(f"the server died while the disk was full (exit {server.process.returncode})")
            return Result("disk full", sum(client.statuses.values()), False, "server died", failures)
        reads = {path: server.request("GET", path)[0] for path in
                 ("/api/public/health", "/api/public/ready", "/api/public/traces?limit=5", "/api/public/sessions")}
        if any(status != 200 for status in reads.values()):
            failures.append(f"reads while the disk is full: {reads}")
        warnings = [line for line in server.log_text().splitlines() if "disk is full" in line]
        if not warnings:
            failures.append("no 'disk is full' warning in the log")

        # Room again: delete the filler; ingestion must come back.
        filler.unlink()
        freed_at = time.monotonic()
        recovered_after = None
        while time.monotonic() - freed_at < 20:
            if client.send("batch", 60_000) == 207:
                recovered_after = time.monotonic() - freed_at
                break
            time.sleep(0.2)
        if recovered_after is None:
            failures.append("ingestion did not work again within 20 s of freeing space")
        for kind in ("batch", "otlp", "batch", "otlp"):
            if client.send(kind, 20_000) not in (200, 207):
                failures.append(f"{kind} failed after space returned")
        missing, integrity = verify(db, client.events, client.spans)
        if missing or integrity != "ok":
            failures.append(f"while running: {missing} acknowledged ids missing, integrity {integrity!r}")
        exit_code = server.stop()
        if exit_code != 0:
            failures.append(f"the server exited with {exit_code} on SIGTERM")
        # A restart on the same file, and the check again.
        server.start()
        if server.request("GET", "/api/public/traces?limit=1")[0] != 200:
            failures.append("reads fail after a restart")
        server.stop()
        missing_after, integrity_after = verify(db, client.events, client.spans)
        if missing_after or integrity_after != "ok":
            failures.append(f"after a restart: {missing_after} acknowledged ids missing, integrity {integrity_after!r}")
        # The verifier must be able to fail: an id never sent is reported missing.
        if verify(db, client.events | {str(uuid.uuid4())}, client.spans)[0] != 1:
            failures.append("control: the verifier did not notice an event that was never stored")
        if client.without_retry_after:
            failures.append(f"{client.without_retry_after} 503s without Retry-After")
        failures += client.unexpected[:5]
        requests = sum(client.statuses.values())
        statuses = ", ".join(f"{status}: {count}" for status, count in sorted(client.statuses.items()))
        figures = (f"{TMPFS_MB} MB tmpfs, {LEFT_FREE_BYTES // 1000} kB left by a filler: full after "
                   f"~{first_full if first_full is not None else '-'} writes over {WRITERS} connections ({full_free:,} bytes free); "
                   f"{refused_while_full}/20 writes refused while full (batch, OTLP, session, score); "
                   f"statuses {statuses}; {len(warnings)} log warning(s); ingestion back "
                   f"{f'{recovered_after:.1f} s' if recovered_after is not None else 'never'} after the filler went; "
                   f"{len(client.events)} events + {len(client.spans)} spans acknowledged, {missing_after} lost; "
                   f"integrity {integrity_after}")
        return Result("disk full", requests, not failures, figures, failures)
    finally:
        if server is not None:
            server.stop()
        unmount(mount_point)
