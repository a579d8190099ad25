#!/usr/bin/env python3
"""A 3-turn chat session sent through the real Langfuse Python SDK 2.60.10.

This uses the SDK the way an application developer would (see
/work/shared/fixtures/sdk/README.md for the scenario it reproduces):

    langfuse = Langfuse(public_key=..., secret_key=..., host=...)
    trace = langfuse.trace(...)              # one trace per turn, same user and session
    agent = trace.span(name="agent-run")     # agent span
    gen = agent.generation(name="llm-call")  # generation, model gpt-4o-mini
    gen.end(usage=...)                       # turn 1: legacy `usage`
    gen.end(usage_details=..., cost_details=...)  # turns 2 and 3
    tool = agent.span(name="tool:get_weather"); tool.end(output=...)
    agent.event(name="guardrail-check")
    agent.end(output=...)
    trace.update(output=..., metadata={"turn_latency_ms": ...})
    langfuse.score(trace_id=<turn 2>, name="user-feedback", value=1.0)
    langfuse.flush()

Token usage for turn i: input = 120 + 40*i, output = 30 + 5*i; cost = input * 0.15e-6 +
output * 0.60e-6.

Run directly, it prints a JSON summary of every id it created:

    python v2_scenario.py --host http://127.0.0.1:PORT --public-key pk-lf-test --secret-key sk-lf-test

(the keys and host default to LANGFUSE_PUBLIC_KEY / LANGFUSE_SECRET_KEY / LANGFUSE_HOST).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from typing import Any, Dict, List, Optional

import httpx
from langfuse import Langfuse

MODEL = "gpt-4o-mini"
INPUT_PRICE = 0.15e-6
OUTPUT_PRICE = 0.60e-6
SYSTEM_PROMPT = "You are a helpful travel assistant."

TURNS = [
    {
        "question": "What's the weather in Lisbon today?",
        "city": "Lisbon",
        "weather": {"temperature_c": 21, "conditions": "sunny"},
        "answer": "It is 21\u00b0C and sunny in Lisbon.",
    },
    {
        "question": "And tomorrow in Porto?",
        "city": "Porto",
        "weather": {"temperature_c": 17, "conditions": "light rain"},
        "answer": "Tomorrow Porto will be 17\u00b0C with light rain.",
    },
    {
        "question": "Should I pack an umbrella for the trip?",
        "city": "Porto",
        "weather": {"temperature_c": 17, "conditions": "light rain"},
        "answer": "Yes \u2014 pack an umbrella for Porto.",
    },
]


def turn_usage(turn: int) -> Dict[str, Any]:
    """Token counts and costs for turn number `turn` (1-based)."""
    input_tokens = 120 + 40 * turn
    output_tokens = 30 + 5 * turn
    input_cost = round(input_tokens * INPUT_PRICE, 12)
    output_cost = round(output_tokens * OUTPUT_PRICE, 12)
    return {
        "input": input_tokens,
        "output": output_tokens,
        "total": input_tokens + output_tokens,
        "input_cost": input_cost,
        "output_cost": output_cost,
        "total_cost": round(input_cost + output_cost, 12),
    }


def run_scenario(
    host: str,
    public_key: str,
    secret_key: str,
    *,
    run_id: Optional[str] = None,
    httpx_client: Optional[httpx.Client] = None,
    check_auth: bool = True,
) -> Dict[str, Any]:
    """Runs the 3-turn session against `host` and returns the ids it created.

    `httpx_client` is passed to `Langfuse(...)` unchanged (a documented constructor argument);
    the tests use it to watch the requests the SDK makes. Everything else is plain SDK use.
    """
    run_id = run_id or uuid.uuid4().hex[:12]
    user_id = f"sdk-v2-user-{run_id}"
    session_id = f"sdk-v2-session-{run_id}"
    conversation_id = f"conv-{run_id}"

    kwargs: Dict[str, Any] = dict(
        public_key=public_key,
        secret_key=secret_key,
        host=host,
        release="sdk-e2e-1.0.0",
        environment="production",
    )
    if httpx_client is not None:
        kwargs["httpx_client"] = httpx_client
    langfuse = Langfuse(**kwargs)

    summary: Dict[str, Any] = {
        "run_id": run_id,
        "user_id": user_id,
        "session_id": session_id,
        "conversation_id": conversation_id,
        "auth_check": None,
        "turns": [],
        "scores": [],
    }

    if check_auth:
        ok = langfuse.auth_check()
        assert ok is True, f"auth_check() returned {ok!r}"
        summary["auth_check"] = ok

    history: List[Dict[str, str]] = [{"role": "system", "content": SYSTEM_PROMPT}]
    for index, turn in enumerate(TURNS, start=1):
        started = time.perf_counter()
        usage = turn_usage(index)
        history.append({"role": "user", "content": turn["question"]})

        trace = langfuse.trace(
            name="chat-turn",
            user_id=user_id,
            session_id=session_id,
            input={"role": "user", "content": turn["question"]},
            version="1.0.0",
            metadata={"conversation_id": conversation_id, "turn_number": index, "channel": "web"},
            tags=["sdk-e2e", "chat", f"turn-{index}"],
        )

        agent = trace.span(
            name="agent-run",
            input={"question": turn["question"]},
            metadata={"agent": "travel-assistant", "turn_number": index},
        )

        generation = agent.generation(
            name="llm-call",
            model=MODEL,
            model_parameters={"temperature": 0.2, "max_tokens": 256},
            input=list(history),
            metadata={"provider": "openai"},
        )
        time.sleep(0.01)  # "calling the model"
        llm_output = {
            "role": "assistant",
            "content": turn["answer"],
            "tool_calls": [
                {
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": json.dumps({"city": turn["city"]})},
                }
            ],
        }
        if index == 1:
            # The legacy (deprecated but still common) `usage=` argument, with an OpenAI-style
            # usage dict; the SDK converts it to {input, output, total, unit, inputCost, ...}.
            generation.end(
                output=llm_output,
                usage={
                    "prompt_tokens": usage["input"],
                    "completion_tokens": usage["output"],
                    "total_tokens": usage["total"],
                    "input_cost": usage["input_cost"],
                    "output_cost": usage["output_cost"],
                    "total_cost": usage["total_cost"],
                },
            )
        else:
            generation.end(
                output=llm_output,
                usage_details={"input": usage["input"], "output": usage["output"], "total": usage["total"]},
                cost_details={
                    "input": usage["input_cost"],
                    "output": usage["output_cost"],
                    "total": usage["total_cost"],
                },
            )

        tool = agent.span(
            name="tool:get_weather",
            input={"city": turn["city"]},
            metadata={"tool_name": "get_weather"},
        )
        time.sleep(0.01)  # "calling the tool"
        tool.end(output={"city": turn["city"], **turn["weather"]})

        event = agent.event(
            name="guardrail-check",
            input={"text": turn["answer"]},
            output={"passed": True},
            metadata={"policy": "pii"},
        )

        agent.end(output={"answer": turn["answer"]})
        history.append({"role": "assistant", "content": turn["answer"]})

        latency_ms = int((time.perf_counter() - started) * 1000)
        trace.update(
            output={"role": "assistant", "content": turn["answer"]},
            metadata={"turn_latency_ms": latency_ms},
        )

        summary["turns"].append(
            {
                "turn": index,
                "trace_id": trace.id,
                "agent_span_id": agent.id,
                "generation_id": generation.id,
                "tool_span_id": tool.id,
                "event_id": event.id,
                "turn_latency_ms": latency_ms,
                "usage": usage,
                "answer": turn["answer"],
            }
        )

        if index == 2:
            score = langfuse.score(
                trace_id=trace.id,
                name="user-feedback",
                value=1.0,
                data_type="NUMERIC",
                comment="thumbs up",
            )
            summary["scores"].append(
                {"score_id": score.id, "trace_id": trace.id, "name": "user-feedback", "value": 1.0}
            )

    langfuse.flush()
    return summary


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("LANGFUSE_HOST", "http://127.0.0.1:3000"))
    parser.add_argument("--public-key", default=os.environ.get("LANGFUSE_PUBLIC_KEY", "pk-lf-test"))
    parser.add_argument("--secret-key", default=os.environ.get("LANGFUSE_SECRET_KEY", "sk-lf-test"))
    parser.add_argument("--run-id", default=None, help="suffix for user/session ids (default: random)")
    args = parser.parse_args(argv)

    summary = run_scenario(args.host, args.public_key, args.secret_key, run_id=args.run_id)
    json.dump(summary, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
