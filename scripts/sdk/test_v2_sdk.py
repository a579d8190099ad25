"""End-to-end: the real `langfuse==2.60.10` Python SDK against a live parley server.

The SDK swallows ingestion failures (it logs them and drops the batch), so every test also
watches the HTTP exchanges through the documented `httpx_client=` constructor argument and
asserts that each batch was accepted on the first try (207, empty `errors`, one success per
event, no re-sends).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from typing import Any, Dict, List

import httpx
import pytest
import requests
from langfuse import Langfuse
from langfuse.api.core.api_error import ApiError

import v2_scenario
from conftest import PUBLIC_KEY, SECRET_KEY


# --------------------------------------------------------------------------------------------
# helpers


class Recorder:
    """An httpx.Client whose response hook keeps every request/response the SDK makes."""

    def __init__(self) -> None:
        self.exchanges: List[Dict[str, Any]] = []
        self._lock = threading.Lock()
        self.client = httpx.Client(timeout=20, event_hooks={"response": [self._on_response]})

    def _on_response(self, response: httpx.Response) -> None:
        response.read()
        request = response.request
        with self._lock:
            self.exchanges.append(
                {
                    "method": request.method,
                    "path": request.url.path,
                    "headers": dict(request.headers),
                    "body": bytes(request.content),
                    "status": response.status_code,
                    "response": response.text,
                }
            )

    def ingestion(self) -> List[Dict[str, Any]]:
        return [x for x in self.exchanges if x["method"] == "POST" and x["path"] == "/api/public/ingestion"]

    def close(self) -> None:
        self.client.close()


def assert_batches_accepted(recorder: Recorder, expected_events: int) -> List[Dict[str, Any]]:
    """Every ingestion POST got 207 with one 201 success per event and no errors, once."""
    posts = recorder.ingestion()
    assert posts, "the SDK sent no ingestion request"
    bodies = Counter(x["body"] for x in posts)
    assert all(n == 1 for n in bodies.values()), "the SDK re-sent a batch (it retries on 5xx/429/207 errors)"
    total = 0
    for post in posts:
        assert post["status"] == 207, f"ingestion answered {post['status']}: {post['response']}"
        request = json.loads(post["body"])
        response = json.loads(post["response"])
        assert response.get("errors") == [], response
        event_ids = [event["id"] for event in request["batch"]]
        assert sorted(s["id"] for s in response["successes"]) == sorted(event_ids)
        assert all(s["status"] in (200, 201) for s in response["successes"]), response
        total += len(event_ids)
    assert total == expected_events, f"expected {expected_events} events, the SDK sent {total}"
    return posts


def rows(connection, sql: str, *params) -> List[Dict[str, Any]]:
    return [dict(row) for row in connection.execute(sql, params).fetchall()]


def loads(text):
    return None if text is None else json.loads(text)


# 9 events per turn (trace-create, span-create, generation-create, generation-update,
# span-create, span-update, event-create, span-update, trace-create) + 1 score-create.
EVENTS_PER_RUN = 3 * 9 + 1


def assert_session_stored(connection, summary: Dict[str, Any]) -> None:
    """The database holds exactly what the scenario in `summary` sent."""
    session_id, user_id = summary["session_id"], summary["user_id"]

    traces = rows(connection, "SELECT * FROM traces WHERE session_id = ? ORDER BY timestamp", session_id)
    assert [t["trace_id"] for t in traces] == [turn["trace_id"] for turn in summary["turns"]]
    assert len(traces) == 3

    sessions = rows(connection, "SELECT * FROM sessions WHERE session_id = ?", session_id)
    assert len(sessions) == 1
    assert sessions[0]["user_id"] == user_id
    assert len(rows(connection, "SELECT * FROM users WHERE user_id = ?", user_id)) == 1

    for trace, turn in zip(traces, summary["turns"]):
        index = turn["turn"]
        question = v2_scenario.TURNS[index - 1]["question"]
        assert trace["name"] == "chat-turn"
        assert trace["user_id"] == user_id
        assert trace["environment"] == "production"
        assert trace["release"] == "sdk-e2e-1.0.0"
        assert trace["version"] == "1.0.0"
        assert loads(trace["input"]) == {"role": "user", "content": question}
        # trace.update(output=...) arrives as a second, partial trace-create: it must merge.
        assert loads(trace["output"]) == {"role": "assistant", "content": turn["answer"]}
        assert loads(trace["metadata"]) == {
            "conversation_id": summary["conversation_id"],
            "turn_number": index,
            "channel": "web",
            "turn_latency_ms": turn["turn_latency_ms"],
        }
        assert sorted(loads(trace["tags"])) == sorted(["sdk-e2e", "chat", f"turn-{index}"])

        observations = rows(
            connection, "SELECT * FROM observations WHERE trace_id = ? ORDER BY start_time, id", turn["trace_id"]
        )
        assert len(observations) == 4, [o["name"] for o in observations]
        by_id = {o["observation_id"]: o for o in observations}
        assert set(by_id) == {
            turn["agent_span_id"], turn["generation_id"], turn["tool_span_id"], turn["event_id"]
        }
        agent = by_id[turn["agent_span_id"]]
        generation = by_id[turn["generation_id"]]
        tool = by_id[turn["tool_span_id"]]
        event = by_id[turn["event_id"]]

        assert (agent["type"], agent["name"]) == ("SPAN", "agent-run")
        assert agent["parent_observation_id"] is None
        assert agent["end_time"] is not None and agent["end_time"] >= agent["start_time"]
        assert loads(agent["output"]) == {"answer": turn["answer"]}
        assert loads(agent["metadata"]) == {"agent": "travel-assistant", "turn_number": index}

        for child in (generation, tool, event):
            assert child["parent_observation_id"] == agent["observation_id"], child["name"]
            assert child["environment"] == "production"

        assert (generation["type"], generation["name"]) == ("GENERATION", "llm-call")
        assert generation["model"] == "gpt-4o-mini"
        parameters = loads(generation["model_parameters"])
        assert parameters["max_tokens"] == 256
        assert float(parameters["temperature"]) == 0.2  # the SDK sends it as the string "0.2"
        assert generation["end_time"] is not None
        usage = turn["usage"]
        assert usage["input"] == 120 + 40 * index and usage["output"] == 30 + 5 * index
        assert generation["input_tokens"] == usage["input"]
        assert generation["output_tokens"] == usage["output"]
        assert generation["total_tokens"] == usage["total"]
        assert generation["total_cost"] == pytest.approx(usage["total_cost"], rel=1e-9)
        usage_details = loads(generation["usage_details"])
        assert {k: usage_details.get(k) for k in ("input", "output", "total")} == {
            "input": usage["input"], "output": usage["output"], "total": usage["total"]
        }
        cost_details = loads(generation["cost_details"])
        assert cost_details["input"] == pytest.approx(usage["input_cost"], rel=1e-9)
        assert cost_details["output"] == pytest.approx(usage["output_cost"], rel=1e-9)
        assert cost_details["total"] == pytest.approx(usage["total_cost"], rel=1e-9)
        assert loads(generation["output"])["content"] == turn["answer"]
        assert loads(generation["input"])[0] == {"role": "system", "content": v2_scenario.SYSTEM_PROMPT}
        assert len(loads(generation["input"])) == 2 * index

        assert (tool["type"], tool["name"]) == ("SPAN", "tool:get_weather")
        assert tool["end_time"] is not None
        assert loads(tool["output"])["city"] == v2_scenario.TURNS[index - 1]["city"]

        assert (event["type"], event["name"]) == ("EVENT", "guardrail-check")
        assert loads(event["output"]) == {"passed": True}
        assert loads(event["metadata"]) == {"policy": "pii"}

    trace_ids = [turn["trace_id"] for turn in summary["turns"]]
    scores = rows(
        connection,
        f"SELECT * FROM scores WHERE trace_id IN ({','.join('?' * len(trace_ids))})",
        *trace_ids,
    )
    assert len(scores) == 1
    (score,) = scores
    (expected,) = summary["scores"]
    assert score["score_id"] == expected["score_id"]
    assert score["trace_id"] == summary["turns"][1]["trace_id"]
    assert (score["name"], score["value"], score["data_type"]) == ("user-feedback", 1.0, "NUMERIC")
    assert score["comment"] == "thumbs up"


SNAPSHOT_IGNORED = {"id", "created_at", "updated_at", "received_at"}


def snapshot(connection) -> Dict[str, List[tuple]]:
    """Every stored row except bookkeeping columns, per table, in a stable order."""
    result = {}
    for table in ("traces", "observations", "scores", "sessions", "users", "events"):
        cursor = connection.execute(f"SELECT * FROM {table}")
        names = [d[0] for d in cursor.description]
        keep = [i for i, name in enumerate(names) if name not in SNAPSHOT_IGNORED]
        result[table] = sorted(tuple(row[i] for i in keep) for row in cursor.fetchall())
    return result


# --------------------------------------------------------------------------------------------
# (a) auth_check


def test_auth_check_accepts_the_right_keys(parley):
    langfuse = Langfuse(public_key=PUBLIC_KEY, secret_key=SECRET_KEY, host=parley.url)
    assert langfuse.auth_check() is True


@pytest.mark.parametrize(
    "public_key, secret_key",
    [(PUBLIC_KEY, "sk-lf-wrong"), ("pk-lf-unknown", SECRET_KEY)],
    ids=["wrong-secret", "unknown-public-key"],
)
def test_auth_check_rejects_wrong_keys(parley, public_key, secret_key):
    # 2.60.10 never returns False: GET /api/public/projects answers 401 and the fern client
    # raises UnauthorizedError (a subclass of ApiError), which auth_check re-raises.
    langfuse = Langfuse(public_key=public_key, secret_key=secret_key, host=parley.url)
    with pytest.raises(ApiError) as raised:
        langfuse.auth_check()
    assert raised.value.status_code == 401
    assert type(raised.value).__name__ == "UnauthorizedError"


def test_ingestion_with_a_wrong_secret_stores_nothing(parley):
    recorder = Recorder()
    try:
        summary = v2_scenario.run_scenario(
            parley.url, PUBLIC_KEY, "sk-lf-wrong", httpx_client=recorder.client, check_auth=False
        )
    finally:
        recorder.close()
    posts = recorder.ingestion()
    assert posts and all(p["status"] == 401 for p in posts), [(p["status"], p["response"]) for p in posts]
    # 401 is a 4xx other than 429: the SDK drops the batch without retrying.
    assert len({p["body"] for p in posts}) == len(posts)
    with parley.connect_readonly() as connection:
        assert rows(connection, "SELECT * FROM traces WHERE session_id = ?", summary["session_id"]) == []
        assert connection.execute("SELECT count(*) FROM events").fetchone()[0] == 0


# --------------------------------------------------------------------------------------------
# (b) the scenario, verified in the database after a clean shutdown


def test_scenario_is_stored_durably(parley):
    recorder = Recorder()
    try:
        summary = v2_scenario.run_scenario(parley.url, PUBLIC_KEY, SECRET_KEY, httpx_client=recorder.client)
    finally:
        recorder.close()
    assert summary["auth_check"] is True
    assert_batches_accepted(recorder, EVENTS_PER_RUN)

    # The SDK's own headers on ingestion use underscores (x_langfuse_sdk_name...).
    headers = recorder.ingestion()[0]["headers"]
    assert headers["authorization"].startswith("Basic ")
    assert headers.get("x_langfuse_sdk_version") == "2.60.10"

    assert parley.stop() == 0, parley.log_text()
    with parley.connect_readonly() as connection:
        assert_session_stored(connection, summary)
        assert connection.execute("SELECT count(*) FROM traces").fetchone()[0] == 3
        assert connection.execute("SELECT count(*) FROM observations").fetchone()[0] == 12
        assert connection.execute("SELECT count(*) FROM scores").fetchone()[0] == 1
        assert connection.execute("SELECT count(*) FROM events").fetchone()[0] == EVENTS_PER_RUN


def test_scenario_script_prints_a_json_summary(parley, capsys):
    run_id = uuid.uuid4().hex[:12]
    code = v2_scenario.main(
        ["--host", parley.url, "--public-key", PUBLIC_KEY, "--secret-key", SECRET_KEY, "--run-id", run_id]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["session_id"] == f"sdk-v2-session-{run_id}"
    assert summary["user_id"] == f"sdk-v2-user-{run_id}"
    assert len(summary["turns"]) == 3 and len(summary["scores"]) == 1
    with parley.connect_readonly() as connection:
        assert_session_stored(connection, summary)


# --------------------------------------------------------------------------------------------
# (c) two runs on one server, then replaying the SDK's own batches


def test_two_runs_do_not_mix_and_replays_are_idempotent(parley):
    summaries = []
    recorders = []
    for _ in range(2):
        recorder = Recorder()
        try:
            summaries.append(
                v2_scenario.run_scenario(parley.url, PUBLIC_KEY, SECRET_KEY, httpx_client=recorder.client)
            )
        finally:
            recorder.close()
        assert_batches_accepted(recorder, EVENTS_PER_RUN)
        recorders.append(recorder)
    assert summaries[0]["session_id"] != summaries[1]["session_id"]

    with parley.connect_readonly() as connection:
        for summary in summaries:
            assert_session_stored(connection, summary)
        assert connection.execute("SELECT count(*) FROM traces").fetchone()[0] == 6
        assert connection.execute("SELECT count(*) FROM observations").fetchone()[0] == 24
        assert connection.execute("SELECT count(*) FROM scores").fetchone()[0] == 2
        assert connection.execute("SELECT count(*) FROM sessions").fetchone()[0] == 2
        assert connection.execute("SELECT count(*) FROM users").fetchone()[0] == 2
        before = snapshot(connection)

    # Re-send the exact bytes the SDK sent (as its retry would), twice, in order.
    posts = [post for recorder in recorders for post in recorder.ingestion()]
    with requests.Session() as http:
        for attempt in range(2):
            for post in posts:
                answer = http.post(
                    parley.url + "/api/public/ingestion",
                    data=post["body"],
                    headers={"Content-Type": "application/json"},
                    auth=(PUBLIC_KEY, SECRET_KEY),
                    timeout=20,
                )
                assert answer.status_code == 207, (attempt, answer.status_code, answer.text)
                body = answer.json()
                assert body["errors"] == [], body
                assert len(body["successes"]) == len(json.loads(post["body"])["batch"])

    with parley.connect_readonly() as connection:
        after = snapshot(connection)
        for summary in summaries:
            assert_session_stored(connection, summary)
    for table in before:
        assert after[table] == before[table], f"replaying changed {table}"
