"""LangChain 1.5.2 (langchain-openai's ChatOpenAI) traced by Langfuse's callback handler
(`langfuse.langchain.CallbackHandler`, langfuse 5.2.0): the chain's runs become Langfuse
observations over OTLP, the tool run a TOOL, the streamed answer's first token its completion start."""

from __future__ import annotations

import os

from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from langfuse import Langfuse, propagate_attributes
from langfuse.langchain import CallbackHandler

import checks
from checks import FAIL_PROMPT, MODEL, STREAM_PROMPT, TOOL_PROMPT, Expectations, Parley
from conftest import PUBLIC_KEY, SECRET_KEY

SESSION, USER = "sess-langchain", "user-langchain"


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return checks.get_weather(city)


def test_langchain_session_cost_streaming_tool_and_error(parley, tee, stub, auth_header):
    langfuse = Langfuse(public_key=PUBLIC_KEY, secret_key=SECRET_KEY, host=tee.url)
    handler = CallbackHandler()
    config = {"callbacks": [handler]}
    llm = ChatOpenAI(model=MODEL, base_url=stub.url, api_key="sk-stub", max_retries=0, stream_usage=True)
    try:
        with langfuse.start_as_current_observation(name="turn-1"), propagate_attributes(session_id=SESSION, user_id=USER):
            for _ in llm.stream([HumanMessage(STREAM_PROMPT)], config=config):
                pass
        with langfuse.start_as_current_observation(name="turn-2"), propagate_attributes(session_id=SESSION, user_id=USER):
            with_tools = llm.bind_tools([get_weather])
            messages = [HumanMessage(TOOL_PROMPT)]
            first = with_tools.invoke(messages, config=config)
            call = first.tool_calls[0]
            result = get_weather.invoke(call["args"], config=config)
            messages += [first, ToolMessage(result, tool_call_id=call["id"])]
            with_tools.invoke(messages, config=config)
        with langfuse.start_as_current_observation(name="turn-3"), propagate_attributes(session_id=SESSION, user_id=USER):
            try:
                llm.invoke([HumanMessage(FAIL_PROMPT)], config=config)
            except Exception:  # openai.InternalServerError, raised through LangChain
                pass
    finally:
        langfuse.flush()
        langfuse.shutdown()
    checks.check_scenario(Parley(parley.url, auth_header), Expectations(SESSION, USER),
                          error_spans=checks.error_span_count(tee.traces()))
    if os.environ.get("CAPTURE_FIXTURES") == "1":
        tee.save_fixtures("langchain")
