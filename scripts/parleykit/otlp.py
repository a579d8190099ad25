"""OTLP/protobuf by hand: an ExportTraceServiceRequest built from its fields
(scripts/otlp/proto/opentelemetry/proto/trace/v1/trace.proto and common/v1/common.proto), so
no opentelemetry-proto is needed and any value can be written, extreme or malformed ones too."""
from __future__ import annotations

import struct
from typing import Iterable

# Wire types (https://protobuf.dev/programming-guides/encoding/#structure).
VARINT, I64, LEN = 0, 1, 2


def varint(value: int) -> bytes:
    """A protobuf varint; a negative int64 is written as its 64-bit two's complement (10 bytes)."""
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field(number: int, payload: bytes | str | int, wire: int = LEN) -> bytes:
    """One field: LEN (bytes, or a str as UTF-8), VARINT (an int) or I64 (an unsigned int as
    fixed64, or 8 bytes such as a packed double)."""
    if wire == VARINT:
        return varint(number << 3) + varint(int(payload))
    if wire == I64:
        data = payload if isinstance(payload, bytes) else int(payload).to_bytes(8, "little")
        return varint(number << 3 | I64) + data
    data = payload.encode() if isinstance(payload, str) else payload
    return varint(number << 3 | LEN) + varint(len(data)) + data


def string_value(text: str | bytes) -> bytes:
    """An AnyValue holding a string."""
    return field(1, text)


def int_value(number: int) -> bytes:
    """An AnyValue holding an int64."""
    return field(3, number, VARINT)


def double_value(number: float) -> bytes:
    """An AnyValue holding a double (infinities and NaN included)."""
    return field(4, struct.pack("<d", number), I64)


def key_value(key: str, value: bytes) -> bytes:
    """A KeyValue: `value` is an AnyValue (string_value, int_value, ...)."""
    return field(1, key) + field(2, value)


def span(trace_id: bytes, span_id: bytes, name: str | bytes, start: int, end: int,
         attributes: Iterable[tuple[str, bytes]] = (), parent_id: bytes | None = None,
         kind: int | None = 1) -> bytes:
    """A Span: ids as raw bytes (16 and 8), times in Unix nanoseconds (fixed64), kind 1
    (internal) unless given (None leaves the field out), attributes as (key, AnyValue)."""
    body = field(1, trace_id) + field(2, span_id)
    if parent_id:
        body += field(4, parent_id)
    body += field(5, name)
    if kind is not None:
        body += field(6, kind, VARINT)
    body += field(7, start, I64) + field(8, end, I64)
    return body + b"".join(field(9, key_value(key, value)) for key, value in attributes)


def export_request(spans: Iterable[bytes], scope: str | None = None, scope_version: str | None = None,
                   resource: Iterable[tuple[str, bytes]] = ()) -> bytes:
    """An ExportTraceServiceRequest of one ResourceSpans (with `resource`'s attributes) holding
    one ScopeSpans (named `scope`, when given) with `spans`."""
    scope_spans = b""
    if scope is not None:
        scope_spans += field(1, field(1, scope) + (field(2, scope_version) if scope_version else b""))
    scope_spans += b"".join(field(2, one) for one in spans)
    attributes = b"".join(field(1, key_value(key, value)) for key, value in resource)
    resource_spans = (field(1, attributes) if attributes else b"") + field(2, scope_spans)
    return field(1, resource_spans)
