"""traceloop-sdk 0.62.4 (OpenLLMetry's SDK: its OpenAI instrumentation plus workflows, tools and
association properties), exporting traces and metrics to Parley. Each turn is a `@workflow`, the
tool a `@tool` (`traceloop.span.kind`), session and user association properties. Its metrics
exports are answered 200 with partialSuccess, so the SDK logs no error."""

from __future__ import annotations

import json
import logging
import os

import openai
from opentelemetry import metrics, trace
from traceloop.sdk import Traceloop
from traceloop.sdk.decorators import tool, workflow

import checks
from checks import FAIL_PROMPT, MODEL, STREAM_PROMPT, TOOL_PROMPT, Expectations, Parley

TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
                                            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
SESSION, USER = "sess-traceloop", "user-traceloop"


def test_traceloop_session_cost_streaming_tool_error_and_metrics(parley, tee, stub, auth_header, caplog):
    caplog.set_level(logging.ERROR)
    Traceloop.init(app_name="weather-bot", api_endpoint=f"{tee.url}/api/public/otel", headers={"Authorization": auth_header},
                   disable_batch=True, telemetry_enabled=False)
    Traceloop.set_association_properties({"session_id": SESSION, "user_id": USER, "tenant": "acme"})
    client = openai.OpenAI(base_url=stub.url, api_key="sk-stub", max_retries=0)

    @tool(name="get_weather")
    def get_weather(city: str) -> str:
        return checks.get_weather(city)

    @workflow(name="turn-1")
    def turn_1() -> None:
        stream = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": STREAM_PROMPT}],
                                                stream=True, stream_options={"include_usage": True})
        for _ in stream:
            pass

    @workflow(name="turn-2")
    def turn_2() -> None:
        messages = [{"role": "user", "content": TOOL_PROMPT}]
        first = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
        call = first.choices[0].message.tool_calls[0]
        result = get_weather(**json.loads(call.function.arguments))
        messages += [first.choices[0].message.model_dump(exclude_none=True),
                     {"role": "tool", "tool_call_id": call.id, "content": result}]
        client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)

    @workflow(name="turn-3")
    def turn_3() -> None:
        try:
            client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": FAIL_PROMPT}])
        except openai.InternalServerError:
            pass

    turn_1()
    turn_2()
    turn_3()
    # Flush and stop the SDK's providers now, while the tee still listens (not at exit).
    for provider in (metrics.get_meter_provider(), trace.get_tracer_provider()):
        if hasattr(provider, "shutdown"):
            provider.shutdown()
    api = Parley(parley.url, auth_header)
    session = checks.check_scenario(api, Expectations(SESSION, USER), error_spans=checks.error_span_count(tee.traces()))
    # Workflows are chains; the other association properties are metadata.
    every = [o for t in session["traces"] for o in api.json(f"/api/public/traces/{t['id']}")["observations"]]
    assert {o["name"] for o in every if o["type"] == "CHAIN"} >= {"turn-1", "turn-2", "turn-3"}, [(o["type"], o["name"]) for o in every]
    assert all(t["metadata"].get("tenant") == "acme" for t in session["traces"])
    # The metrics exports reached Parley and were answered 200 (no 404 error logged).
    metric_exports = [status for path, _, _, status in tee.exports if path.endswith("/v1/metrics")]
    assert metric_exports and set(metric_exports) == {200}, tee.exports
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR and "export" in r.getMessage().lower()]
    assert not errors, errors
    if os.environ.get("CAPTURE_FIXTURES") == "1":
        tee.save_fixtures("traceloop")
