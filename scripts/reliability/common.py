"""Shared parts of the reliability checks: a Parley process on ephemeral ports, HTTP helpers
and the result every check returns. Standard library only, so the checks run on a fresh machine
without a venv."""
from __future__ import annotations

import base64
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

PUBLIC_KEY = "pk-lf-reliability"
SECRET_KEY = "sk-lf-reliability"


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


def log(message: str) -> None:
    print(f"  · {message}", flush=True)


def basic_auth(public_key: str = PUBLIC_KEY, secret_key: str = SECRET_KEY) -> str:
    return "Basic " + base64.b64encode(f"{public_key}:{secret_key}".encode()).decode()


class Parley:
    """`parley serve` on 127.0.0.1 with an ephemeral port and a project created from
    PARLEY_INIT_*. `kill()` sends SIGKILL; `start()` again reuses the same database."""

    def __init__(self, binary: str, db: Path, args: list[str] | None = None, log_name: str | None = None,
                 env: dict[str, str] | None = None, tls: tuple[Path, Path] | None = None,
                 address_space_bytes: int | None = None) -> None:
        """`address_space_bytes` caps the process's virtual memory as `ulimit -v` does
        (RLIMIT_AS): an allocation past it fails and the server dies instead of growing."""
        self.binary, self.db, self.args, self.tls = binary, db, list(args or []), tls
        self.address_space_bytes = address_space_bytes
        self.env = dict(os.environ, PARLEY_INIT_PUBLIC_KEY=PUBLIC_KEY, PARLEY_INIT_SECRET_KEY=SECRET_KEY)
        self.env.update(env or {})
        self.log_path = db.parent / (log_name or f"{db.stem}.log")
        self.process: subprocess.Popen | None = None
        self.port: int | None = None
        self.tls_port: int | None = None

    def start(self, timeout: float = 60) -> "Parley":
        args = [self.binary, "serve", "--host", "127.0.0.1", "--port", "0", "--db", str(self.db)]
        if self.tls:
            args += ["--tls-port", "0", "--tls-cert", str(self.tls[0]), "--tls-key", str(self.tls[1])]
        args += self.args
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log_file = open(self.log_path, "a")
        limit = self.address_space_bytes

        def cap() -> None:
            if limit is not None:
                import resource
                resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log_file, env=self.env,
                                        preexec_fn=cap if limit is not None else None)
        log_file.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            text = self.log_path.read_text(errors="replace")[offset:]
            http_match = re.search(r"listening on http://[^:]+:(\d+)", text)
            https_match = re.search(r"listening on https://[^:]+:(\d+)", text)
            if http_match and (https_match or not self.tls):
                self.port = int(http_match.group(1))
                self.tls_port = int(https_match.group(1)) if https_match else None
                return self
            if self.process.poll() is not None:
                raise RuntimeError(f"parley exited with {self.process.returncode}: {text[-2000:]}")
            time.sleep(0.05)
        raise RuntimeError(f"parley did not start within {timeout} s")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self, timeout: float = 30) -> int | None:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return None if self.process is None else self.process.returncode

    def rss_kb(self, name: str = "VmRSS") -> int:
        """A memory figure of /proc/PID/status in KiB: VmRSS (now), VmHWM (peak resident),
        VmSize, VmPeak (address space)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(f"{name}:"):
                return int(line.split()[1])
        return 0

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def connection(self, timeout: float = 30) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method: str, path: str, body: bytes | dict | list | None = None,
                headers: dict[str, str] | None = None, auth: str | None = None,
                timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
        """One request on a fresh connection: (status, headers lower-cased, body)."""
        return request(self.connection(timeout), method, path, body, headers, auth)


def request(connection: http.client.HTTPConnection, method: str, path: str,
            body: bytes | dict | list | None = None, headers: dict[str, str] | None = None,
            auth: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request on `connection` (kept open for the caller to reuse)."""
    all_headers = {"Authorization": auth or basic_auth()}
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        all_headers["Content-Type"] = "application/json"
    all_headers.update(headers or {})
    connection.request(method, path, body=body, headers=all_headers)
    response = connection.getresponse()
    data = response.read()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- shared by the hostile-client and bad-input checks --------------------------------------

def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def small_batch(name: str = "normal") -> tuple[dict, list[str]]:
    """A valid two-event batch (a trace and a span in it) and its event ids."""
    import uuid
    now = utc_now()
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
        lines.append(f"Authorization: {basic_auth()}")
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


def metrics(server: Parley) -> dict[str, float]:
    """`/metrics` as {series: value}, series with their labels as written."""
    _, _, body = server.request("GET", "/metrics", timeout=30)
    values: dict[str, float] = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            values[series] = float(value)
    return values


def wait_for_open_connections(server: Parley, at_most: int = 1, timeout: float = 20) -> int:
    """Polls `parley_http_open_connections` (which counts the /metrics connection itself) until it
    is at most `at_most`; returns the last value seen."""
    deadline = time.monotonic() + timeout
    while True:
        current = int(metrics(server).get("parley_http_open_connections", -1))
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


def dev_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A fresh CA and server certificate from scripts/gen-dev-cert.sh: (cert chain, key, CA)."""
    script = Path(__file__).resolve().parent.parent / "gen-dev-cert.sh"
    subprocess.run([str(script), str(directory)], check=True, stdout=subprocess.DEVNULL)
    return directory / "server.pem", directory / "server-key.pem", directory / "ca.pem"


# --- OTLP protobuf by hand (opentelemetry/proto/trace/v1/trace.proto) --------------------------

def varint(value: int) -> bytes:
    """A protobuf varint; a negative int64 is written as its 64-bit two's complement (10 bytes)."""
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field(number: int, payload: bytes | str | int, wire: int = 2) -> bytes:
    """One protobuf field: wire 2 (length-delimited), 0 (varint) or 1 (fixed64: an unsigned int,
    or 8 bytes such as a packed double)."""
    if wire == 0:
        return varint(number << 3) + varint(int(payload))
    if wire == 1:
        data = payload if isinstance(payload, bytes) else int(payload).to_bytes(8, "little")
        return varint(number << 3 | 1) + data
    data = payload.encode() if isinstance(payload, str) else payload
    return varint(number << 3 | 2) + varint(len(data)) + data
