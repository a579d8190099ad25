#!/usr/bin/env python3
"""Writes an OTLP ExportTraceServiceRequest (binary protobuf) of SPANS spans for
scripts/bench/otlp.lua, with the standard library only (no opentelemetry-proto needed).

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

MARKER = b"\x7f\x3e\x5a\x91"
SESSION = b"SESSXXXXXXXX"  # 12 ASCII bytes
SPANS_PER_TRACE = 10


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field(number, wire, payload):
    key = varint((number << 3) | wire)
    if wire == 2:
        return key + varint(len(payload)) + payload
    return key + payload


def string_value(text):
    return field(1, 2, text if isinstance(text, bytes) else text.encode())


def int_value(n):
    return field(3, 0, varint(n))


def key_value(key, any_value):
    return field(1, 2, key.encode()) + field(2, 2, any_value)


def span(trace_id, span_id, parent_id, name, start, end, attributes):
    body = field(1, 2, trace_id) + field(2, 2, span_id)
    if parent_id:
        body += field(4, 2, parent_id)
    body += field(5, 2, name.encode()) + field(6, 0, varint(1))
    body += field(7, 1, struct.pack("<Q", start)) + field(8, 1, struct.pack("<Q", end))
    for key, value in attributes:
        body += field(9, 2, key_value(key, value))
    return field(2, 2, body)


def main():
    total, out = int(sys.argv[1]), sys.argv[2]
    base = 1_795_000_000_000_000_000
    spans = b""
    for index in range(total):
        trace_no, position = divmod(index, SPANS_PER_TRACE)
        trace_id = MARKER + struct.pack(">IQ", 0, trace_no)
        span_id = MARKER + struct.pack(">I", index + 1)
        root_id = MARKER + struct.pack(">I", trace_no * SPANS_PER_TRACE + 1)
        agent_id = MARKER + struct.pack(">I", trace_no * SPANS_PER_TRACE + 2)
        start = base + trace_no * 2_000_000_000 + position * 100_000_000
        end = start + 80_000_000
        if position == 0:
            spans += span(trace_id, span_id, None, "chat-turn", start, start + 1_500_000_000, [
                ("session.id", string_value(b"bench-" + SESSION)), ("user.id", string_value("bench-user")),
                ("turn.number", int_value(trace_no + 1)), ("session.channel", string_value("web")),
                ("langfuse.trace.name", string_value("chat-turn")),
                ("langfuse.observation.input", string_value('{"role": "user", "content": "Where is my order 1042?"}')),
            ])
        elif position == 1:
            spans += span(trace_id, span_id, root_id, "agent-run", start, start + 1_300_000_000, [
                ("langfuse.observation.type", string_value("agent")),
            ])
        elif position % 2 == 0:
            spans += span(trace_id, span_id, agent_id, "llm-call", start, end, [
                ("langfuse.observation.type", string_value("generation")),
                ("gen_ai.request.model", string_value("gpt-4o-mini")),
                ("langfuse.observation.input", string_value('[{"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": "Where is my order 1042?"}]')),
                ("langfuse.observation.output", string_value('{"role": "assistant", "content": "It ships tomorrow."}')),
                ("langfuse.observation.usage_details", string_value('{"input": 200, "output": 40, "total": 240}')),
                ("langfuse.observation.cost_details", string_value('{"input": 3e-05, "output": 2.4e-05, "total": 5.4e-05}')),
            ])
        else:
            spans += span(trace_id, span_id, agent_id, "tool:lookup_order", start, end, [
                ("langfuse.observation.type", string_value("tool")),
                ("langfuse.observation.input", string_value('{"order": 1042}')),
                ("langfuse.observation.output", string_value('{"status": "shipped"}')),
            ])
    scope = field(1, 2, field(1, 2, b"langfuse-sdk") + field(2, 2, b"5.0.4")) + spans
    resource = field(1, 2, field(1, 2, key_value("service.name", string_value("bench-app"))))
    request = field(1, 2, resource + field(2, 2, scope))
    with open(out, "wb") as handle:
        handle.write(request)


if __name__ == "__main__":
    main()
