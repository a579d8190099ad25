"""Reads through the real `langfuse==4.18.0` API client (`Langfuse(...).api`).

The server holds the 2.60.10 capture (Tests/Fixtures/sdk/langfuse-python-2.60.10/, posted
unchanged) plus the 4.18.0 `score-create` event. The 4.x fern client parses every answer with
its pydantic models, which are much stricter than 2.x's (sdk-wire.md §5): a missing required
key, a null where a value is required, a float in `usageDetails`, an unknown `level`/`source`
or an id of the wrong type raises. The values are compared with expected.json and with the
captured batches themselves (ids, parents, types).
"""

from __future__ import annotations

import json
import threading
from importlib.metadata import version
from typing import Any, Dict, List

import httpx
import pytest

if not version("langfuse").startswith("4."):
    # Collected by a plain `pytest scripts/sdk` in the 2.x venv: these tests need .venv-sdk-v4/.
    pytest.skip("needs langfuse 4.x: run scripts/sdk/run.sh (it uses .venv-sdk-v4/)", allow_module_level=True)

from langfuse import Langfuse
from langfuse.api.core.api_error import ApiError

from conftest import CAPTURE_PUBLIC_KEY, CAPTURE_SECRET_KEY

OBSERVATION_TYPES = {"span-create": "SPAN", "generation-create": "GENERATION", "event-create": "EVENT"}


class ReadRecorder:
    """Keeps (method, path, status, json) of every exchange the client makes."""

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
                    "headers": dict(response.request.headers),
                }
            )

    def last(self, path: str) -> Dict[str, Any]:
        for exchange in reversed(self.exchanges):
            if exchange["path"] == path:
                return exchange
        raise AssertionError(f"no request to {path} recorded")


@pytest.fixture(scope="module")
def client(capture_server):
    recorder = ReadRecorder()
    langfuse = Langfuse(
        public_key=CAPTURE_PUBLIC_KEY,
        secret_key=CAPTURE_SECRET_KEY,
        host=capture_server.url,
        tracing_enabled=False,
        httpx_client=recorder.client,
    )
    try:
        yield langfuse.api, recorder
    finally:
        langfuse.shutdown()
        recorder.client.close()
    # The client only read: nothing but GET (and the tests' own explicit writes) went out.
    assert all(x["status"] < 500 for x in recorder.exchanges), [x for x in recorder.exchanges if x["status"] >= 500]


@pytest.fixture(scope="module")
def capture(capture_batches) -> Dict[str, Any]:
    """The traces, observations and scores the captured batches describe (merged like the server)."""
    traces: Dict[str, Dict[str, Any]] = {}
    observations: Dict[str, Dict[str, Any]] = {}
    scores: Dict[str, Dict[str, Any]] = {}
    for batch in capture_batches:
        for event in batch["batch"]:
            kind, body = event["type"], event["body"]
            if kind == "trace-create":
                trace = traces.setdefault(body["id"], {"metadata": {}})
                for key, value in body.items():
                    if key == "metadata":
                        trace["metadata"].update(value)
                    else:
                        trace[key] = value
            elif kind in OBSERVATION_TYPES:
                observations[body["id"]] = {**body, "type": OBSERVATION_TYPES[kind]}
            elif kind in ("span-update", "generation-update"):
                observations[body["id"]].update(body)
            elif kind == "score-create":
                scores[body["id"]] = body
    return {"traces": traces, "observations": observations, "scores": scores}


def observations_of(capture: Dict[str, Any], trace_id: str) -> Dict[str, Dict[str, Any]]:
    return {k: v for k, v in capture["observations"].items() if v["traceId"] == trace_id}


def assert_trace(trace, capture: Dict[str, Any], expected: Dict[str, Any]) -> None:
    """A parsed 4.x Trace (or subclass) against the captured trace body."""
    sent = capture["traces"][trace.id]
    assert trace.name == sent["name"] == "chat-turn"
    assert trace.user_id == expected["user_id"] == sent["userId"]
    assert trace.session_id == expected["session_id"] == sent["sessionId"]
    assert trace.release == sent["release"]
    assert trace.version == sent["version"]
    assert trace.input == sent["input"]
    assert trace.output == sent["output"]
    assert trace.metadata == sent["metadata"]
    assert sorted(trace.tags) == sorted(sent["tags"])
    assert trace.environment == "production"
    assert trace.public is False


def assert_observations(observations, turn: Dict[str, Any], capture: Dict[str, Any]) -> None:
    """Parsed 4.x ObservationsView items of one turn against expected.json and the capture."""
    sent = observations_of(capture, turn["trace_id"])
    by_id = {o.id: o for o in observations}
    assert set(by_id) == set(sent)
    for observation_id, observation in by_id.items():
        body = sent[observation_id]
        assert observation.trace_id == turn["trace_id"]
        assert observation.type == body["type"]
        assert observation.name == body["name"]
        assert observation.parent_observation_id == body.get("parentObservationId")
        assert observation.environment == "production"
        assert observation.level.value == "DEFAULT"
        assert observation.input == body["input"]
        if "output" in body:
            assert observation.output == body["output"]
        assert observation.metadata == body["metadata"]
        if "endTime" in body:
            assert observation.end_time is not None and observation.end_time >= observation.start_time
    (root,) = [o for o in observations if o.parent_observation_id is None]
    assert (root.type, root.name) == ("SPAN", "agent-run")
    children = [o for o in observations if o.parent_observation_id == root.id]
    assert len(children) == 3

    generation_expected = turn["generation"]
    (generation,) = [o for o in observations if o.type == "GENERATION"]
    assert generation.name == generation_expected["name"]
    assert generation.model == generation_expected["model"]
    usage = generation_expected["usage"]
    cost = generation_expected["cost"]
    assert (generation.usage.input, generation.usage.output, generation.usage.total) == (
        usage["input"], usage["output"], usage["total"]
    )
    assert {k: generation.usage_details[k] for k in ("input", "output", "total")} == usage
    assert all(type(v) is int for v in generation.usage_details.values())
    for key in ("input", "output", "total"):
        assert generation.cost_details[key] == pytest.approx(cost[key], rel=1e-9)
    assert generation.calculated_input_cost == pytest.approx(cost["input"], rel=1e-9)
    assert generation.calculated_output_cost == pytest.approx(cost["output"], rel=1e-9)
    assert generation.calculated_total_cost == pytest.approx(cost["total"], rel=1e-9)
    assert generation.model_parameters["max_tokens"] == 256
    assert float(generation.model_parameters["temperature"]) == 0.2

    tools = [o for o in observations if turn["tool_observation_name_contains"] in (o.name or "")]
    assert len(tools) == 1 and tools[0].type == "SPAN" and tools[0].parent_observation_id == root.id
    (event,) = [o for o in observations if o.type == "EVENT"]
    assert event.name == turn["event_name"] and event.parent_observation_id == root.id
    for other in [o for o in observations if o.type != "GENERATION"]:
        assert (other.usage.input, other.usage.output, other.usage.total) == (0, 0, 0)
        assert other.usage_details == {} and other.cost_details == {}


def score_id_of(turn: Dict[str, Any], capture: Dict[str, Any]) -> str:
    (score_id,) = [k for k, v in capture["scores"].items() if v["traceId"] == turn["trace_id"]]
    return score_id


# --------------------------------------------------------------------------------------------


def test_health_and_project(client):
    api, recorder = client
    health = api.health.health()
    assert health.status == "OK" and health.version
    projects = api.projects.get()
    (project,) = projects.data
    assert project.id and project.name and project.organization.id
    headers = recorder.last("/api/public/projects")["headers"]
    assert headers["x-langfuse-sdk-version"] == "4.18.0"


def test_sessions_list(client, expected):
    api, recorder = client
    sessions = api.sessions.list()
    assert recorder.last("/api/public/sessions")["status"] == 200
    (session,) = sessions.data
    assert session.id == expected["session_id"]
    assert session.environment == "production"
    assert session.created_at.tzinfo is not None
    assert session.project_id == api.projects.get().data[0].id
    assert (sessions.meta.page, sessions.meta.limit, sessions.meta.total_items, sessions.meta.total_pages) == (1, 50, 1, 1)
    extras = session.model_extra
    assert extras["userId"] == expected["user_id"]
    assert extras["turnCount"] == expected["trace_count"]
    assert extras["inputTokens"] == sum(t["generation"]["usage"]["input"] for t in expected["turns"])
    assert extras["totalCost"] == pytest.approx(sum(t["generation"]["cost"]["total"] for t in expected["turns"]), rel=1e-9)
    assert api.sessions.list(environment="no-such-env").data == []


def test_sessions_get(client, expected, capture):
    api, _ = client
    session = api.sessions.get(expected["session_id"])
    assert session.id == expected["session_id"]
    assert session.environment == "production"
    ordered = sorted(session.traces, key=lambda t: t.timestamp)
    assert [t.id for t in ordered] == [t["trace_id"] for t in expected["turns"]]
    for trace in session.traces:
        assert_trace(trace, capture, expected)
    with pytest.raises(ApiError) as raised:
        api.sessions.get("no-such-session")
    assert raised.value.status_code == 404


def test_trace_list(client, expected, capture):
    api, recorder = client
    traces = api.trace.list(session_id=expected["session_id"], order_by="timestamp.asc")
    assert recorder.last("/api/public/traces")["query"]["sessionId"] == expected["session_id"]
    assert [t.id for t in traces.data] == [t["trace_id"] for t in expected["turns"]]
    assert traces.meta.total_items == expected["trace_count"]
    for trace, turn in zip(traces.data, expected["turns"]):
        assert_trace(trace, capture, expected)
        assert sorted(trace.observations) == sorted(observations_of(capture, turn["trace_id"]))
        assert trace.scores == ([score_id_of(turn, capture)] if turn["score"] else [])
        assert trace.total_cost == pytest.approx(turn["generation"]["cost"]["total"], rel=1e-9)
        assert trace.latency is not None and trace.latency >= 0
        assert trace.html_path.endswith("/traces/" + turn["trace_id"])
    by_user = api.trace.list(user_id=expected["user_id"], limit=2, page=2, order_by="timestamp.asc")
    assert [t.id for t in by_user.data] == [expected["turns"][2]["trace_id"]]
    assert (by_user.meta.total_items, by_user.meta.total_pages) == (3, 2)


def test_trace_get(client, expected, capture):
    api, _ = client
    for turn in expected["turns"]:
        trace = api.trace.get(turn["trace_id"])
        assert trace.id == turn["trace_id"]
        assert_trace(trace, capture, expected)
        assert trace.total_cost == pytest.approx(turn["generation"]["cost"]["total"], rel=1e-9)
        assert_observations(trace.observations, turn, capture)
        if turn["score"] is None:
            assert trace.scores == []
            continue
        (score,) = trace.scores
        assert type(score).__name__ == "ScoreV1_Numeric"
        assert score.id == score_id_of(turn, capture)
        assert score.trace_id == turn["trace_id"]
        assert (score.name, score.value, score.data_type) == (
            turn["score"]["name"], turn["score"]["value"], turn["score"]["dataType"]
        )
        assert score.source.value == "API"
        assert score.comment == "thumbs up"
        assert score.environment == "production"
    with pytest.raises(ApiError) as raised:
        api.trace.get("no-such-trace")
    assert raised.value.status_code == 404


def test_legacy_observations(client, expected, capture):
    api, _ = client
    for turn in expected["turns"]:
        page = api.legacy.observations_v1.get_many(trace_id=turn["trace_id"])
        assert page.meta.total_items == 4
        assert_observations(page.data, turn, capture)
        for observation_id in observations_of(capture, turn["trace_id"]):
            single = api.legacy.observations_v1.get(observation_id)
            assert single.id == observation_id and single.trace_id == turn["trace_id"]
    generations = api.legacy.observations_v1.get_many(type="GENERATION", user_id=expected["user_id"])
    assert sorted((g.usage.input, g.usage.output, g.usage.total) for g in generations.data) == sorted(
        (t["generation"]["usage"]["input"], t["generation"]["usage"]["output"], t["generation"]["usage"]["total"])
        for t in expected["turns"]
    )


def test_observations_v2(client, expected, capture):
    api, recorder = client
    for turn in expected["turns"]:
        page = api.observations.get_many(trace_id=turn["trace_id"], fields="core,basic,usage,model,io,metrics")
        sent = observations_of(capture, turn["trace_id"])
        assert {o.id for o in page.data} == set(sent)
        for observation in page.data:
            body = sent[observation.id]
            assert observation.type == body["type"] and observation.name == body["name"]
            assert observation.parent_observation_id == body.get("parentObservationId")
            assert observation.is_root_observation is (body.get("parentObservationId") is None)
            assert observation.user_id == expected["user_id"]
            assert observation.session_id == expected["session_id"]
            assert observation.environment == "production"
            assert observation.project_id
            # io comes back as the raw JSON text, never parsed (langfuse-api.md §5.6).
            assert json.loads(observation.input) == body["input"]
        (generation,) = [o for o in page.data if o.type == "GENERATION"]
        assert {k: generation.usage_details[k] for k in ("input", "output", "total")} == turn["generation"]["usage"]
        assert generation.cost_details["total"] == pytest.approx(turn["generation"]["cost"]["total"], rel=1e-9)
        assert generation.total_cost == pytest.approx(turn["generation"]["cost"]["total"], rel=1e-9)
        assert generation.model_extra["providedModelName"] == turn["generation"]["model"]
        assert recorder.last("/api/public/v2/observations")["json"]["meta"] == {}

    # Cursor paging over the whole session: 12 observations, 5 at a time, no repeats.
    seen: List[str] = []
    cursor = None
    for _ in range(10):
        page = api.observations.get_many(session_id=expected["session_id"], limit=5, cursor=cursor)
        seen += [o.id for o in page.data]
        cursor = page.meta.cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 12
    assert set(seen) == set(capture["observations"])


def test_scores_v2(client, expected, capture, v4_score_event):
    api, _ = client
    (turn,) = [t for t in expected["turns"] if t["score"]]
    scores = api.scores.get_many(trace_id=turn["trace_id"])
    (score,) = scores.data
    assert score.id == score_id_of(turn, capture)
    assert (score.name, score.value, score.data_type) == (
        turn["score"]["name"], turn["score"]["value"], turn["score"]["dataType"]
    )
    assert score.trace_id == turn["trace_id"]
    assert score.trace.user_id == expected["user_id"]
    assert score.trace.session_id == expected["session_id"]
    assert score.trace.environment == "production"
    assert "turn-2" in score.trace.tags

    everything = api.scores.get_many()
    assert everything.meta.total_items == 2
    by_id = {s.id: s for s in everything.data}
    orphan = by_id[v4_score_event["body"]["id"]]
    # The 4.18 score names an OTel trace this server never received: no trace context.
    assert orphan.trace_id == v4_score_event["body"]["traceId"] and orphan.trace is None
    assert (orphan.name, orphan.value, orphan.comment) == ("user-feedback", 1.0, "thumbs up")

    single = api.scores.get_by_id(score.id)
    assert (single.id, single.name, single.value) == (score.id, score.name, score.value)
    with pytest.raises(ApiError) as raised:
        api.scores.get_by_id("no-such-score")
    assert raised.value.status_code == 404


def test_scores_v3(client, expected, capture):
    api, _ = client
    (turn,) = [t for t in expected["turns"] if t["score"]]
    page = api.scores_v3.get_many_v3(trace_id=turn["trace_id"], fields="details,subject,annotation")
    (score,) = page.data
    assert score.id == score_id_of(turn, capture)
    assert (score.name, score.value, score.data_type) == (
        turn["score"]["name"], turn["score"]["value"], turn["score"]["dataType"]
    )
    assert score.environment == "production"
    assert page.meta.limit == 50 and page.meta.cursor is None
    subject = score.subject
    assert (subject.kind, subject.id) == ("trace", turn["trace_id"])

    first = api.scores_v3.get_many_v3(limit=1)
    assert len(first.data) == 1 and first.meta.cursor
    second = api.scores_v3.get_many_v3(limit=1, cursor=first.meta.cursor)
    assert len(second.data) == 1 and second.data[0].id != first.data[0].id and second.meta.cursor is None


def test_score_create_read_delete(client, expected):
    api, _ = client
    trace_id = expected["turns"][2]["trace_id"]
    created = api.scores.create(trace_id=trace_id, name="v4-read-check", value=0.5, data_type="NUMERIC", comment="tmp")
    score = api.scores.get_by_id(created.id)
    assert (score.trace_id, score.name, score.value, score.comment) == (trace_id, "v4-read-check", 0.5, "tmp")
    assert [s.id for s in api.trace.get(trace_id).scores] == [created.id]
    api.legacy.score_v1.delete(created.id)
    with pytest.raises(ApiError) as raised:
        api.scores.get_by_id(created.id)
    assert raised.value.status_code == 404
    assert api.trace.get(trace_id).scores == []


def test_trace_delete(client, capture_server):
    api, _ = client
    ids = ["v4-delete-1", "v4-delete-2", "v4-delete-3"]
    for trace_id in ids:
        answer = httpx.post(
            capture_server.url + "/api/public/traces",
            json={"id": trace_id, "name": "to-delete"},
            auth=(CAPTURE_PUBLIC_KEY, CAPTURE_SECRET_KEY),
            timeout=20,
        )
        assert answer.status_code == 200, answer.text
    assert api.trace.get(ids[0]).name == "to-delete"
    assert api.trace.delete(ids[0]).message
    assert api.trace.delete_multiple(trace_ids=ids[1:]).message
    for trace_id in ids:
        with pytest.raises(ApiError) as raised:
            api.trace.get(trace_id)
        assert raised.value.status_code == 404


@pytest.mark.xfail(
    strict=True,
    raises=ApiError,
    reason="GET /api/public/v2/metrics (4.18 api.metrics.metrics) is not served",
)
def test_metrics_v2(client):
    api, _ = client
    query = {"view": "traces", "metrics": [{"measure": "count", "aggregation": "count"}], "dimensions": [],
             "filters": [], "fromTimestamp": "2026-01-01T00:00:00Z", "toTimestamp": "2027-01-01T00:00:00Z"}
    api.metrics.metrics(query=json.dumps(query))


@pytest.mark.xfail(
    strict=True,
    raises=ApiError,
    reason="GET /api/public/metrics (4.18 api.legacy.metrics_v1.metrics) is not served",
)
def test_metrics_v1(client):
    api, _ = client
    query = {"view": "traces", "metrics": [{"measure": "count", "aggregation": "count"}], "dimensions": [],
             "filters": [], "fromTimestamp": "2026-01-01T00:00:00Z", "toTimestamp": "2027-01-01T00:00:00Z"}
    api.legacy.metrics_v1.metrics(query=json.dumps(query))
