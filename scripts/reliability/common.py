"""Shared parts of the reliability checks: the result every check returns, the context that
sets up their servers (scripts/parleykit/server.py, with the reliability keys), and raw HTTP
for clients that write to a socket themselves. Standard library only, so the checks run on a
fresh machine without a venv."""
from __future__ import annotations

import contextlib
import json
import socket
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # scripts/, for parleykit
from parleykit.client import basic_auth, iso, request  # noqa: E402,F401  (request: for the checks)
from parleykit.server import Parley, dev_certificates  # noqa: E402,F401

KEYS = ("pk-lf-reliability", "sk-lf-reliability")
PUBLIC_KEY, SECRET_KEY = KEYS
AUTH = basic_auth(*KEYS)


@dataclass
class Result:
    """One row of the summary table. `passed` is None when the check could not run here
    (reported as skipped with the reason in `figures`, never as a pass)."""
    check: str
    trials: int
    passed: bool | None
    figures: str
    details: list[str] = field(default_factory=list)


@dataclass
class Context:
    binary: str
    work: Path
    fast: bool

    def path(self, name: str) -> Path:
        path = self.work / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def parley(self, name: str, args: Sequence[str] = (), *, binary: str | Path | None = None,
               db: Path | None = None, **options) -> Parley:
        """A server, not started, with the reliability keys, on `db` (default
        WORK/NAME/parley.sqlite), its log beside the database unless `log_path` is given."""
        return Parley(binary or self.binary, db or self.path(name) / "parley.sqlite", args, keys=KEYS, **options)

    @contextlib.contextmanager
    def serve(self, name: str, args: Sequence[str] = (), **options) -> Iterator[Parley]:
        """`parley(...)` started; stopped at the end however the body ends (it may have died or
        been killed on purpose, so its exit status is the check's business)."""
        server = self.parley(name, args, **options).start()
        try:
            yield server
        finally:
            server.stop()


def log(message: str) -> None:
    print(f"  · {message}", flush=True)


def guarded(name: str, check: Callable, *args) -> Result | list[Result]:
    """`check(*args)`; a check that crashes is a failed row named `name`, with its trace printed,
    so that the checks after it still run."""
    try:
        return check(*args)
    except Exception as error:  # noqa: BLE001 - reported, with the trace, as a failed row
        traceback.print_exc()
        return Result(name, 0, False, f"crashed: {error!r}")


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# --- shared by the hostile-client and bad-input checks --------------------------------------

def small_batch(name: str = "normal") -> tuple[dict, list[str]]:
    """A valid two-event batch (a trace and a span in it) and its event ids."""
    import uuid
    now = iso()
    trace_id = str(uuid.uuid4())
    trace_event, span_event = str(uuid.uuid4()), str(uuid.uuid4())
    events = [
        {"id": trace_event, "type": "trace-create", "timestamp": now,
         "body": {"id": trace_id, "name": name, "timestamp": now}},
        {"id": span_event, "type": "span-create", "timestamp": now,
         "body": {"id": str(uuid.uuid4()), "traceId": trace_id, "name": "step", "startTime": now}},
    ]
    return {"batch": events}, [trace_event, span_event]


def raw_request(method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
                auth: bool = True) -> bytes:
    """The bytes of one HTTP/1.1 request, for clients that write to a socket themselves."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if auth:
        lines.append(f"Authorization: {AUTH}")
    all_headers = dict(headers or {})
    if body or method == "POST":
        all_headers.setdefault("Content-Type", "application/json")
        all_headers.setdefault("Content-Length", str(len(body)))
    lines += [f"{name}: {value}" for name, value in all_headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)

    def error_shape(self) -> str | None:
        """None when the body is the project's JSON error shape {"message": str, "error": str},
        else what is wrong with it."""
        if self.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return f"Content-Type {self.headers.get('content-type')!r}, not application/json"
        try:
            body = json.loads(self.body)
        except ValueError:
            return f"body is not JSON: {self.body[:120]!r}"
        if not isinstance(body, dict):
            return f"body is not an object: {self.body[:120]!r}"
        for key in ("message", "error"):
            if not isinstance(body.get(key), str) or not body[key]:
                return f"no non-empty string {key!r} in {self.body[:160]!r}"
        return None


def parse_response(buffer: bytes | bytearray) -> tuple[RawResponse | None, int]:
    """The first complete response in `buffer` (Content-Length or no body) and the bytes it took,
    or (None, 0) while it is incomplete."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None, 0
    lines = bytes(buffer[:end]).decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    total = end + 4 + length
    if len(buffer) < total:
        return None, 0
    return RawResponse(status, headers, bytes(buffer[end + 4:total])), total


def read_response(sock: socket.socket, buffer: bytearray | None = None) -> RawResponse | None:
    """Reads one response from a blocking socket; None if the connection ends first. `buffer`
    carries bytes of later (pipelined) responses between calls."""
    buffer = buffer if buffer is not None else bytearray()
    while True:
        response, used = parse_response(buffer)
        if response is not None:
            del buffer[:used]
            return response
        data = sock.recv(65536)
        if not data:
            return None
        buffer.extend(data)


def wait_for_open_connections(server: Parley, at_most: int = 1, timeout: float = 20) -> int:
    """Polls `parley_http_open_connections` (which counts the /metrics connection itself) until it
    is at most `at_most`; returns the last value seen."""
    deadline = time.monotonic() + timeout
    while True:
        current = int(server.metrics().get("parley_http_open_connections", -1))
        if 0 <= current <= at_most or time.monotonic() > deadline:
            return current
        time.sleep(0.2)


def stored_event_ids(db: Path, ids: list[str]) -> set[str]:
    """Which of `ids` are in the events table."""
    import sqlite3
    found: set[str] = set()
    connection = sqlite3.connect(str(db), timeout=30)
    try:
        connection.execute("PRAGMA busy_timeout=30000")
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(row[0] for row in connection.execute(
                f"SELECT event_id FROM events WHERE event_id IN ({marks})", chunk))
    finally:
        connection.close()
    return found
