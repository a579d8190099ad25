"""Conversation analytics (docs/ANALYTICS.md) end to end: the plain OpenTelemetry SDK exports
turns with its OTLP/HTTP (protobuf) exporter to a live parley, then the JSON read API is checked.

One turn is one trace: a root span `chat-turn` carrying session.id, user.id and the
session-tracking attributes (session.channel, conversation.id, turn.*, journey.*,
conversation.context_*, session.end_reason, dropoff.last_intent), with one child span per LLM
call following the gen_ai conventions (operation chat, request model, token usage), which parley
stores as a generation.

The spans are exported in-process, from a TracerProvider of the test's own (never the global
one), so a scenario can interleave exports and reads. BatchSpanProcessor batches, so every
scenario force-flushes before it reads; parley answers the export only after the commit, so a
successful flush means the data is readable and reads are not polled. Only the inactivity
scenario polls, because the background sweeper acts on its own schedule.

Timestamps are set explicitly (whole milliseconds, a couple of minutes ago, two seconds apart)
wherever the order of turns or a derived time is asserted, so the figures are exact; the
inactivity scenario stamps its turns now, as a live app would.
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple
from urllib.parse import quote

import pytest
import requests
from conftest import AUTHORIZATION, PUBLIC_KEY, SECRET_KEY
from parleykit.server import Parley

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

MODEL = "gpt-4o-mini"
MODEL_WINDOW = 128_000  # gpt-4o-mini in Sources/Model/Analytics/ContextWindows.swift
TURN_MS = 1_000  # each turn's root span lasts this long
TURN_GAP_MS = 2_000  # explicit-timestamp turns start this far apart
POLL_INTERVAL_S = 0.2
POLL_LIMIT_S = 30.0
NO_TURN_ISSUES = {"missing": 0, "duplicates": [], "gaps": [], "gapCount": 0, "outOfOrder": 0}


# ---------------------------------------------------------------------------------------------
# servers


@pytest.fixture(scope="module")
def analytics_server(parley_bin, tmp_path_factory):
    """One parley (default 30-minute inactivity timeout) shared by the module's scenarios; each
    scenario uses its own session ids, users and journey names."""
    with Parley(parley_bin, tmp_path_factory.mktemp("conversation") / "parley.sqlite") as srv:
        yield srv


@pytest.fixture
def timeout_server(parley_bin, tmp_path):
    """A parley whose sessions time out after 1 s without activity (the sweeper then runs every second)."""
    with Parley(parley_bin, tmp_path / "parley.sqlite", ["--inactivity-timeout", "1"]) as srv:
        yield srv


@pytest.fixture(autouse=True)
def _no_otel_env(monkeypatch):
    """The exporter reads OTEL_EXPORTER_OTLP_* (headers, compression, timeout...); keep them out."""
    for name in list(os.environ):
        if name.startswith("OTEL_"):
            monkeypatch.delenv(name, raising=False)


# ---------------------------------------------------------------------------------------------
# the client: plain OpenTelemetry SDK, OTLP/HTTP protobuf


class RecordingExporter(SpanExporter):
    """Wraps the OTLP exporter to keep every export's result (failures are otherwise only logged)."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.results: List[Tuple[int, SpanExportResult]] = []

    def export(self, spans) -> SpanExportResult:
        result = self.inner.export(spans)
        self.results.append((len(spans), result))
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis)


class OtelApp:
    """An app instrumented with the plain OpenTelemetry SDK, exporting to one parley."""

    def __init__(self, base_url: str) -> None:
        self.exporter = RecordingExporter(OTLPSpanExporter(
            endpoint=base_url + "/api/public/otel/v1/traces",
            headers={"Authorization": AUTHORIZATION},
            timeout=10,
        ))
        self.provider = TracerProvider(resource=Resource.create({"service.name": "parley-conversation-e2e"}))
        self.provider.add_span_processor(BatchSpanProcessor(self.exporter))
        self.tracer = self.provider.get_tracer("parley-conversation-e2e")

    def turn(self, session_id: str, user_id: str, attributes: Dict[str, Any], *, start_ms: Optional[int] = None,
             generations: Sequence[int] = (1_200,), duration_ms: int = TURN_MS) -> str:
        """Records one turn (one trace) and returns its trace id. `start_ms` None stamps it now.
        Each entry of `generations` is one LLM call's input tokens, spread over the turn."""
        if start_ms is None:
            start_ms = now_ms()
        root = self.tracer.start_span("chat-turn", context=Context(), start_time=ns(start_ms), attributes={
            "session.id": session_id, "user.id": user_id, **attributes,
        })
        parent = trace.set_span_in_context(root)
        step = duration_ms // (len(generations) + 1)
        for index, input_tokens in enumerate(generations):
            chat = self.tracer.start_span(f"chat {MODEL}", context=parent, start_time=ns(start_ms + step * index + 1),
                                          attributes={
                                              "gen_ai.operation.name": "chat",
                                              "gen_ai.system": "openai",
                                              "gen_ai.request.model": MODEL,
                                              "gen_ai.usage.input_tokens": input_tokens,
                                              "gen_ai.usage.output_tokens": 40,
                                          })
            chat.end(end_time=ns(start_ms + step * (index + 1)))
        root.end(end_time=ns(start_ms + duration_ms))
        return format(root.get_span_context().trace_id, "032x")

    def flush(self) -> None:
        """Exports everything recorded so far; fails unless parley accepted every batch."""
        assert self.provider.force_flush(30_000), "force_flush timed out"
        failed = [(count, result) for count, result in self.exporter.results if result != SpanExportResult.SUCCESS]
        assert self.exporter.results and not failed, f"OTLP export results: {self.exporter.results}"

    def close(self) -> None:
        self.provider.shutdown()


@pytest.fixture
def app(analytics_server):
    client = OtelApp(analytics_server.url)
    try:
        yield client
    finally:
        client.close()


# ---------------------------------------------------------------------------------------------
# helpers


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def ns(ms: int) -> int:
    return ms * 1_000_000


def iso(ms: int) -> str:
    """A time as parley writes it (Timestamp.iso8601: milliseconds, Z)."""
    seconds, millis = divmod(ms, 1000)
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis:03d}Z"


def parse_iso(text: str) -> int:
    return round(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def schedule(count: int) -> List[int]:
    """Start times (ms) for `count` turns, two seconds apart, the last one a minute ago: well
    inside the default inactivity timeout, so the sweeper leaves these sessions active."""
    first = now_ms() - 60_000 - TURN_GAP_MS * count
    return [first + TURN_GAP_MS * index for index in range(count)]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def get_json(base_url: str, path: str, params: Optional[Dict[str, Any]] = None) -> Any:
    answer = requests.get(base_url + path, params=params, auth=(PUBLIC_KEY, SECRET_KEY), timeout=10)
    assert answer.status_code == 200, f"GET {path} {params or ''}: {answer.status_code} {answer.text[:2000]}"
    return answer.json()


def get_session(base_url: str, session_id: str) -> Dict[str, Any]:
    return get_json(base_url, f"/api/public/sessions/{quote(session_id, safe='')}")


def poll_session(base_url: str, session_id: str, done: Callable[[Dict[str, Any]], bool], what: str) -> Dict[str, Any]:
    """GET the session every POLL_INTERVAL_S until `done(session)`; fails after POLL_LIMIT_S."""
    deadline = time.monotonic() + POLL_LIMIT_S
    seen: List[Tuple[Any, ...]] = []
    while True:
        answer = requests.get(f"{base_url}/api/public/sessions/{quote(session_id, safe='')}",
                              auth=(PUBLIC_KEY, SECRET_KEY), timeout=10)
        if answer.status_code == 200:
            session = answer.json()
            state = (session["status"], session["endReason"], session["resumptions"], session["turnCount"])
            if not seen or seen[-1] != state:
                seen.append(state)
            if done(session):
                return session
        elif not seen or seen[-1] != (answer.status_code,):
            seen.append((answer.status_code,))
        if time.monotonic() > deadline:
            pytest.fail(f"session {session_id} never reached {what} within {POLL_LIMIT_S:.0f} s; "
                        f"(status, endReason, resumptions, turnCount) seen in order: {seen}")
        time.sleep(POLL_INTERVAL_S)


def by_id(traces: Iterable[Dict[str, Any]]) -> Dict[str, Dict[str, Any]]:
    return {t["id"]: t for t in traces}


# ---------------------------------------------------------------------------------------------
# 1. a converted journey, and the journey analytics


def test_converted_journey_and_funnel(app, analytics_server):
    base = analytics_server.url
    journey = unique("checkout")
    converted, abandoned = unique("sess-conv"), unique("sess-cart")
    user = unique("user-journey")
    stages = [("browse", 1), ("cart", 2), ("pay", 3)]

    times = schedule(3)
    trace_ids = []
    for turn, ((stage, number), start) in enumerate(zip(stages, times), start=1):
        trace_ids.append(app.turn(converted, user, {
            "session.channel": "web",
            "conversation.id": converted + "-conv",
            "turn.number": turn,
            "turn.input_type": "question" if turn < 3 else "confirmation",
            "journey.name": journey,
            "journey.stage": stage,
            "journey.stage_number": number,
            "journey.total_stages": 3,
            "journey.converted": turn == 3,
            "conversation.context_tokens": 8_000 * turn,
            "conversation.context_limit": 32_000,
        }, start_ms=start))
    # a second session of the journey that stops in the cart, so the funnel narrows
    other_times = schedule(2)
    for turn, ((stage, number), start) in enumerate(zip(stages[:2], other_times), start=1):
        app.turn(abandoned, user, {
            "session.channel": "web", "turn.number": turn, "turn.input_type": "question",
            "journey.name": journey, "journey.stage": stage, "journey.stage_number": number,
            "journey.total_stages": 3, "journey.converted": False,
        }, start_ms=start)
    app.flush()

    session = get_session(base, converted)
    assert session["id"] == converted
    # Stored as the project's keyed hash of the raw id (docs/PRIVACY.md).
    stored = get_json(base, f"/api/public/users/{quote(user, safe='')}")["id"]
    assert stored.startswith("u_") and stored != user, stored
    assert session["userId"] == stored, session
    assert session["channel"] == "web", session
    assert session["status"] == "active", session
    assert (session["endReason"], session["endSource"], session["endTime"]) == (None, None, None), session
    assert session["turnCount"] == 3, session
    assert session["generationCount"] == 3, session
    assert session["turnNumberSource"] == "sent", session
    assert session["turnIssues"] == NO_TURN_ISSUES, session
    assert session["lastTurnNumber"] == 3, session
    assert session["conversationCount"] == 1, session
    assert session["resumptions"] == 0, session
    assert session["completed"] is True, session
    assert session["journey"] == {
        "name": journey, "stage": "pay", "stageNumber": 3, "totalStages": 3,
        "converted": True, "conversionTurn": 3, "conversionTimeMs": times[2] - times[0],
    }, session["journey"]
    assert session["dropoff"] == {
        "isDropoff": False, "lastTurnNumber": None, "lastIntent": None, "agentLastAction": None, "sinceLastTurnMs": None,
    }, session["dropoff"]
    # context sent as tokens and limit: 8000/32000, 16000/32000, 24000/32000
    assert session["contextWindow"] == {"maxPercent": 75.0, "maxTokens": 24_000, "firstTurnOver80Percent": None}, session
    assert session["firstActivity"] == iso(times[0]) and session["lastActivity"] == iso(times[2] + TURN_MS), session

    traces = session["traces"]
    assert [t["id"] for t in traces] == trace_ids, [t["id"] for t in traces]
    assert [t["turnNumber"] for t in traces] == [1, 2, 3], traces
    assert [t["turnNumberSource"] for t in traces] == ["sent"] * 3, traces
    assert [t["turnIssues"] for t in traces] == [[]] * 3, traces
    assert [t["turn"]["number"] for t in traces] == [1, 2, 3], traces
    assert [(t["journey"]["stage"], t["journey"]["stageNumber"], t["journey"]["converted"]) for t in traces] == [
        ("browse", 1, False), ("cart", 2, False), ("pay", 3, True)], traces
    assert [t["contextWindow"] for t in traces] == [
        {"tokens": 8_000 * turn, "limit": 32_000, "percent": 25.0 * turn, "source": "sent",
         "pruned": None, "messagesPruned": None} for turn in (1, 2, 3)], [t["contextWindow"] for t in traces]

    journeys = get_json(base, "/api/public/analytics/journeys")["data"]
    assert journey in [j["name"] for j in journeys], journeys
    (listed,) = get_json(base, "/api/public/analytics/journeys", {"journey": journey})["data"]
    assert listed["name"] == journey
    assert (listed["sessions"], listed["converted"], listed["conversionRate"]) == (2, 1, 0.5), listed
    assert listed["lastSeen"] == iso(max(times[2], other_times[1]) + TURN_MS), listed
    assert listed["firstSeen"] is not None, listed

    funnel = get_json(base, f"/api/public/analytics/journeys/{quote(journey, safe='')}")
    assert (funnel["name"], funnel["sessions"], funnel["converted"], funnel["conversionRate"]) == (journey, 2, 1, 0.5), funnel
    assert funnel["medianConversionTurn"] == 3, funnel
    assert funnel["medianConversionTimeMs"] == times[2] - times[0], funnel
    assert [(s["name"], s["stageNumber"], s["sessionsReached"], s["sessionsInStage"]) for s in funnel["stages"]] == [
        ("browse", 1, 2, 2), ("cart", 2, 2, 2), ("pay", 3, 1, 1)], funnel["stages"]
    assert [s["conversionFromPrevious"] for s in funnel["stages"]] == [None, 1.0, 0.5], funnel["stages"]
    assert [s["conversionFromStart"] for s in funnel["stages"]] == [1.0, 1.0, 0.5], funnel["stages"]
    # browse: 2 s to cart in both; cart: 2 s to pay, or 1 s to the end of the abandoned session's
    # last turn (nearest-rank median of two: the lower); pay: 1 s to the session's last activity
    assert [s["medianTimeInStageMs"] for s in funnel["stages"]] == [TURN_GAP_MS, TURN_MS, TURN_MS], funnel["stages"]

    missing = requests.get(f"{base}/api/public/analytics/journeys/{unique('no-such-journey')}",
                           auth=(PUBLIC_KEY, SECRET_KEY), timeout=10)
    assert missing.status_code == 404, missing.text


# ---------------------------------------------------------------------------------------------
# 2. turns without turn.number are numbered by start time, whatever order they arrive in


def test_missing_turn_numbers_are_derived(app, analytics_server):
    base = analytics_server.url
    session_id, user = unique("sess-nonum"), unique("user-nonum")
    times = schedule(3)

    def turn(index: int) -> str:
        return app.turn(session_id, user, {
            "session.channel": "voice", "conversation.id": session_id + "-conv", "turn.input_type": "question",
        }, start_ms=times[index])

    # the last turn arrives first, alone: it is turn 1 until the earlier ones come in
    last = turn(2)
    app.flush()
    early = get_session(base, session_id)
    assert [(t["id"], t["turnNumber"], t["turnNumberSource"]) for t in early["traces"]] == [(last, 1, "derived")], early
    first, second = turn(0), turn(1)
    app.flush()

    session = get_session(base, session_id)
    traces = session["traces"]
    assert [t["id"] for t in traces] == [first, second, last], [t["id"] for t in traces]
    assert [t["turnNumber"] for t in traces] == [1, 2, 3], traces
    assert [t["turnNumberSource"] for t in traces] == ["derived"] * 3, traces
    assert [t["turnIssues"] for t in traces] == [["missing_number"]] * 3, traces
    assert [t["turn"]["number"] for t in traces] == [None] * 3, traces
    assert session["turnNumberSource"] == "derived", session
    assert session["turnIssues"] == {"missing": 3, "duplicates": [], "gaps": [], "gapCount": 0, "outOfOrder": 0}, session
    assert session["lastTurnNumber"] == 3, session
    assert [t["turnNumber"] for t in session["conversations"][0]["turns"]] == [1, 2, 3], session["conversations"]
    # the repair rewrote the stored turn: the single-trace read agrees
    assert get_json(base, f"/api/public/traces/{last}")["turnNumber"] == 3
    # and the session list finds it by its issues
    listed = get_json(base, "/api/public/sessions", {"hasTurnIssues": "true", "userId": user})["data"]
    assert [s["id"] for s in listed] == [session_id], listed


# ---------------------------------------------------------------------------------------------
# 3. a turn that says the user left: ended by attribute, a drop-off with its last intent


def test_dropoff_by_end_reason_attribute(app, analytics_server):
    base = analytics_server.url
    session_id, user = unique("sess-exit"), unique("user-exit")
    times = schedule(2)
    app.turn(session_id, user, {
        "session.channel": "web", "conversation.id": session_id + "-conv", "turn.number": 1,
        "turn.input_type": "question",
    }, start_ms=times[0])
    exit_turn = app.turn(session_id, user, {
        "session.channel": "web", "conversation.id": session_id + "-conv", "turn.number": 2,
        "turn.input_type": "request", "session.end_reason": "user_exit", "dropoff.last_intent": "refund_request",
    }, start_ms=times[1])
    app.flush()

    session = get_session(base, session_id)
    assert session["status"] == "ended", session
    assert session["endReason"] == "user_exit", session
    assert session["endSource"] == "attribute", session
    assert session["endTime"] == iso(times[1] + TURN_MS), session  # the declaring turn's last activity
    assert session["idleTimeMs"] is None, session
    assert session["completed"] is False, session
    assert session["dropoff"] == {
        "isDropoff": True, "lastTurnNumber": 2, "lastIntent": "refund_request",
        # no dropoff.agent_last_action sent: the last observation to start in the last turn,
        # the LLM call inside the turn's root span
        "agentLastAction": f"generation:chat {MODEL}", "sinceLastTurnMs": 0,
    }, session["dropoff"]
    by_trace = by_id(session["traces"])
    assert by_trace[exit_turn]["sessionAttributes"]["endReason"] == "user_exit", by_trace[exit_turn]
    assert by_trace[exit_turn]["dropoff"]["lastIntent"] == "refund_request", by_trace[exit_turn]

    report = get_json(base, "/api/public/analytics/dropoff", {"groupBy": "lastIntent"})
    assert report["groupBy"] == "lastIntent", report
    group = next((g for g in report["data"] if g["key"] == "refund_request"), None)
    assert group is not None, report
    assert session_id in group["exampleSessionIds"], group

    # the same report narrowed to this user: exact figures
    mine = get_json(base, "/api/public/analytics/dropoff", {"groupBy": "lastIntent", "userId": user})
    assert mine == {
        "groupBy": "lastIntent", "sessions": 1, "endedSessions": 1, "dropoffs": 1, "dropoffRate": 1.0,
        "data": [{"key": "refund_request", "endedSessions": 1, "dropoffs": 1, "dropoffRate": 1.0,
                  "shareOfDropoffs": 1.0, "exampleSessionIds": [session_id]}],
    }, mine
    by_turn = get_json(base, "/api/public/analytics/dropoff", {"groupBy": "lastTurn", "userId": user})
    assert [(g["key"], g["dropoffs"]) for g in by_turn["data"]] == [(2, 1)], by_turn


# ---------------------------------------------------------------------------------------------
# 4. inactivity: the background sweeper times the session out; a new turn resumes it


def test_inactivity_timeout_and_resumption(timeout_server):
    base = timeout_server.url
    session_id, user = unique("sess-idle"), unique("user-idle")
    app = OtelApp(base)
    try:
        attributes = {"session.channel": "web", "conversation.id": session_id + "-conv", "turn.input_type": "question"}
        app.turn(session_id, user, {**attributes, "turn.number": 1}, duration_ms=50)
        app.flush()

        timed_out = poll_session(base, session_id, lambda s: s["status"] == "timed_out", "status timed_out")
        assert timed_out["endReason"] == "inactive_timeout", timed_out
        assert timed_out["endSource"] == "inactivity", timed_out
        assert timed_out["resumptions"] == 0, timed_out
        # the moment it became inactive: last activity + the 1 s timeout
        assert parse_iso(timed_out["endTime"]) == parse_iso(timed_out["lastActivity"]) + 1_000, timed_out
        assert timed_out["idleTimeMs"] >= 1_000, timed_out
        assert timed_out["completed"] is False, timed_out
        assert timed_out["dropoff"] == {
            "isDropoff": True, "lastTurnNumber": 1, "lastIntent": "question",
            "agentLastAction": f"generation:chat {MODEL}", "sinceLastTurnMs": timed_out["idleTimeMs"],
        }, timed_out["dropoff"]

        # the user comes back after the timeout ran out: active again, one resumption. The
        # first read is right after the flush; the sweeper would time it out again a second
        # after this turn's last activity.
        app.turn(session_id, user, {**attributes, "turn.number": 2}, duration_ms=50)
        app.flush()
        resumed = poll_session(base, session_id, lambda s: s["status"] == "active" and s["resumptions"] == 1,
                               "status active with resumptions 1")
        assert (resumed["endReason"], resumed["endSource"], resumed["endTime"], resumed["idleTimeMs"]) == (
            None, None, None, None), resumed
        assert resumed["turnCount"] == 2, resumed
        assert resumed["dropoff"]["isDropoff"] is False, resumed

        # quiet again: timed out again, and the resumption is not counted twice
        again = poll_session(base, session_id, lambda s: s["status"] == "timed_out", "status timed_out again")
        assert again["resumptions"] == 1, again
        assert again["dropoff"]["lastTurnNumber"] == 2, again
    finally:
        app.close()


# ---------------------------------------------------------------------------------------------
# 5. context window: sent, or derived from the peak generation and the model's window


def test_context_window_sent_and_derived(app, analytics_server):
    base = analytics_server.url
    session_id, user = unique("sess-ctx"), unique("user-ctx")
    times = schedule(3)
    common = {"session.channel": "web", "conversation.id": session_id + "-conv", "turn.input_type": "question"}
    sent = app.turn(session_id, user, {
        **common, "turn.number": 1, "conversation.context_tokens": 12_000, "conversation.context_limit": 100_000,
    }, start_ms=times[0], generations=(12_000,))
    derived = app.turn(session_id, user, {**common, "turn.number": 2}, start_ms=times[1], generations=(64_000,))
    # two LLM calls: the peak (not the sum) is what the turn used of its window
    peak = app.turn(session_id, user, {**common, "turn.number": 3}, start_ms=times[2], generations=(30_000, 102_400))
    app.flush()

    session = get_session(base, session_id)
    windows = {t["id"]: t["contextWindow"] for t in session["traces"]}
    assert windows[sent] == {"tokens": 12_000, "limit": 100_000, "percent": 12.0, "source": "sent",
                             "pruned": None, "messagesPruned": None}, windows
    assert windows[derived] == {"tokens": 64_000, "limit": MODEL_WINDOW, "percent": 50.0, "source": "derived",
                                "pruned": None, "messagesPruned": None}, windows
    assert windows[peak] == {"tokens": 102_400, "limit": MODEL_WINDOW, "percent": 80.0, "source": "derived",
                             "pruned": None, "messagesPruned": None}, windows
    # the context attributes as sent stay on the turn; nothing was sent for the derived ones
    assert by_id(session["traces"])[derived]["context"]["tokens"] is None
    assert by_id(session["traces"])[peak]["inputTokens"] == 30_000 + 102_400
    assert session["contextWindow"] == {"maxPercent": 80.0, "maxTokens": 102_400, "firstTurnOver80Percent": 3}, session
    (conversation,) = session["conversations"]
    assert [t["contextPercent"] for t in conversation["turns"]] == [12.0, 50.0, 80.0], conversation


# ---------------------------------------------------------------------------------------------
# 6. the drill-down's conversations: turns grouped by conversation.id


def test_conversations_group_turns_by_conversation_id(app, analytics_server):
    base = analytics_server.url
    session_id, user = unique("sess-convs"), unique("user-convs")
    billing, shipping = session_id + "-billing", session_id + "-shipping"
    times = schedule(5)
    # (conversation.id, turn.number, conversation.topic); numbers are per conversation
    plan = [(billing, 1, "billing"), (billing, 2, "billing"), (shipping, 1, "shipping"), (billing, 3, "billing"),
            (None, 1, None)]
    trace_ids = []
    for (conversation, number, topic), start in zip(plan, times):
        attributes: Dict[str, Any] = {"session.channel": "web", "turn.number": number, "turn.input_type": "question"}
        if conversation is not None:
            attributes["conversation.id"] = conversation
            attributes["conversation.topic"] = topic
        trace_ids.append(app.turn(session_id, user, attributes, start_ms=start))
    app.flush()

    session = get_session(base, session_id)
    assert session["conversationCount"] == 3, session
    assert session["turnNumberSource"] == "sent", session
    assert session["turnIssues"] == NO_TURN_ISSUES, session  # 1 in two conversations is no duplicate
    groups = session["conversations"]
    assert [(g["id"], g["topic"], g["turnCount"]) for g in groups] == [
        (billing, "billing", 3), (shipping, "shipping", 1), (None, None, 1)], groups
    assert [[t["traceId"] for t in g["turns"]] for g in groups] == [
        [trace_ids[0], trace_ids[1], trace_ids[3]], [trace_ids[2]], [trace_ids[4]]], groups
    assert [[t["turnNumber"] for t in g["turns"]] for g in groups] == [[1, 2, 3], [1], [1]], groups
    first = groups[0]["turns"][0]
    assert first == {
        "traceId": trace_ids[0], "name": "chat-turn", "startTime": iso(times[0]), "turnNumber": 1,
        "turnNumberSource": "sent", "turnIssues": [], "role": None, "inputType": "question", "outputType": None,
        "inputLength": None, "outputLength": None, "agentRuns": 0, "toolCalls": 0, "latencyMs": TURN_MS,
        "contextPercent": 0.9,  # 1200 input tokens of gpt-4o-mini's 128000, rounded to 0.1
    }, first
    traces = by_id(session["traces"])
    assert [traces[t]["conversation"]["id"] for t in trace_ids] == [billing, billing, shipping, billing, None], traces
    assert [traces[t]["conversation"]["topic"] for t in trace_ids] == ["billing", "billing", "shipping", "billing", None]
