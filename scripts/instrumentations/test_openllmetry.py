"""OpenLLMetry's OpenAI instrumentation on its own (opentelemetry-instrumentation-openai 0.62.4,
without traceloop-sdk): one `gen_ai.content.completion.chunk` event per streamed chunk, which
Parley folds into the generation (a count and its time to first token), never an observation each."""

from __future__ import annotations

import os

from opentelemetry.instrumentation.openai import OpenAIInstrumentor

import checks
import otel_app
from checks import Expectations, Parley


def test_openllmetry_session_cost_streaming_tool_and_error(parley, tee, stub, auth_header):
    provider = otel_app.tracer_provider(f"{tee.url}/api/public/otel/v1/traces", auth_header)
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        otel_app.run_turns(provider, stub.url, "sess-openllmetry", "user-openllmetry")
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
    api = Parley(parley.url, auth_header)
    session = checks.check_scenario(api, Expectations("sess-openllmetry", "user-openllmetry"),
                                    error_spans=checks.error_span_count(tee.traces()))
    streamed = [o for t in session["traces"] for o in api.json(f"/api/public/traces/{t['id']}")["observations"]
                if o.get("completionStartTime")]
    assert streamed[0]["metadata"]["streamChunks"] >= 4, streamed[0]["metadata"]
    if os.environ.get("CAPTURE_FIXTURES") == "1":
        tee.save_fixtures("openllmetry")
