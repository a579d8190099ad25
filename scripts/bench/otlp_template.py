#!/usr/bin/env python3
"""Writes an OTLP ExportTraceServiceRequest (binary protobuf) of SPANS spans for
scripts/bench/otlp.lua, with parleykit's encoder (no opentelemetry-proto needed).

Usage: otlp_template.py SPANS OUT.bin

The spans are turns as the langfuse 5.x SDK and a session-tracking app send them: per trace a
root `chat-turn` span (session.id, user.id, turn.number, session.channel), an `agent-run` span,
then generation and tool spans alternating under it (model, usage, cost, input, output). Every
trace and span id starts with the 4-byte MARKER, and the session id contains the ASCII SESSION
placeholder; otlp.lua replaces both per request (same lengths, so the protobuf stays valid), so
no two requests share an id and nothing is deduplicated away.
"""
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # scripts/, for parleykit
from parleykit.otlp import export_request, int_value, span, string_value  # noqa: E402

MARKER = b"\x7f\x3e\x5a\x91"
SESSION = b"SESSXXXXXXXX"  # 12 ASCII bytes
SPANS_PER_TRACE = 10


def main():
    total, out = int(sys.argv[1]), sys.argv[2]
    base = 1_795_000_000_000_000_000
    spans = []
    for index in range(total):
        trace_no, position = divmod(index, SPANS_PER_TRACE)
        trace_id = MARKER + struct.pack(">IQ", 0, trace_no)
        span_id = MARKER + struct.pack(">I", index + 1)
        root_id = MARKER + struct.pack(">I", trace_no * SPANS_PER_TRACE + 1)
        agent_id = MARKER + struct.pack(">I", trace_no * SPANS_PER_TRACE + 2)
        start = base + trace_no * 2_000_000_000 + position * 100_000_000
        end = start + 80_000_000
        if position == 0:
            spans.append(span(trace_id, span_id, "chat-turn", start, start + 1_500_000_000, [
                ("session.id", string_value(b"bench-" + SESSION)), ("user.id", string_value("bench-user")),
                ("turn.number", int_value(trace_no + 1)), ("session.channel", string_value("web")),
                ("langfuse.trace.name", string_value("chat-turn")),
                ("langfuse.observation.input", string_value('{"role": "user", "content": "Where is my order 1042?"}')),
            ]))
        elif position == 1:
            spans.append(span(trace_id, span_id, "agent-run", start, start + 1_300_000_000, [
                ("langfuse.observation.type", string_value("agent")),
            ], parent_id=root_id))
        elif position % 2 == 0:
            spans.append(span(trace_id, span_id, "llm-call", start, end, [
                ("langfuse.observation.type", string_value("generation")),
                ("gen_ai.request.model", string_value("gpt-4o-mini")),
                ("langfuse.observation.input", string_value('[{"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": "Where is my order 1042?"}]')),
                ("langfuse.observation.output", string_value('{"role": "assistant", "content": "It ships tomorrow."}')),
                ("langfuse.observation.usage_details", string_value('{"input": 200, "output": 40, "total": 240}')),
                ("langfuse.observation.cost_details", string_value('{"input": 3e-05, "output": 2.4e-05, "total": 5.4e-05}')),
            ], parent_id=agent_id))
        else:
            spans.append(span(trace_id, span_id, "tool:lookup_order", start, end, [
                ("langfuse.observation.type", string_value("tool")),
                ("langfuse.observation.input", string_value('{"order": 1042}')),
                ("langfuse.observation.output", string_value('{"status": "shipped"}')),
            ], parent_id=agent_id))
    request = export_request(spans, scope="langfuse-sdk", scope_version="5.0.4",
                             resource=[("service.name", string_value("bench-app"))])
    with open(out, "wb") as handle:
        handle.write(request)


if __name__ == "__main__":
    main()
