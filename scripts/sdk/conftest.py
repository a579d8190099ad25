"""Fixtures for the real-SDK end-to-end tests: a live parley server on an ephemeral port."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator, List, Optional, Sequence

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))

PUBLIC_KEY = "pk-lf-test"
# The 2.x and 4.x suites compare what Parley serves with Langfuse's own answers, which carry user
# ids as sent; they run with hashing off. The default (hashing on) is covered by the v5 suites
# (test_v5_privacy.py) and Tests/APITests/PrivacyTests.swift.
LANGFUSE_PARITY_ARGS = ("--hash-user-ids", "false")
SECRET_KEY = "sk-lf-test"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0


def parley_binary() -> Path:
    path = Path(os.environ.get("PARLEY_BIN", ".build/debug/parley"))
    if not path.is_absolute():
        path = (REPO / path) if not path.exists() else path.resolve()
    return path


class ParleyServer:
    """One `parley serve --port 0 --db FILE` process; stderr is drained by a thread."""

    def __init__(self, binary: Path, db_path: Path, public_key: str = PUBLIC_KEY, secret_key: str = SECRET_KEY,
                 extra_args: Sequence[str] = ()):
        self.binary = binary
        self.extra_args = list(extra_args)
        self.db_path = db_path
        self.public_key = public_key
        self.secret_key = secret_key
        self.process: Optional[subprocess.Popen] = None
        self.stderr_lines: List[str] = []
        self.url: Optional[str] = None
        self.returncode: Optional[int] = None
        self._listening = threading.Event()
        self._reader: Optional[threading.Thread] = None

    def start(self) -> "ParleyServer":
        env = dict(os.environ)
        env["PARLEY_INIT_PUBLIC_KEY"] = self.public_key
        env["PARLEY_INIT_SECRET_KEY"] = self.secret_key
        for name in ("PARLEY_PORT", "PARLEY_HOST", "PARLEY_TLS_PORT"):
            env.pop(name, None)
        self.process = subprocess.Popen(
            [str(self.binary), "serve", "--port", "0", "--db", str(self.db_path), *self.extra_args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
            errors="replace",
        )
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._listening.wait(0.05):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop(expect_clean=False)
                raise RuntimeError(
                    f"parley did not start (exit {self.process.returncode}):\n" + "".join(self.stderr_lines)
                )
        return self

    def _drain(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr_lines.append(line)
            if self.url is None and line.startswith("listening on http://"):
                self.url = line.split("listening on ", 1)[1].strip()
                self._listening.set()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, expect_clean: bool = True) -> Optional[int]:
        """SIGTERM, wait, and return the exit code (kills after STOP_TIMEOUT_S)."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                if expect_clean:
                    raise AssertionError("parley did not exit within %ss of SIGTERM" % STOP_TIMEOUT_S)
        if self._reader is not None:
            self._reader.join(timeout=5)
        self.returncode = self.process.returncode
        return self.returncode

    def log(self) -> str:
        return "".join(self.stderr_lines)

    def wait_until_settled(self, timeout: float = 30) -> None:
        """Waits until the server has settled every session a write changed (its background
        settler runs shortly after each write; `parley_sessions_dirty` in /metrics counts what is
        left). Reads through the API settle what they reach themselves; a direct look at the
        database file does not, so it waits for the settler first."""
        import urllib.request
        if not self.running:
            return  # a stopped server settled everything before it closed the database
        deadline = time.monotonic() + timeout
        while True:
            with urllib.request.urlopen(self.url + "/metrics", timeout=10) as answer:
                text = answer.read().decode()
            if "\nparley_sessions_dirty 0\n" in "\n" + text:
                return
            if time.monotonic() > deadline:
                raise AssertionError("sessions still dirty after %.0f s" % timeout)
            time.sleep(0.02)

    @contextlib.contextmanager
    def connect_readonly(self) -> Iterator[sqlite3.Connection]:
        """A read-only SQLite connection, closed on exit (fine while the server runs: WAL mode),
        opened once every session a write changed is settled (`wait_until_settled`)."""
        self.wait_until_settled()
        connection = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
        connection.row_factory = sqlite3.Row
        try:
            yield connection
        finally:
            connection.close()


@pytest.fixture(scope="session")
def parley_bin() -> Path:
    binary = parley_binary()
    if not binary.exists():
        pytest.fail(f"parley binary not found at {binary} (build it with `swift build` or set PARLEY_BIN)")
    return binary


@pytest.fixture(autouse=True)
def _no_langfuse_env(monkeypatch):
    """The SDK falls back to LANGFUSE_* variables (sample rate, debug, host...); keep them out."""
    for name in list(os.environ):
        if name.startswith("LANGFUSE_"):
            monkeypatch.delenv(name, raising=False)


@contextlib.contextmanager
def running(server: ParleyServer) -> Iterator[ParleyServer]:
    """Starts `server`; at the end stops it with SIGTERM, and it must exit 0."""
    server.start()
    try:
        yield server
    finally:
        was_running = server.running
        code = server.stop()
        if was_running:
            assert code == 0, f"parley exited with {code} after SIGTERM:\n{server.log()}"


@pytest.fixture
def parley(parley_bin, tmp_path):
    """A fresh server with an empty database; stopped with SIGTERM at the end (must exit 0)."""
    with running(ParleyServer(parley_bin, tmp_path / "parley.sqlite", extra_args=LANGFUSE_PARITY_ARGS)) as server:
        yield server
