"""Reads through the real `langfuse==2.60.10` client after the 3-turn scenario was ingested.

One server per module: `v2_scenario.run_scenario` sends the session through the SDK, then the
SDK's own read helpers (`fetch_sessions`, `fetch_traces`, `fetch_trace`, `fetch_observations`,
`fetch_observation`) and the fern client under `langfuse.client` read it back. Every response is
parsed by the SDK's pydantic models (a missing or mistyped required field raises), and every
value is compared with what the scenario created. The HTTP exchanges are recorded so each test
can also check the status codes and the raw JSON types.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any, Dict, List

import httpx
import pydantic.v1
import pytest
from langfuse import Langfuse
from langfuse.api.core.api_error import ApiError

import v2_scenario
from conftest import LANGFUSE_PARITY_ARGS, PUBLIC_KEY, SECRET_KEY, Parley

MODEL = v2_scenario.MODEL


class ReadRecorder:
    """httpx.Client whose response hook keeps (method, path, status, json) of every request."""

    def __init__(self) -> None:
        self.exchanges: List[Dict[str, Any]] = []
        self._lock = threading.Lock()
        self.client = httpx.Client(timeout=20, event_hooks={"response": [self._on_response]})

    def _on_response(self, response: httpx.Response) -> None:
        response.read()
        try:
            body = response.json()
        except ValueError:
            body = None
        with self._lock:
            self.exchanges.append(
                {
                    "method": response.request.method,
                    "path": response.request.url.path,
                    "query": dict(response.request.url.params),
                    "status": response.status_code,
                    "json": body,
                }
            )

    def last(self, path_prefix: str) -> Dict[str, Any]:
        for exchange in reversed(self.exchanges):
            if exchange["method"] == "GET" and exchange["path"].startswith(path_prefix):
                return exchange
        raise AssertionError(f"no GET {path_prefix} recorded")


@pytest.fixture(scope="module")
def scenario(parley_bin, tmp_path_factory):
    """A server holding one scenario run, the run's summary and a read client."""
    recorder = ReadRecorder()
    with Parley(parley_bin, tmp_path_factory.mktemp("v2reads") / "parley.sqlite", LANGFUSE_PARITY_ARGS) as server:
        try:
            summary = v2_scenario.run_scenario(server.url, PUBLIC_KEY, SECRET_KEY)
            langfuse = Langfuse(
                public_key=PUBLIC_KEY, secret_key=SECRET_KEY, host=server.url, httpx_client=recorder.client
            )
            yield {"server": server, "summary": summary, "langfuse": langfuse, "recorder": recorder}
            langfuse.shutdown()
        finally:
            recorder.client.close()


def turn_ids(turn: Dict[str, Any]) -> set:
    return {turn["agent_span_id"], turn["generation_id"], turn["tool_span_id"], turn["event_id"]}


def assert_generation(observation, turn: Dict[str, Any]) -> None:
    """A parsed ObservationsView of the turn's `llm-call` generation."""
    usage = turn["usage"]
    assert observation.id == turn["generation_id"]
    assert observation.type == "GENERATION"
    assert observation.name == "llm-call"
    assert observation.model == MODEL
    assert observation.parent_observation_id == turn["agent_span_id"]
    assert observation.level.value == "DEFAULT"
    assert observation.model_parameters["max_tokens"] == 256
    assert float(observation.model_parameters["temperature"]) == 0.2
    assert (observation.usage.input, observation.usage.output, observation.usage.total) == (
        usage["input"], usage["output"], usage["total"]
    )
    assert observation.usage.unit.value == "TOKENS"
    # Extra keys (allowed by the models) carry Langfuse's usage/cost details verbatim.
    extras = observation.dict()
    assert {k: extras["usageDetails"][k] for k in ("input", "output", "total")} == {
        "input": usage["input"], "output": usage["output"], "total": usage["total"]
    }
    assert extras["costDetails"]["input"] == pytest.approx(usage["input_cost"], rel=1e-9)
    assert extras["costDetails"]["output"] == pytest.approx(usage["output_cost"], rel=1e-9)
    assert extras["costDetails"]["total"] == pytest.approx(usage["total_cost"], rel=1e-9)
    assert observation.calculated_input_cost == pytest.approx(usage["input_cost"], rel=1e-9)
    assert observation.calculated_output_cost == pytest.approx(usage["output_cost"], rel=1e-9)
    assert observation.calculated_total_cost == pytest.approx(usage["total_cost"], rel=1e-9)
    assert observation.end_time is not None and observation.end_time >= observation.start_time
    assert observation.latency is not None and observation.latency >= 0
    assert observation.output["content"] == turn["answer"]
    assert observation.input[0] == {"role": "system", "content": v2_scenario.SYSTEM_PROMPT}
    assert len(observation.input) == 2 * turn["turn"]


def assert_turn_observations(observations, turn: Dict[str, Any]) -> None:
    """The four parsed observations of one turn: types, names, parents, payloads."""
    by_id = {o.id: o for o in observations}
    assert set(by_id) == turn_ids(turn)
    agent = by_id[turn["agent_span_id"]]
    tool = by_id[turn["tool_span_id"]]
    event = by_id[turn["event_id"]]
    for observation in observations:
        assert observation.trace_id == turn["trace_id"]
        assert observation.dict()["environment"] == "production"
    assert (agent.type, agent.name, agent.parent_observation_id) == ("SPAN", "agent-run", None)
    assert agent.output == {"answer": turn["answer"]}
    assert agent.metadata == {"agent": "travel-assistant", "turn_number": turn["turn"]}
    assert agent.end_time is not None
    assert (tool.type, tool.name, tool.parent_observation_id) == ("SPAN", "tool:get_weather", agent.id)
    assert tool.output["city"] == v2_scenario.TURNS[turn["turn"] - 1]["city"]
    assert (event.type, event.name, event.parent_observation_id) == ("EVENT", "guardrail-check", agent.id)
    assert event.output == {"passed": True}
    assert event.metadata == {"policy": "pii"}
    # Spans and events carry no usage: the 2.x Usage model gets zeros, never nulls.
    for other in (agent, tool, event):
        assert (other.usage.input, other.usage.output, other.usage.total) == (0, 0, 0)
        assert other.model is None
    assert_generation(by_id[turn["generation_id"]], turn)


def assert_trace_fields(trace, summary: Dict[str, Any], turn: Dict[str, Any]) -> None:
    index = turn["turn"]
    assert trace.id == turn["trace_id"]
    assert trace.name == "chat-turn"
    assert trace.user_id == summary["user_id"]
    assert trace.session_id == summary["session_id"]
    assert trace.release == "sdk-e2e-1.0.0"
    assert trace.version == "1.0.0"
    assert trace.input == {"role": "user", "content": v2_scenario.TURNS[index - 1]["question"]}
    assert trace.output == {"role": "assistant", "content": turn["answer"]}
    assert trace.metadata == {
        "conversation_id": summary["conversation_id"],
        "turn_number": index,
        "channel": "web",
        "turn_latency_ms": turn["turn_latency_ms"],
    }
    assert sorted(trace.tags) == sorted(["sdk-e2e", "chat", f"turn-{index}"])
    assert trace.dict()["environment"] == "production"


# --------------------------------------------------------------------------------------------


def test_fetch_sessions(scenario):
    summary, langfuse = scenario["summary"], scenario["langfuse"]
    response = langfuse.fetch_sessions()
    assert scenario["recorder"].last("/api/public/sessions")["status"] == 200
    assert [s.id for s in response.data] == [summary["session_id"]]
    (session,) = response.data
    assert isinstance(session.created_at, dt.datetime) and session.created_at.tzinfo is not None
    assert session.project_id
    assert session.environment == "production"
    meta = response.meta
    assert (meta.page, meta.limit, meta.total_items, meta.total_pages) == (1, 50, 1, 1)
    # Parley's aggregates ride along as extra keys.
    extras = session.dict()
    assert extras["userId"] == summary["user_id"]
    assert extras["turnCount"] == 3
    assert extras["observationCount"] == 12
    assert extras["inputTokens"] == sum(t["usage"]["input"] for t in summary["turns"])
    assert extras["outputTokens"] == sum(t["usage"]["output"] for t in summary["turns"])
    assert extras["totalCost"] == pytest.approx(sum(t["usage"]["total_cost"] for t in summary["turns"]), rel=1e-9)

    paged = langfuse.fetch_sessions(page=2, limit=1)
    assert paged.data == [] and paged.meta.total_items == 1 and paged.meta.total_pages == 1


def test_session_get(scenario):
    summary, langfuse = scenario["summary"], scenario["langfuse"]
    session = langfuse.client.sessions.get(summary["session_id"])
    assert session.id == summary["session_id"]
    assert session.environment == "production"
    assert [t.id for t in sorted(session.traces, key=lambda t: t.timestamp)] == [
        t["trace_id"] for t in summary["turns"]
    ]
    by_id = {t.id: t for t in session.traces}
    for turn in summary["turns"]:
        assert_trace_fields(by_id[turn["trace_id"]], summary, turn)


def test_fetch_traces_by_session(scenario):
    summary, langfuse = scenario["summary"], scenario["langfuse"]
    response = langfuse.fetch_traces(session_id=summary["session_id"], order_by="timestamp.asc")
    exchange = scenario["recorder"].last("/api/public/traces")
    assert exchange["status"] == 200 and exchange["query"]["sessionId"] == summary["session_id"]
    assert [t.id for t in response.data] == [t["trace_id"] for t in summary["turns"]]
    assert response.meta.total_items == 3
    score_id = summary["scores"][0]["score_id"]
    for trace, turn in zip(response.data, summary["turns"]):
        assert_trace_fields(trace, summary, turn)
        assert sorted(trace.observations) == sorted(turn_ids(turn))
        assert trace.scores == ([score_id] if turn["turn"] == 2 else [])
        assert trace.total_cost == pytest.approx(turn["usage"]["total_cost"], rel=1e-9)
        assert trace.latency >= 0
        assert trace.html_path.endswith(f"/traces/{turn['trace_id']}")

    by_user = langfuse.fetch_traces(user_id=summary["user_id"], order_by="timestamp.desc")
    assert [t.id for t in by_user.data] == [t["trace_id"] for t in reversed(summary["turns"])]
    tagged = langfuse.fetch_traces(tags=["sdk-e2e", "turn-2"])
    assert [t.id for t in tagged.data] == [summary["turns"][1]["trace_id"]]
    assert langfuse.fetch_traces(session_id="no-such-session").data == []


def test_fetch_trace(scenario):
    summary, langfuse = scenario["summary"], scenario["langfuse"]
    for turn in summary["turns"]:
        trace = langfuse.fetch_trace(turn["trace_id"]).data
        assert_trace_fields(trace, summary, turn)
        assert trace.total_cost == pytest.approx(turn["usage"]["total_cost"], rel=1e-9)
        assert trace.latency >= 0
        assert_turn_observations(trace.observations, turn)
        if turn["turn"] == 2:
            (score,) = trace.scores
            (expected,) = summary["scores"]
            assert score.id == expected["score_id"]
            assert score.trace_id == turn["trace_id"]
            assert (score.name, score.value, score.data_type) == ("user-feedback", 1.0, "NUMERIC")
            assert score.source.value == "API"
            assert score.comment == "thumbs up"
            assert score.observation_id is None
        else:
            assert trace.scores == []
    with pytest.raises(ApiError) as raised:
        langfuse.fetch_trace("no-such-trace")
    assert raised.value.status_code == 404


def test_fetch_observations(scenario):
    summary, langfuse = scenario["summary"], scenario["langfuse"]
    for turn in summary["turns"]:
        response = langfuse.fetch_observations(trace_id=turn["trace_id"])
        assert response.meta.total_items == 4
        assert_turn_observations(response.data, turn)
        starts = [o.start_time for o in response.data]
        assert starts == sorted(starts, reverse=True), "observations must be newest start first"

    first = summary["turns"][0]
    generations = langfuse.fetch_observations(trace_id=first["trace_id"], type="GENERATION")
    assert [o.id for o in generations.data] == [first["generation_id"]]
    children = langfuse.fetch_observations(parent_observation_id=first["agent_span_id"])
    assert sorted(o.id for o in children.data) == sorted(
        [first["generation_id"], first["tool_span_id"], first["event_id"]]
    )
    named = langfuse.fetch_observations(name="llm-call", user_id=summary["user_id"], limit=2)
    assert named.meta.total_items == 3 and named.meta.total_pages == 2 and len(named.data) == 2
    everything = langfuse.fetch_observations(limit=100)
    assert everything.meta.total_items == 12


def test_fetch_observation(scenario):
    summary, langfuse = scenario["summary"], scenario["langfuse"]
    for turn in summary["turns"]:
        generation = langfuse.fetch_observation(turn["generation_id"]).data
        assert_generation(generation, turn)
        assert generation.trace_id == turn["trace_id"]
        event = langfuse.fetch_observation(turn["event_id"]).data
        assert (event.type, event.name, event.parent_observation_id) == (
            "EVENT", "guardrail-check", turn["agent_span_id"]
        )
    raw = scenario["recorder"].last("/api/public/observations/")["json"]
    # The raw JSON types the 4.x models insist on (ints in usage, every key present).
    assert all(type(v) is int for v in raw["usage"].values() if not isinstance(v, str))
    for key in ("input", "output", "modelParameters", "usageDetails", "costDetails", "environment", "level"):
        assert key in raw, key
    with pytest.raises(ApiError) as raised:
        langfuse.fetch_observation("no-such-observation")
    assert raised.value.status_code == 404


def test_metrics_daily(scenario):
    summary, langfuse = scenario["summary"], scenario["langfuse"]
    daily = langfuse.client.metrics.daily()
    assert daily.meta.total_items == len(daily.data) >= 1
    assert sum(d.count_traces for d in daily.data) == 3
    assert sum(d.count_observations for d in daily.data) == 12
    total_cost = sum(t["usage"]["total_cost"] for t in summary["turns"])
    assert sum(d.total_cost for d in daily.data) == pytest.approx(total_cost, rel=1e-9)
    model_rows = [u for d in daily.data for u in d.usage if u.model == MODEL]
    assert sum(u.input_usage for u in model_rows) == sum(t["usage"]["input"] for t in summary["turns"])
    assert sum(u.output_usage for u in model_rows) == sum(t["usage"]["output"] for t in summary["turns"])
    assert sum(u.total_usage for u in model_rows) == sum(t["usage"]["total"] for t in summary["turns"])
    assert sum(u.count_observations for u in model_rows) == 3


def test_score_list(scenario):
    summary, langfuse = scenario["summary"], scenario["langfuse"]
    scores = langfuse.client.score.get()
    assert [s.id for s in scores.data] == [summary["scores"][0]["score_id"]]


def test_score_get_by_id(scenario):
    summary, langfuse = scenario["summary"], scenario["langfuse"]
    score = langfuse.client.score.get_by_id(summary["scores"][0]["score_id"])
    assert score.name == "user-feedback"
