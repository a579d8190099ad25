"""Fixtures for the langfuse==4.18.0 read tests: one live parley holding the 2.60.10 capture.

pytest also loads ../conftest.py (the `parley_bin` and `langfuse_parity_args` fixtures and the
LANGFUSE_* scrub come from there).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest
import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # scripts/, for parleykit
from parleykit.server import Parley  # noqa: E402

REPO = HERE.parent.parent.parent
FIXTURES = REPO / "Tests" / "Fixtures" / "sdk"
V2_CAPTURE = FIXTURES / "langfuse-python-2.60.10"
V4_CAPTURE = FIXTURES / "langfuse-python-4.18.0"

# The keys the captured requests carry (Tests/Fixtures/sdk/README.md).
CAPTURE_PUBLIC_KEY = "pk-lf-capture"
CAPTURE_SECRET_KEY = "sk-lf-capture"


def post_capture(url: str, path: Path) -> Dict[str, Any]:
    """POSTs one captured ingestion body unchanged; every event must be accepted."""
    body = path.read_bytes()
    answer = requests.post(
        url + "/api/public/ingestion",
        data=body,
        headers={"Content-Type": "application/json"},
        auth=(CAPTURE_PUBLIC_KEY, CAPTURE_SECRET_KEY),
        timeout=20,
    )
    assert answer.status_code == 207, (path.name, answer.status_code, answer.text)
    result = answer.json()
    assert result["errors"] == [], (path.name, result)
    sent = [event["id"] for event in json.loads(body)["batch"]]
    assert sorted(s["id"] for s in result["successes"]) == sorted(sent), path.name
    return result


@pytest.fixture(scope="session")
def expected() -> Dict[str, Any]:
    """What the server should expose after the 2.60.10 capture (its expected.json)."""
    return json.loads((V2_CAPTURE / "expected.json").read_text())


@pytest.fixture(scope="session")
def capture_batches() -> List[Dict[str, Any]]:
    return [json.loads((V2_CAPTURE / name).read_text()) for name in ("ingestion-batch-1.json", "ingestion-batch-2.json")]


@pytest.fixture(scope="session")
def v4_score_event() -> Dict[str, Any]:
    """The 4.18.0 `score-create` event: a score for an OTel trace this server never receives."""
    (event,) = json.loads((V4_CAPTURE / "ingestion-score-create.json").read_text())["batch"]
    return event


@pytest.fixture(scope="session")
def capture_server(parley_bin, langfuse_parity_args, tmp_path_factory):
    """parley with the capture keys, holding both 2.60.10 batches and the 4.18.0 score event."""
    with Parley(parley_bin, tmp_path_factory.mktemp("v4reads") / "parley.sqlite", langfuse_parity_args,
                keys=(CAPTURE_PUBLIC_KEY, CAPTURE_SECRET_KEY)) as server:
        for name in ("ingestion-batch-1.json", "ingestion-batch-2.json"):
            post_capture(server.url, V2_CAPTURE / name)
        post_capture(server.url, V4_CAPTURE / "ingestion-score-create.json")
        yield server
