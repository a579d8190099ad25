"""`parley serve` as a child process: on 127.0.0.1 with ephemeral ports, a database file of the
caller's, and a project whose keys come from PARLEY_INIT_*."""
from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Iterator, Sequence

from .client import basic_auth, request

REPO = Path(__file__).resolve().parents[2]
# The keys of the project PARLEY_INIT_* creates, unless a caller names its own.
KEYS = ("pk-lf-test", "sk-lf-test")
# Read by `parley serve` when its flag is absent; the ports and the database come from flags here.
OVERRIDDEN_ENVIRONMENT = ("PARLEY_HOST", "PARLEY_PORT", "PARLEY_TLS_PORT", "PARLEY_DB")
LISTENING = re.compile(r"listening on (https?)://[^\s:]+:(\d+)")


class Endpoint:
    """A server on 127.0.0.1: its plain HTTP `port` and, when it serves TLS, its `tls_port`."""
    port: int | None = None
    tls_port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        return f"https://127.0.0.1:{self.tls_port}"


class Parley(Endpoint):
    """One `parley serve --host 127.0.0.1 --port 0 --db DB` process (plus `--tls-port 0` and the
    pair when `tls` is given). Its stderr goes to `log_path`, appended to across restarts:
    `start()` again after `stop()` or `kill()` serves the same database. As a context manager it
    starts, and at the end stops with SIGTERM; a server still running then must exit 0."""

    def __init__(self, binary: str | Path, db: Path, args: Sequence[str] = (), *,
                 keys: tuple[str, str] = KEYS, env: dict[str, str] | None = None,
                 tls: tuple[Path, Path] | None = None, log_path: Path | None = None,
                 wrapper: Sequence[str] = (), address_space_bytes: int | None = None,
                 start_timeout: float = 60) -> None:
        """`wrapper` runs the binary under another program (valgrind). `address_space_bytes`
        caps the process's virtual memory as `ulimit -v` does (RLIMIT_AS): an allocation past it
        fails and the server dies instead of growing."""
        self.binary, self.db, self.args, self.tls = str(binary), Path(db), list(args), tls
        self.public_key, self.secret_key = keys
        self.wrapper, self.address_space_bytes, self.start_timeout = list(wrapper), address_space_bytes, start_timeout
        self.env = {name: value for name, value in os.environ.items() if name not in OVERRIDDEN_ENVIRONMENT}
        self.env.update(PARLEY_INIT_PUBLIC_KEY=self.public_key, PARLEY_INIT_SECRET_KEY=self.secret_key)
        self.env.update(env or {})
        self.log_path = log_path or self.db.parent / f"{self.db.stem}.log"
        self.process: subprocess.Popen | None = None
        self.port: int | None = None
        self.tls_port: int | None = None

    # -- life cycle

    def start(self, timeout: float | None = None) -> "Parley":
        """Starts the process and returns once it listens (on both ports with TLS)."""
        command = self.wrapper + [self.binary, "serve", "--host", "127.0.0.1", "--port", "0", "--db", str(self.db)]
        if self.tls:
            command += ["--tls-port", "0", "--tls-cert", str(self.tls[0]), "--tls-key", str(self.tls[1])]
        command += self.args
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        limit = self.address_space_bytes

        def cap() -> None:
            import resource
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        with open(self.log_path, "a") as log_file:
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=log_file, env=self.env, preexec_fn=cap if limit else None)
        deadline = time.monotonic() + (timeout or self.start_timeout)
        while True:
            text = self.log_text()[offset:]
            ports = {scheme: int(port) for scheme, port in LISTENING.findall(text)}
            if "http" in ports and ("https" in ports or not self.tls):
                self.port, self.tls_port = ports["http"], ports.get("https")
                return self
            if self.process.poll() is not None or time.monotonic() > deadline:
                code = self.process.poll()
                self.kill()
                raise RuntimeError(f"parley did not start (exit {code}): {text[-2000:]}")
            time.sleep(0.05)

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM, then SIGKILL if it has not exited within `timeout`; the exit status."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return None if self.process is None else self.process.returncode

    def finish(self, timeout: float = 30) -> None:
        """`stop()`; a server that was running must have exited 0 on SIGTERM."""
        was_running = self.alive()
        code = self.stop(timeout)
        if was_running and code != 0:
            raise AssertionError(f"parley exited with {code} after SIGTERM:\n{self.log_text()[-3000:]}")

    def kill(self) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def __enter__(self) -> "Parley":
        return self if self.alive() else self.start()

    def __exit__(self, kind, error, trace) -> None:
        if error is None:
            self.finish()
        else:
            self.stop()

    # -- what it shows

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def rss_kb(self, name: str = "VmRSS") -> int:
        return rss_kb(self.pid, name)

    def connection(self, timeout: float = 30) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method: str, path: str, body: bytes | dict | list | None = None,
                headers: dict[str, str] | None = None, auth: str | None = None,
                timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
        """One request on a fresh connection, with this server's keys unless `auth` is given:
        (status, headers lower-cased, body)."""
        connection = self.connection(timeout)
        try:
            return request(connection, method, path, body, headers,
                           auth or basic_auth(self.public_key, self.secret_key))
        finally:
            connection.close()

    def metrics(self) -> dict[str, float]:
        """`/metrics` as {series: value}, series with their labels as written."""
        _, _, body = self.request("GET", "/metrics")
        values: dict[str, float] = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                series, _, value = line.rpartition(" ")
                values[series] = float(value)
        return values

    def wait_until_settled(self, timeout: float = 30) -> None:
        """Waits until the server has settled every session a write changed (its background
        settler runs shortly after each write; `parley_sessions_dirty` counts what is left).
        Reads through the API settle what they reach themselves; a direct look at the database
        file does not, so it waits for the settler first."""
        if not self.alive():
            return  # a stopped server settled everything before it closed the database
        deadline = time.monotonic() + timeout
        while self.metrics().get("parley_sessions_dirty") != 0:
            if time.monotonic() > deadline:
                raise AssertionError(f"sessions still dirty after {timeout:.0f} s")
            time.sleep(0.02)

    @contextlib.contextmanager
    def connect_readonly(self) -> Iterator[sqlite3.Connection]:
        """A read-only SQLite connection (fine while the server runs: WAL mode), opened once every
        session a write changed is settled, closed on exit."""
        self.wait_until_settled()
        connection = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=10)
        connection.row_factory = sqlite3.Row
        try:
            yield connection
        finally:
            connection.close()


def binary(default: str = ".build/debug/parley") -> Path:
    """The server binary: PARLEY_BIN, else `default`; a relative path is taken from the current
    directory when it exists there, else from the repository root."""
    path = Path(os.environ.get("PARLEY_BIN", default))
    if not path.is_absolute():
        path = path.resolve() if path.exists() else REPO / path
    return path


def rss_kb(pid: int, name: str = "VmRSS") -> int:
    """A memory figure of /proc/PID/status in KiB: VmRSS (now), VmHWM (peak resident), VmSize,
    VmPeak (address space)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(f"{name}:"):
                return int(line.split()[1])
    return 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float = 30) -> None:
    """Returns once something accepts connections on 127.0.0.1:`port`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on {port}") from None
            time.sleep(0.05)


def dev_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A fresh CA and a server certificate for localhost and 127.0.0.1 from
    scripts/gen-dev-cert.sh: (certificate chain, key, CA)."""
    subprocess.run(["bash", str(REPO / "scripts" / "gen-dev-cert.sh"), str(directory)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return directory / "server.pem", directory / "server-key.pem", directory / "ca.pem"
