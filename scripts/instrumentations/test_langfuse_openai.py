"""Langfuse's own OpenAI wrapper (`langfuse.openai`, langfuse 5.2.0): Langfuse attributes over
OTLP, session and user from `propagate_attributes`, the tool as a `tool` observation. It sends
usage and the time of the first streamed token, no cost: Parley infers it as Langfuse does."""

from __future__ import annotations

import json
import os

import openai
from langfuse import Langfuse, propagate_attributes
from langfuse.openai import OpenAI

import checks
from checks import FAIL_PROMPT, MODEL, STREAM_PROMPT, TOOL_PROMPT, Expectations, Parley
from conftest import PUBLIC_KEY, SECRET_KEY

TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
                                            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
SESSION, USER = "sess-langfuse-openai", "user-langfuse-openai"


def test_langfuse_openai_session_cost_streaming_tool_and_error(parley, tee, stub, auth_header):
    langfuse = Langfuse(public_key=PUBLIC_KEY, secret_key=SECRET_KEY, host=tee.url)
    client = OpenAI(base_url=stub.url, api_key="sk-stub", max_retries=0)
    try:
        with langfuse.start_as_current_observation(name="turn-1"), propagate_attributes(session_id=SESSION, user_id=USER):
            stream = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": STREAM_PROMPT}],
                                                    stream=True, stream_options={"include_usage": True})
            for _ in stream:
                pass
        with langfuse.start_as_current_observation(name="turn-2"), propagate_attributes(session_id=SESSION, user_id=USER):
            messages = [{"role": "user", "content": TOOL_PROMPT}]
            first = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
            call = first.choices[0].message.tool_calls[0]
            with langfuse.start_as_current_observation(as_type="tool", name="get_weather", input=call.function.arguments) as tool:
                result = checks.get_weather(**json.loads(call.function.arguments))
                tool.update(output=result)
            messages += [first.choices[0].message.model_dump(exclude_none=True),
                         {"role": "tool", "tool_call_id": call.id, "content": result}]
            client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
        with langfuse.start_as_current_observation(name="turn-3"), propagate_attributes(session_id=SESSION, user_id=USER):
            try:
                client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": FAIL_PROMPT}])
            except openai.InternalServerError:
                pass
    finally:
        langfuse.flush()
        langfuse.shutdown()
    checks.check_scenario(Parley(parley.url, auth_header), Expectations(SESSION, USER),
                          error_spans=checks.error_span_count(tee.traces()))
    if os.environ.get("CAPTURE_FIXTURES") == "1":
        tee.save_fixtures("langfuse-openai")
