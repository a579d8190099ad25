"""OpenTelemetry's own OpenAI instrumentation (opentelemetry-instrumentation-openai-v2 2.4b0)
with the newer GenAI conventions (`OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental`:
messages as `gen_ai.input.messages` / `gen_ai.output.messages` on the span). It sends no
first-token signal for a streamed call, so there is no time to first token to show."""

from __future__ import annotations

import os

import checks
import otel_app
from checks import Expectations, Parley


def test_otel_genai_session_cost_tool_and_error(parley, tee, stub, auth_header, monkeypatch):
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "gen_ai_latest_experimental")
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_ONLY")
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

    provider = otel_app.tracer_provider(f"{tee.url}/api/public/otel/v1/traces", auth_header)
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        otel_app.run_turns(provider, stub.url, "sess-otel-genai", "user-otel-genai")
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
    api = Parley(parley.url, auth_header)
    session = checks.check_scenario(api, Expectations("sess-otel-genai", "user-otel-genai", ttft=False),
                                    error_spans=checks.error_span_count(tee.traces()))
    # The prompt and answer are on the generation, from the span's GenAI message attributes.
    generations = [o for t in session["traces"] for o in api.json(f"/api/public/traces/{t['id']}")["observations"]
                   if o["type"] == "GENERATION" and o["output"]]
    assert any("forty-two" in str(o["output"]) for o in generations), [o["output"] for o in generations]
    if os.environ.get("CAPTURE_FIXTURES") == "1":
        tee.save_fixtures("otel-genai")
