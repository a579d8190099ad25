"""Fixtures for the real-SDK end-to-end tests: a live parley server on an ephemeral port
(scripts/parleykit/server.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the scenario modules (v2_scenario.py)
sys.path.insert(0, str(HERE.parent))  # scripts/, for parleykit
from parleykit.server import KEYS, Parley, binary  # noqa: E402

PUBLIC_KEY, SECRET_KEY = KEYS
# The 2.x and 4.x suites compare what Parley serves with Langfuse's own answers, which carry user
# ids as sent; they run with hashing off. The default (hashing on) is covered by the v5 suites
# (test_v5_privacy.py) and Tests/APITests/PrivacyTests.swift.
LANGFUSE_PARITY_ARGS = ("--hash-user-ids", "false")


@pytest.fixture(scope="session")
def parley_bin() -> Path:
    path = binary()
    if not path.exists():
        pytest.fail(f"parley binary not found at {path} (build it with `swift build` or set PARLEY_BIN)")
    return path


@pytest.fixture(scope="session")
def langfuse_parity_args():
    """The flags of a server that answers as Langfuse does (LANGFUSE_PARITY_ARGS)."""
    return LANGFUSE_PARITY_ARGS


@pytest.fixture(autouse=True)
def _no_langfuse_env(monkeypatch):
    """The SDK falls back to LANGFUSE_* variables (sample rate, debug, host...); keep them out."""
    for name in list(os.environ):
        if name.startswith("LANGFUSE_"):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def parley(parley_bin, tmp_path):
    """A fresh server with an empty database; stopped with SIGTERM at the end (must exit 0)."""
    with Parley(parley_bin, tmp_path / "parley.sqlite", LANGFUSE_PARITY_ARGS) as server:
        yield server
