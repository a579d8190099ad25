"""The scenario as an app instrumented with plain OpenTelemetry around a library's OpenAI
instrumentation (OpenLLMetry's alone, or OTel's openai-v2): each turn is the app's span with
`session.id` and `user.id`, the tool runs in an `execute_tool` span (OpenTelemetry GenAI)."""

from __future__ import annotations

import json

import openai
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

import checks
from checks import FAIL_PROMPT, MODEL, STREAM_PROMPT, TOOL_PROMPT

TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
                                            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]


def tracer_provider(endpoint: str, auth_header: str) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint, headers={"Authorization": auth_header})))
    return provider


def run_turns(provider: TracerProvider, base_url: str, session_id: str, user_id: str) -> None:
    """Three turns: a streamed answer, a tool call and its follow-up, a failed call."""
    tracer = provider.get_tracer("app")
    client = openai.OpenAI(base_url=base_url, api_key="sk-stub", max_retries=0)
    turn = {"session.id": session_id, "user.id": user_id}
    with tracer.start_as_current_span("turn-1", attributes=turn):
        stream = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": STREAM_PROMPT}],
                                                stream=True, stream_options={"include_usage": True})
        for _ in stream:
            pass
    with tracer.start_as_current_span("turn-2", attributes=turn):
        messages = [{"role": "user", "content": TOOL_PROMPT}]
        first = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
        call = first.choices[0].message.tool_calls[0]
        with tracer.start_as_current_span("execute_tool get_weather", attributes={
                "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "get_weather",
                "gen_ai.tool.call.id": call.id, "gen_ai.tool.call.arguments": call.function.arguments}) as span:
            result = checks.get_weather(**json.loads(call.function.arguments))
            span.set_attribute("gen_ai.tool.call.result", result)
        messages += [first.choices[0].message.model_dump(exclude_none=True),
                     {"role": "tool", "tool_call_id": call.id, "content": result}]
        client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
    with tracer.start_as_current_span("turn-3", attributes=turn):
        try:
            client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": FAIL_PROMPT}])
        except openai.InternalServerError:
            pass
