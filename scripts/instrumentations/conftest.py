"""Fixtures for the instrumentation suites: a live parley server, the stub OpenAI server, and an
OTLP tee that forwards every export to parley and keeps a copy (the fixtures of
Tests/Fixtures/instrumentations are these copies, written when CAPTURE_FIXTURES=1)."""

from __future__ import annotations

import gzip
import os
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import List, Tuple

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))  # checks.py, stub_openai.py
sys.path.insert(0, str(HERE.parent))  # scripts/, for parleykit
from parleykit.client import basic_auth  # noqa: E402
from parleykit.server import KEYS, Parley, binary  # noqa: E402
from stub_openai import StubOpenAI  # noqa: E402

PUBLIC_KEY, SECRET_KEY = KEYS


class OTLPTee:
    """An HTTP server that forwards each request to parley unchanged and records it: (path,
    content type, body with any gzip undone, parley's status)."""

    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.exports: List[Tuple[str, str, bytes, int]] = []
        tee = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length", "connection")}
                request = urllib.request.Request(tee.target + self.path, data=body, headers=headers, method="POST")
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        status, payload, kind = response.status, response.read(), response.headers.get("Content-Type", "")
                except urllib.error.HTTPError as error:
                    status, payload, kind = error.code, error.read(), error.headers.get("Content-Type", "")
                plain = gzip.decompress(body) if (self.headers.get("Content-Encoding") or "").lower() == "gzip" else body
                tee.exports.append((self.path, self.headers.get("Content-Type", ""), plain, status))
                self.send_response(status)
                self.send_header("Content-Type", kind or "application/octet-stream")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def traces(self) -> List[bytes]:
        return [body for path, kind, body, _ in self.exports if path.endswith("/traces") and "protobuf" in kind]

    def save_fixtures(self, name: str) -> None:
        """Writes each trace export as Tests/Fixtures/instrumentations/NAME/NN-traces.bin."""
        folder = REPO / "Tests" / "Fixtures" / "instrumentations" / name
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.bin"):
            old.unlink()
        for index, body in enumerate(self.traces()):
            (folder / f"{index:02d}-traces.bin").write_bytes(body)


@pytest.fixture
def parley(tmp_path):
    path = binary()
    if not path.exists():
        pytest.fail(f"parley binary not found at {path} (build it with `swift build` or set PARLEY_BIN)")
    # User ids hashed, the default (unlike the SDK suites' Langfuse-parity servers).
    with Parley(path, tmp_path / "parley.sqlite") as server:
        yield server


@pytest.fixture
def tee(parley):
    t = OTLPTee(parley.url)
    try:
        yield t
    finally:
        t.close()


@pytest.fixture
def stub():
    with StubOpenAI() as s:
        yield s


@pytest.fixture
def auth_header() -> str:
    return basic_auth(PUBLIC_KEY, SECRET_KEY)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith(("LANGFUSE_", "OTEL_", "TRACELOOP_")):
            monkeypatch.delenv(name, raising=False)
