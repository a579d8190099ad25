"""The 3-turn chat scenario written as an app developer would with langfuse==5.0.4.

One session, one user, one trace per turn: root span `chat-turn` > agent `agent-run` >
generation `llm-call` (gpt-4o-mini, usage/cost details) and tool `tool:get_weather`, plus an
event `guardrail-check`. Exits 3 when the SDK logged any warning or error (failed export).
"""

from __future__ import annotations

import os
import sys

from _scenario_common import install_collector, parse_args, usage


def main() -> int:
    args = parse_args(__doc__)
    if args.ca:
        # langfuse 5.0.4 builds its OTLPSpanExporter itself and wires no TLS option into it; the
        # exporter reads its CA from the standard OpenTelemetry variable. The API client (httpx)
        # gets an explicit httpx client trusting the same CA.
        os.environ["OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE"] = args.ca
    import httpx
    from langfuse import Langfuse, propagate_attributes

    collector = install_collector()
    client_kwargs = {}
    if args.ca:
        client_kwargs["httpx_client"] = httpx.Client(verify=args.ca, timeout=10)
    langfuse = Langfuse(public_key=args.public_key, secret_key=args.secret_key, host=args.base_url, **client_kwargs)

    for turn in (1, 2, 3):
        question = f"turn {turn}: what is the weather in Paris?"
        with langfuse.start_as_current_observation(as_type="span", name="chat-turn", input={"question": question}) as root:
            with propagate_attributes(user_id="user-v5", session_id=args.session, trace_name="chat-turn",
                                      metadata={"turn": str(turn)}):
                with langfuse.start_as_current_observation(as_type="agent", name="agent-run", input=question) as agent:
                    u = usage(turn)
                    with langfuse.start_as_current_observation(
                        as_type="generation",
                        name="llm-call",
                        model="gpt-4o-mini",
                        model_parameters={"temperature": 0.2, "max_tokens": 256},
                        input=[{"role": "user", "content": question}],
                    ) as generation:
                        generation.update(
                            output={"role": "assistant", "content": "Let me check the weather."},
                            usage_details=u,
                            cost_details={"input": u["input"] * 0.15e-6, "output": u["output"] * 0.60e-6,
                                          "total": u["input"] * 0.15e-6 + u["output"] * 0.60e-6},
                        )
                    with langfuse.start_as_current_observation(as_type="tool", name="tool:get_weather",
                                                               input={"city": "Paris"}) as tool:
                        tool.update(output={"forecast": "sunny", "celsius": 21})
                    langfuse.create_event(name="guardrail-check", input=question, output={"ok": True})
                    agent.update(output="It is sunny in Paris.")
                root.update(output={"answer": "It is sunny in Paris."})

    langfuse.flush()
    langfuse.shutdown()
    if collector.messages:
        print("\n".join(collector.messages), file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
