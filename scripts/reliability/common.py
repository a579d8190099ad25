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
                 env: dict[str, str] | None = None, tls: tuple[Path, Path] | None = None) -> None:
        self.binary, self.db, self.args, self.tls = binary, db, list(args or []), tls
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
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log_file, env=self.env)
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

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
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
