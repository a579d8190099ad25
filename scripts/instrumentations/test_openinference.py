"""OpenInference's OpenAI instrumentation (openinference-instrumentation-openai 0.1.66) exporting
OTLP/HTTP to Parley: session and user from `using_session` / `using_user`, a CHAIN span per turn
and a TOOL span for the tool, as OpenInference's conventions have them."""

from __future__ import annotations

import json
import os

import openai
from openinference.instrumentation import using_metadata, using_session, using_user
from openinference.instrumentation.openai import OpenAIInstrumentor
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

import checks
from checks import FAIL_PROMPT, MODEL, STREAM_PROMPT, TOOL_PROMPT, Expectations, Parley

TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
                                            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]


def test_openinference_session_cost_streaming_tool_and_error(parley, tee, stub, auth_header):
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(
        endpoint=f"{tee.url}/api/public/otel/v1/traces", headers={"Authorization": auth_header})))
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    tracer = provider.get_tracer("app")
    client = openai.OpenAI(base_url=stub.url, api_key="sk-stub", max_retries=0)
    try:
        with using_session("sess-openinference"), using_user("user-openinference"), using_metadata({"app": "weather-bot"}):
            with tracer.start_as_current_span("turn-1", attributes={"openinference.span.kind": "CHAIN"}):
                stream = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": STREAM_PROMPT}],
                                                        stream=True, stream_options={"include_usage": True})
                for _ in stream:
                    pass
            with tracer.start_as_current_span("turn-2", attributes={"openinference.span.kind": "CHAIN"}):
                messages = [{"role": "user", "content": TOOL_PROMPT}]
                first = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
                call = first.choices[0].message.tool_calls[0]
                with tracer.start_as_current_span("get_weather", attributes={
                        "openinference.span.kind": "TOOL", "tool.name": "get_weather",
                        "input.value": call.function.arguments}) as span:
                    result = checks.get_weather(**json.loads(call.function.arguments))
                    span.set_attribute("output.value", result)
                messages += [first.choices[0].message.model_dump(exclude_none=True),
                             {"role": "tool", "tool_call_id": call.id, "content": result}]
                client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
            with tracer.start_as_current_span("turn-3", attributes={"openinference.span.kind": "CHAIN"}):
                try:
                    client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": FAIL_PROMPT}])
                except openai.InternalServerError:
                    pass
    finally:
        instrumentor.uninstrument()
        provider.shutdown()

    api = Parley(parley.url, auth_header)
    session = checks.check_scenario(api, Expectations("sess-openinference", "user-openinference"),
                                    error_spans=checks.error_span_count(tee.traces()))
    # OpenInference's `metadata` (using_metadata) reaches the trace's metadata.
    assert all(t["metadata"].get("app") == "weather-bot" for t in session["traces"]), [t["metadata"] for t in session["traces"]]
    # The failed call carries its model only in llm.invocation_parameters.
    failed = [o for t in session["traces"] for o in api.json(f"/api/public/traces/{t['id']}")["observations"]
              if o["level"] == "ERROR" and o["type"] == "GENERATION"]
    assert failed and failed[0]["model"] == MODEL, failed
    if os.environ.get("CAPTURE_FIXTURES") == "1":
        tee.save_fixtures("openinference")
