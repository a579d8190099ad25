"""pydantic-ai 2.78.0's own instrumentation: it puts `gen_ai.conversation.id` only on its spans
under the app's span (the session), prices each call itself (`operation.cost`, which Parley keeps
as the given cost), reports `gen_ai.client.operation.time_to_first_chunk` for a streamed call, and
carries the agent's messages and result as `pydantic_ai.all_messages` and `final_result`."""

from __future__ import annotations

import asyncio
import os

import openai
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from pydantic_ai import Agent
from pydantic_ai.models.instrumented import InstrumentationSettings
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

import checks
from checks import FAIL_PROMPT, MODEL, STREAM_PROMPT, TOOL_PROMPT, Expectations, Parley


def test_pydantic_ai_session_cost_streaming_tool_and_error(parley, tee, stub, auth_header):
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(
        endpoint=f"{tee.url}/api/public/otel/v1/traces", headers={"Authorization": auth_header})))
    tracer = provider.get_tracer("app")
    client = openai.AsyncOpenAI(base_url=stub.url, api_key="sk-stub", max_retries=0)
    agent = Agent(OpenAIChatModel(MODEL, provider=OpenAIProvider(openai_client=client)))
    agent.instrument = InstrumentationSettings(tracer_provider=provider)

    @agent.tool_plain
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return checks.get_weather(city)

    async def turns() -> None:
        with tracer.start_as_current_span("turn-1", attributes={"user.id": "user-pydantic-ai"}):
            async with agent.run_stream(STREAM_PROMPT, conversation_id="sess-pydantic-ai") as result:
                async for _ in result.stream_text():
                    pass
        with tracer.start_as_current_span("turn-2", attributes={"user.id": "user-pydantic-ai"}):
            await agent.run(TOOL_PROMPT, conversation_id="sess-pydantic-ai")
        with tracer.start_as_current_span("turn-3", attributes={"user.id": "user-pydantic-ai"}):
            try:
                await agent.run(FAIL_PROMPT, conversation_id="sess-pydantic-ai")
            except Exception:  # pydantic-ai's ModelHTTPError family
                pass

    try:
        asyncio.run(turns())
    finally:
        provider.shutdown()
    api = Parley(parley.url, auth_header)
    session = checks.check_scenario(api, Expectations("sess-pydantic-ai", "user-pydantic-ai", cost_source="given"),
                                    error_spans=checks.error_span_count(tee.traces()))
    agents = [o for t in session["traces"] for o in api.json(f"/api/public/traces/{t['id']}")["observations"] if o["type"] == "AGENT"]
    answered = [o for o in agents if o["output"]]
    assert answered and "forty-two" in str(answered[0]["output"]), [(o["input"], o["output"]) for o in agents]
    assert all(isinstance(o["input"], list) for o in answered), [o["input"] for o in answered]
    if os.environ.get("CAPTURE_FIXTURES") == "1":
        tee.save_fixtures("pydantic-ai")
