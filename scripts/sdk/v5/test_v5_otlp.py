"""Real OTLP/HTTP clients against a live parley, over HTTP and over HTTPS (test CA):

- langfuse==5.0.4 used as an app developer would (gzip protobuf, x-langfuse-ingestion-version 4);
- the plain OpenTelemetry SDK's OTLPSpanExporter (uncompressed protobuf, gen_ai attributes).

Each scenario runs in its own interpreter (OpenTelemetry's and langfuse's process-global state),
then the session drill-down GET /api/public/sessions/{id} is checked.
"""

from __future__ import annotations

import uuid
from urllib.parse import quote

import pytest
from conftest import AUTHORIZATION, get_session, run_scenario, stored_user_id, turn_usage, walk


def _ordered_traces(session):
    return sorted(session["traces"], key=lambda t: (t.get("turnNumber") or 0, t.get("timestamp") or ""))


def test_langfuse_v5_three_turn_session(server):
    url, ca = server
    session_id = f"sess-v5-{uuid.uuid4().hex[:8]}"
    run_scenario("langfuse_scenario.py", url, session_id, ca)

    session = get_session(url, session_id, ca, expect_traces=3)
    assert session["id"] == session_id
    traces = _ordered_traces(session)
    assert len(traces) == 3, session
    assert [t.get("turnNumber") for t in traces] == [1, 2, 3], [t.get("turnNumber") for t in traces]
    user = stored_user_id(url, "user-v5", ca)
    for turn, trace in enumerate(traces, start=1):
        assert trace["userId"] == user, trace
        assert trace["sessionId"] == session_id, trace
        assert trace["name"] == "chat-turn", trace
        observations = walk(trace["observations"])
        by_name = {o["name"]: o for o in observations}
        assert {"chat-turn", "agent-run", "llm-call", "tool:get_weather", "guardrail-check"} <= set(by_name), sorted(by_name)
        generation = by_name["llm-call"]
        assert generation["type"] == "GENERATION", generation
        assert generation["model"] == "gpt-4o-mini", generation
        expected = turn_usage(turn)
        assert generation["usageDetails"]["input"] == expected["input"], generation
        assert generation["usageDetails"]["output"] == expected["output"], generation
        assert generation["usageDetails"]["total"] == expected["total"], generation
        assert generation["costDetails"]["total"] > 0, generation
        assert trace["totalTokens"] == expected["total"], trace
        assert by_name["tool:get_weather"]["type"] == "TOOL", by_name["tool:get_weather"]
        assert by_name["agent-run"]["type"] == "AGENT", by_name["agent-run"]
        # the tree: chat-turn > agent-run > {llm-call, tool:get_weather, guardrail-check}
        (root,) = trace["observations"]
        assert root["name"] == "chat-turn"
        (agent,) = root["children"]
        assert agent["name"] == "agent-run"
        assert {c["name"] for c in agent["children"]} == {"llm-call", "tool:get_weather", "guardrail-check"}


def test_plain_opentelemetry_three_turn_session(server):
    url, ca = server
    session_id = f"sess-otel-{uuid.uuid4().hex[:8]}"
    run_scenario("otel_scenario.py", url, session_id, ca)

    session = get_session(url, session_id, ca, expect_traces=3)
    traces = session["traces"]
    assert len(traces) == 3, session
    # session-tracking attributes: rolled up to the session, typed per turn
    assert session["channel"] == "web", session
    assert session["userTier"] == "pro", session
    assert [t["conversation"]["id"] for t in traces] == [session_id + "-conv"] * 3, traces
    assert [t["turn"]["inputType"] for t in traces] == ["question", "question", "confirmation"], traces
    assert [t["journey"]["stage"] for t in traces] == ["identify", "verify", "refund"], traces
    assert [t["journey"]["converted"] for t in traces] == [False, False, True], traces
    # sent on the child span, lifted to the turn
    assert [t["context"]["tokens"] for t in traces] == [1000, 2000, 3000], traces
    # the drill-down lists the turns in turn order
    assert [t.get("turnNumber") for t in traces] == [1, 2, 3], [t.get("turnNumber") for t in traces]
    user = stored_user_id(url, "user-otel", ca)
    for turn, trace in enumerate(traces, start=1):
        assert trace["userId"] == user, trace
        expected = turn_usage(turn)
        assert trace["totalTokens"] == expected["total"], trace
        (root,) = trace["observations"]
        assert root["name"] == "chat-turn", root
        (chat,) = root["children"]
        assert chat["name"] == "chat gpt-4o-mini", chat
        assert chat["type"] == "GENERATION", chat
        assert chat["model"] == "gpt-4o-mini", chat
        assert chat["usageDetails"]["input"] == expected["input"], chat
        assert chat["usageDetails"]["output"] == expected["output"], chat
        assert chat["usageDetails"]["total"] == expected["total"], chat


@pytest.mark.parametrize("base_path", ["/api/public/otel", ""], ids=["langfuse-base", "server-root"])
def test_exporter_configured_only_by_environment(server, base_path):
    """OTEL_EXPORTER_OTLP_ENDPOINT set to <server>/api/public/otel or to the server root, with
    gzip and the Basic header from OTEL_EXPORTER_OTLP_HEADERS (URL-encoded, as the spec says)."""
    url, ca = server
    session_id = f"sess-env-{uuid.uuid4().hex[:8]}"
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": url + base_path,
        "OTEL_EXPORTER_OTLP_HEADERS": "Authorization=" + quote(AUTHORIZATION),
        "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip",
    }
    if ca is not None:
        env["OTEL_EXPORTER_OTLP_CERTIFICATE"] = str(ca)
    run_scenario("otel_env_scenario.py", url, session_id, ca, extra_env=env)
    session = get_session(url, session_id, ca, expect_traces=2)
    assert [t.get("turnNumber") for t in session["traces"]] == [1, 2], session["traces"]
    assert all(t["observations"][0]["metadata"]["resourceAttributes"]["service.name"] == "parley-otel-env"
               for t in session["traces"]), session["traces"]
