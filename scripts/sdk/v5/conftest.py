"""Fixtures for the OTLP/HTTP tests (langfuse==5.0.4 and plain OpenTelemetry): live parley
servers over HTTP and over HTTPS (a throwaway CA from scripts/gen-dev-cert.sh).

pytest also loads ../conftest.py (the `parley_bin` fixture and the LANGFUSE_* scrub come from
there).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # scripts/, for parleykit
from parleykit.client import basic_auth  # noqa: E402
from parleykit.server import KEYS, Parley, dev_certificates  # noqa: E402

PUBLIC_KEY, SECRET_KEY = KEYS
AUTHORIZATION = basic_auth(*KEYS)


@pytest.fixture(scope="session")
def dev_certs(tmp_path_factory) -> Path:
    """(certificate chain, key, CA) of a throwaway CA (scripts/gen-dev-cert.sh)."""
    return dev_certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture(params=["http", "https"])
def server(request, parley_bin, tmp_path, dev_certs):
    """A fresh parley reached over plain HTTP or over HTTPS; yields (base URL, CA file or None)."""
    cert, key, ca = dev_certs
    https = request.param == "https"
    with Parley(parley_bin, tmp_path / "parley.sqlite", tls=(cert, key) if https else None) as srv:
        yield (srv.tls_url, ca) if https else (srv.url, None)


def run_scenario(script: str, base_url: str, session_id: str, ca: Optional[Path],
                 extra_env: Optional[Dict[str, str]] = None) -> None:
    """Runs one client scenario in its own interpreter (fresh OpenTelemetry global state)."""
    args = [sys.executable, str(HERE / script), "--base-url", base_url, "--session", session_id,
            "--public-key", PUBLIC_KEY, "--secret-key", SECRET_KEY]
    if ca is not None:
        args += ["--ca", str(ca)]
    # requests (under the OTLP exporter) lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE from the
    # environment override Session.verify, i.e. the exporter's certificate_file; drop them so the
    # scenarios exercise the CA settings a developer would use.
    env = {k: v for k, v in os.environ.items() if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    env = {k: v for k, v in env.items() if not k.startswith(("LANGFUSE_", "OTEL_"))}
    env.update(extra_env or {})
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)
    # Export failures are only logged by OpenTelemetry; the scenario scripts turn them into exit 3.
    assert done.returncode == 0, f"{script} exited {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"


def get_session(base_url: str, session_id: str, ca: Optional[Path], expect_traces: int,
                timeout_s: float = 15.0) -> Dict[str, Any]:
    """GET /api/public/sessions/{id} until it shows `expect_traces` traces (or the timeout)."""
    deadline = time.monotonic() + timeout_s
    while True:
        answer = requests.get(f"{base_url}/api/public/sessions/{session_id}", auth=(PUBLIC_KEY, SECRET_KEY),
                              verify=str(ca) if ca else True, timeout=10)
        body: Any = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else answer.text
        if answer.status_code == 200 and len(body.get("traces", [])) >= expect_traces:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"GET /api/public/sessions/{session_id}: {answer.status_code} {answer.text[:2000]}")
        time.sleep(0.2)


def stored_user_id(base_url: str, raw_user_id: str, ca: Optional[Path]) -> str:
    """The id Parley stores for `raw_user_id`: user ids are hashed per project by default
    (docs/PRIVACY.md), and /users/{id} takes the raw id and answers with the stored one."""
    from urllib.parse import quote
    answer = requests.get(f"{base_url}/api/public/users/{quote(raw_user_id, safe='')}", auth=(PUBLIC_KEY, SECRET_KEY),
                          verify=str(ca) if ca else True, timeout=10)
    assert answer.status_code == 200, f"GET /api/public/users/{raw_user_id}: {answer.status_code} {answer.text[:500]}"
    stored = answer.json()["id"]
    assert stored.startswith("u_") and len(stored) == 34 and stored != raw_user_id, stored
    return stored


def walk(observations: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Flattens an observation tree (`children`) depth-first."""
    out: List[Dict[str, Any]] = []
    for node in observations:
        out.append(node)
        out.extend(walk(node.get("children") or []))
    return out


def turn_usage(turn: int) -> Dict[str, int]:
    """The fixture scenario's token usage for turn i (Tests/Fixtures/sdk/README.md)."""
    return {"input": 120 + 40 * turn, "output": 30 + 5 * turn, "total": 150 + 45 * turn}
