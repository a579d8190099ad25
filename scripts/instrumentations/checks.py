"""What a user of each instrumentation sees in Parley, asserted the same way for every library:
the session groups its three turns and its user, each generation's cost is what the published
price table gives for its usage, the streamed call has a time to first token, the tool is a
TOOL, the failed call counts as many errors as it has ERROR spans, and no streaming chunk became
an observation of its own."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import requests

REPO = Path(__file__).resolve().parent.parent.parent
PRICES = REPO / "Sources" / "PriceData" / "Data" / "langfuse-default-model-prices.json"
MODEL = "gpt-4o-mini"

STREAM_PROMPT = "Tell me the answer, streamed."
TOOL_PROMPT = "What is the weather in Paris?"
FAIL_PROMPT = "FAIL this request on purpose."


def get_weather(city: str) -> str:
    """The scenario's tool: the weather in a city."""
    return f"Sunny, 21 degrees in {city}."


@dataclass
class Expectations:
    session_id: str
    user_id: str
    turns: int = 3
    # False where the library sends no first-token signal for a streamed call.
    ttft: bool = True
    # The cost source of generations: "inferred" from prices, or "given" by the library.
    cost_source: str = "inferred"


def expected_cost(model: str, usage: Dict[str, int]) -> Optional[float]:
    """usage × the default tier's prices of the first table entry whose pattern matches, summed:
    an independent reading of the table (Python's re) to compare Parley's figures with."""
    for entry in json.loads(PRICES.read_text()):
        pattern = entry["matchPattern"]
        flags = 0
        if pattern.startswith("(?i)"):
            pattern, flags = pattern[4:], re.IGNORECASE
        if re.search(pattern, model, flags):
            tier = next(t for t in entry["pricingTiers"] if t["isDefault"])
            costs = [tier["prices"][key] * units for key, units in usage.items() if key in tier["prices"] and key != "total"]
            return sum(costs) if costs else None
    return None


class Parley:
    def __init__(self, url: str, auth_header: str) -> None:
        self.url = url.rstrip("/")
        self.headers = {"Authorization": auth_header}

    def get(self, path: str, **params) -> requests.Response:
        return requests.get(self.url + path, headers=self.headers, params=params, timeout=30)

    def json(self, path: str, **params) -> dict:
        response = self.get(path, **params)
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text}"
        return response.json()

    def wait_for_session(self, session_id: str, turns: int, timeout_s: float = 20.0) -> dict:
        """The session once it has `turns` traces (exporters may still be flushing)."""
        deadline = time.monotonic() + timeout_s
        last = None
        while time.monotonic() < deadline:
            response = self.get(f"/api/public/sessions/{session_id}")
            if response.status_code == 200:
                last = response.json()
                if len(last.get("traces", [])) >= turns:
                    return last
            time.sleep(0.2)
        raise AssertionError(f"session {session_id} did not get {turns} traces: {json.dumps(last)[:2000]}")


def flatten(observations: List[dict]) -> List[dict]:
    out = []
    for observation in observations:
        out.append(observation)
        out.extend(flatten(observation.get("children") or []))
    return out


def check_scenario(parley: Parley, expect: Expectations, error_spans: int) -> dict:
    """Runs every check of the module docstring; returns the session for library-specific ones."""
    session = parley.wait_for_session(expect.session_id, expect.turns)
    traces = session["traces"]
    assert len(traces) == expect.turns, [t["name"] for t in traces]

    # The user groups the session (stored hashed; the API takes the raw id).
    user = parley.json(f"/api/public/users/{expect.user_id}")
    assert expect.session_id in json.dumps(user), f"user {expect.user_id} does not list the session: {user}"
    assert all(t["userId"] == traces[0]["userId"] and t["userId"] for t in traces), [t["userId"] for t in traces]

    observations = {t["id"]: parley.json(f"/api/public/traces/{t['id']}")["observations"] for t in traces}
    every = [o for obs in observations.values() for o in obs]

    # No streaming chunk or first-token marker became an observation of its own.
    names = [o["name"] for o in every]
    assert not any("chunk" in (n or "") or n == "First Token Stream Event" for n in names), names

    # Cost: every generation with usage costs what the table says, and the session sums them.
    generations = [o for o in every if o["type"] == "GENERATION" and o.get("usageDetails")]
    assert generations, f"no generation with usage among {names}"
    for generation in generations:
        usage = {k: v for k, v in generation["usageDetails"].items()}
        want = expected_cost(generation["model"] or MODEL, usage)
        got = generation["calculatedTotalCost"]
        assert want is not None and want > 0, f"{generation['model']}: {usage}"
        assert abs(got - want) <= 1e-12 + 1e-9 * want, f"{generation['name']}: cost {got}, table gives {want} for {usage}"
        assert generation["costSource"] == expect.cost_source, generation["costSource"]
    session_cost = sum(t["totalCost"] for t in traces)
    assert session_cost > 0
    listed = parley.json("/api/public/sessions", limit=50)
    listed_session = next(s for s in listed["data"] if s["id"] == expect.session_id)
    assert abs(listed_session["totalCost"] - session_cost) < 1e-9, (listed_session, session_cost)

    # Time to first token on the streamed call.
    if expect.ttft:
        streamed = [g for g in generations if g.get("completionStartTime")]
        assert streamed, "no generation has completionStartTime"
        for g in streamed:
            assert g["startTime"] <= g["completionStartTime"] <= g["endTime"], g

    # The tool call is a TOOL.
    tools = [o for o in every if o["type"] == "TOOL"]
    assert tools, f"no TOOL among {[(o['type'], o['name']) for o in every]}"

    # The failed call: as many errors as ERROR spans, no second one for its exception event.
    failed = [t for t in traces if any(o["level"] == "ERROR" for o in observations[t["id"]])]
    assert len(failed) == 1, [t["name"] for t in failed]
    errors = [o for o in observations[failed[0]["id"]] if o["level"] == "ERROR"]
    assert len(errors) == error_spans, [(o["type"], o["name"]) for o in errors]
    assert not any(o["type"] == "EVENT" and o["name"] == "exception" for o in errors)
    return session


def error_span_count(exports: List[bytes]) -> int:
    """Spans sent as errors in the captured protobuf exports (status ERROR, or Langfuse's
    `langfuse.observation.level` ERROR), decoded with opentelemetry-proto."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    def is_error(span) -> bool:
        level = next((a.value.string_value for a in span.attributes if a.key == "langfuse.observation.level"), None)
        return level == "ERROR" if level else span.status.code == 2

    count = 0
    for body in exports:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                count += sum(1 for span in scope.spans if is_error(span))
    return count
