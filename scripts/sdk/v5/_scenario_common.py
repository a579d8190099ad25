"""Shared bits of the client scenario scripts (run as `python SCRIPT --base-url ... --session ...`)."""

from __future__ import annotations

import argparse
import logging
from typing import List


def parse_args(doc: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--session", required=True)
    parser.add_argument("--public-key", required=True)
    parser.add_argument("--secret-key", required=True)
    parser.add_argument("--ca", help="CA file to trust for https")
    return parser.parse_args()


class ErrorCollector(logging.Handler):
    """Export failures are only logged (never raised); collect WARNING+ records to fail on them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.name}: {record.getMessage()}")


def install_collector() -> ErrorCollector:
    collector = ErrorCollector()
    for name in ("opentelemetry", "langfuse"):
        logging.getLogger(name).addHandler(collector)
    return collector


def usage(turn: int) -> dict:
    """Tests/Fixtures/sdk/README.md: input = 120 + 40i, output = 30 + 5i."""
    prompt, completion = 120 + 40 * turn, 30 + 5 * turn
    return {"input": prompt, "output": completion, "total": prompt + completion}
