"""HTTP as the API's clients speak it (Basic auth, JSON bodies), timestamps as they send them,
and the key CLI."""
from __future__ import annotations

import base64
import http.client
import json
import re
import subprocess
import time
from pathlib import Path


def basic_auth(public_key: str, secret_key: str) -> str:
    """The Authorization header value of a key pair."""
    return "Basic " + base64.b64encode(f"{public_key}:{secret_key}".encode()).decode()


def request(connection: http.client.HTTPConnection, method: str, path: str,
            body: bytes | str | dict | list | None = None, headers: dict[str, str] | None = None,
            auth: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request on `connection` (left open for the caller to reuse): a dict or list body is
    sent as JSON. Returns (status, headers lower-cased, body)."""
    all_headers = {"Authorization": auth} if auth else {}
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        all_headers["Content-Type"] = "application/json"
    all_headers.update(headers or {})
    connection.request(method, path, body=body, headers=all_headers)
    response = connection.getresponse()
    data = response.read()
    return response.status, {name.lower(): value for name, value in response.getheaders()}, data


def iso(moment: float | None = None) -> str:
    """A Unix time (default now) as the SDKs write timestamps: UTC, milliseconds, `Z`."""
    millis = round((time.time() if moment is None else moment) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(millis // 1000)) + f".{millis % 1000:03d}Z"


def create_key(binary: str | Path, db: Path, project: str) -> tuple[str, str]:
    """`parley keys create --project NAME` on the database file: (public key, secret key)."""
    output = subprocess.run([str(binary), "keys", "create", "--project", project, "--db", str(db)],
                            check=True, capture_output=True, text=True, timeout=60).stdout
    public = re.search(r"public key:\s*(\S+)", output).group(1)
    secret = re.search(r"secret key:\s*(\S+)", output).group(1)
    return public, secret
