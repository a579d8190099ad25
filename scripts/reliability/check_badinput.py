"""Bad input: the explicit cases of issue #9, each sent to a live server over a real socket.

Every case asserts the status, the JSON error body {"message": str, "error": str}, what happens
to the connection (an application 4xx keeps it: a health check on the same socket must be
answered; a transport 4xx says Connection: close and closes it cleanly), that a normal request
on a new connection is then served (a valid batch, whose events must be stored), and that the
server is still running.

Cases whose input is one bad event inside a well-formed batch follow Langfuse's contract: the
batch is answered 207 and the event gets its own entry in `errors` with status 400 (the other
events of the batch are stored). Those are: huge numbers in usage, and NUL bytes in ids. A batch
of 10,000 small events fits the documented 3.5 MB batch limit, so the right answer is a 207 with
all of them stored; 10,000 events padded past the limit get 413.

Figures: for the 100 MB body, how long the 413 took and how much of the body had been sent by
then; for the gzip bomb, its size on the wire; for the 10,000-event batch, how long it took.
"""
from __future__ import annotations

import functools
import http.client
import json
import socket
import struct
import threading
import time
import uuid
import zlib

from common import (Context, Parley, RawResponse, Result, guarded, iso, log, raw_request, read_response, small_batch,
                    stored_event_ids)
from parleykit.otlp import varint

NAME = "bad-input"
FAST = True
ORDER = 35

BATCH_LIMIT = 3_500_000          # IngestionHandlers.Limits.maxBatchBytes, docs/CONFIGURATION.md
BODY_LIMIT = 16 * 1024 * 1024    # --max-body-bytes default
MAX_COUNT = 1_000_000_000_000    # ValueBounds.maxCount


class Case:
    """The bookkeeping of one case: problems found, figures, and normal events to check later."""

    def __init__(self, server: Parley, name: str) -> None:
        self.server, self.name = server, name
        self.problems: list[str] = []
        self.figures: list[str] = []
        self.trials = 0
        self.statuses: dict[int, int] = {}
        self.connections = {"kept alive": 0, "closed": 0}

    def expect(self, condition: bool, problem: str) -> bool:
        if not condition:
            self.problems.append(problem)
        return condition

    def exchange(self, data: bytes, label: str, status: int, error: str | None = None,
                 port: int | None = None) -> RawResponse | None:
        """Sends `data` on a new connection and checks the answer: status, JSON error shape (for
        whole-request errors), and the connection afterwards."""
        self.trials += 1
        sock = socket.create_connection(("127.0.0.1", port or self.server.port), timeout=60)
        try:
            sock.sendall(data)
            buffer = bytearray()
            response = read_response(sock, buffer)
            if not self.expect(response is not None, f"{label}: connection closed without an answer"):
                return None
            self.statuses[response.status] = self.statuses.get(response.status, 0) + 1
            self.expect(response.status == status,
                        f"{label}: answered {response.status}, expected {status}: {response.body[:200]!r}")
            if 400 <= status < 500:
                shape = response.error_shape()
                self.expect(shape is None, f"{label}: error body: {shape}")
                if error is not None and shape is None:
                    self.expect(response.json()["error"] == error,
                                f"{label}: error {response.json()['error']!r}, expected {error!r}")
            self.check_connection_after(sock, buffer, response, label)
            return response
        except OSError as failure:
            self.problems.append(f"{label}: {failure!r}")
            return None
        finally:
            sock.close()

    def check_connection_after(self, sock: socket.socket, buffer: bytearray, response: RawResponse, label: str) -> None:
        if response.headers.get("connection", "").lower() == "close":
            rest = bytes(buffer)
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                rest += data
            self.expect(rest == b"", f"{label}: bytes after a Connection: close answer: {rest[:80]!r}")
            self.connections["closed"] += 1
            return
        sock.sendall(raw_request("GET", "/api/public/health", auth=False))
        again = read_response(sock, buffer)
        if self.expect(again is not None and again.status == 200,
                       f"{label}: the connection kept alive after the answer did not serve the next request"):
            self.connections["kept alive"] += 1

    def get(self, path: str, label: str) -> tuple[int, bytes]:
        """GET on a new connection; a failure is a problem of the case, status 0."""
        try:
            status, _, data = self.server.request("GET", path, timeout=60)
            return status, data
        except (OSError, http.client.HTTPException) as failure:
            self.problems.append(f"{label}: {failure!r}")
            return 0, b""

    def per_event(self, label: str, events: list[dict], bad: set[str], raw: bytes | None = None) -> dict | None:
        """Posts a batch whose events in `bad` must each be refused with a 400 entry and whose
        others must be stored."""
        body = raw if raw is not None else json.dumps({"batch": events}).encode()
        response = self.exchange(raw_request("POST", "/api/public/ingestion", body), label, 207)
        if response is None or response.status != 207:
            return None
        answer = response.json()
        errors = {entry.get("id"): entry for entry in answer.get("errors", [])}
        good = {event["id"] for event in events} - bad
        refused = 0
        for event_id in bad:
            entry = errors.get(event_id)
            if not self.expect(entry is not None, f"{label}: no error entry for {event_id!r}: {response.body[:300]!r}"):
                continue
            refused += self.expect(entry.get("status") == 400, f"{label}: {event_id!r} has status {entry.get('status')}")
            self.expect(all(isinstance(entry.get(key), str) and entry[key] for key in ("message", "error")),
                        f"{label}: error entry without message and error: {entry}")
        successes = {entry["id"] for entry in answer.get("successes", [])}
        self.expect(successes == good, f"{label}: successes {sorted(successes)}, expected {sorted(good)}")
        stored = stored_event_ids(self.server.db, [event["id"] for event in events])
        self.expect(stored == good, f"{label}: stored {sorted(stored)}, expected {sorted(good)}")
        answer["refused"], answer["stored"] = refused, len(stored & good)
        return answer

    def result(self) -> Result:
        # After every case: a normal request on a new connection, and the server still running.
        served = normal_request(self.server)
        if served:
            self.problems.append(served)
        if not self.server.alive():
            self.problems.append(f"the server died (exit {self.server.process.returncode}): "
                                 f"{self.server.log_text()[-600:]!r}")
        answers = ", ".join(f"{count} × {status}" for status, count in sorted(self.statuses.items()))
        connections = ", ".join(f"{how} {count}" for how, count in self.connections.items() if count)
        summary = [f"answers {answers} (connection {connections})"] if answers else []
        figures = "; ".join(self.figures + summary)
        return Result(f"bad input: {self.name}", self.trials, not self.problems, figures, self.problems)


def normal_request(server: Parley) -> str | None:
    """A valid batch on a new connection; None when it was answered and stored."""
    if not server.alive():
        return "no normal request possible: the server is not running"
    body, ids = small_batch("after-bad-input")
    try:
        status, _, data = server.request("POST", "/api/public/ingestion", body, timeout=60)
        acknowledged = sorted(item["id"] for item in json.loads(data)["successes"]) if status == 207 else []
    except (OSError, http.client.HTTPException, ValueError, KeyError) as error:
        return f"a normal request on a new connection failed: {error!r}"
    if acknowledged != sorted(ids):
        return f"a normal request on a new connection was answered {status}: {data[:200]!r}"
    if stored_event_ids(server.db, ids) != set(ids):
        return "the events of a normal request after the bad input were acknowledged but not stored"
    return None


def event(kind: str = "trace-create", body: dict | None = None, event_id: str | None = None) -> dict:
    return {"id": event_id or str(uuid.uuid4()), "type": kind, "timestamp": iso(),
            "body": body if body is not None else {"id": str(uuid.uuid4()), "name": "bad-input"}}


def post(path: str, body: bytes, headers: dict[str, str] | None = None) -> bytes:
    return raw_request("POST", path, body, headers)


INGESTION = "/api/public/ingestion"
OTLP = "/api/public/otel/v1/traces"


# --- the cases ------------------------------------------------------------------------------

def malformed_json(server: Parley) -> Result:
    case = Case(server, "malformed JSON")
    for label, body in [("unterminated", b'{"batch": ['), ("trailing comma", b'{"batch": [1,]}'),
                        ("single quotes", b"{'batch': []}"), ("garbage after the value", b'{"batch": []} x'),
                        ("empty body", b""), ("batch not an array", b'{"batch": {}}')]:
        case.exchange(post(INGESTION, body), f"ingestion, {label}", 400, "InvalidRequestError")
    case.exchange(post(OTLP, b'{"resourceSpans": [{'), "OTLP/JSON, unterminated", 400, "InvalidRequestError")
    case.exchange(post(OTLP, b"\x0a\xff\xff\xff\xff\x0f", {"Content-Type": "application/x-protobuf"}),
                  "OTLP protobuf, truncated", 400, "InvalidRequestError")
    return case.result()


def invalid_utf8(server: Parley) -> Result:
    case = Case(server, "invalid UTF-8")
    for label, bad in [("lone 0xFF", b"\xff"), ("overlong '/'", b"\xc0\xaf"), ("UTF-8-encoded surrogate", b"\xed\xa0\x80"),
                       ("truncated sequence", b"\xe2\x82"), ("0xC3 0x28", b"\xc3\x28")]:
        body = b'{"batch": [{"id": "e1", "type": "trace-create", "timestamp": "%s", "body": {"id": "t1", "name": "%s"}}]}' \
            % (iso().encode(), bad)
        case.exchange(post(INGESTION, body), f"ingestion, {label}", 400, "InvalidRequestError")
    case.exchange(post(INGESTION, b'{"batch": [], "\xff": 1}'), "ingestion, invalid UTF-8 in a key", 400,
                  "InvalidRequestError")
    case.exchange(post(OTLP, b'{"resourceSpans": [], "x": "\xff"}'), "OTLP/JSON, lone 0xFF", 400,
                  "InvalidRequestError")
    return case.result()


def nested_any_value(levels: int) -> bytes:
    """An ExportTraceServiceRequest whose one resource attribute is an AnyValue array nested
    `levels` deep, built outside in without quadratic copying."""
    inner = 0  # an empty AnyValue
    prefixes = []
    for _ in range(levels):
        array_length = 1 + len(varint(inner)) + inner        # ArrayValue { values (1): AnyValue }
        prefixes.append(b"\x2a" + varint(array_length) + b"\x0a" + varint(inner))  # AnyValue { array_value (5) }
        inner = 1 + len(varint(array_length)) + array_length
    value = b"".join(reversed(prefixes))
    key_value = b"\x0a\x01k" + b"\x12" + varint(len(value)) + value                # KeyValue { key, value }
    resource = b"\x0a" + varint(len(key_value)) + key_value                       # Resource { attributes }
    resource_spans = b"\x0a" + varint(len(resource)) + resource                   # ResourceSpans { resource }
    return b"\x0a" + varint(len(resource_spans)) + resource_spans                 # ExportTraceServiceRequest


def deep_nesting(server: Parley) -> Result:
    case = Case(server, "nesting 100,000 levels")
    deep = b"[" * 100_000 + b"]" * 100_000
    case.exchange(post(INGESTION, b'{"batch": ' + deep + b"}"), "ingestion, batch nested", 400, "InvalidRequestError")
    metadata = (b'{"batch": [{"id": "e1", "type": "trace-create", "timestamp": "%s", "body": {"id": "t1", "metadata": '
                % iso().encode()) + b'{"a":' * 100_000 + b"1" + b"}" * 100_000 + b"}}]}"
    case.exchange(post(INGESTION, metadata), "ingestion, metadata nested", 400, "InvalidRequestError")
    case.exchange(post(OTLP, b'{"resourceSpans": ' + deep + b"}"), "OTLP/JSON nested", 400, "InvalidRequestError")
    protobuf = nested_any_value(100_000)
    case.exchange(post(OTLP, protobuf, {"Content-Type": "application/x-protobuf"}),
                  "OTLP protobuf, AnyValue nested", 400, "InvalidRequestError")
    # The control: nesting within the parser's limit (256) is stored and read back.
    trace_id = str(uuid.uuid4())
    nested = {"leaf": 1}
    for _ in range(200):
        nested = {"n": nested}
    control = event(body={"id": trace_id, "name": "nested", "metadata": nested})
    case.per_event("ingestion, metadata nested 200 levels (accepted)", [control], set())
    status, data = case.get(f"/api/public/traces/{trace_id}", "reading back the trace with 200-level metadata")
    case.expect(status == 200, f"reading back the trace with 200-level metadata: {status} {data[:200]!r}")
    case.figures.append(f"{len(deep) // 1024} KiB of brackets, {len(protobuf) // 1024} KiB protobuf: 400; "
                        f"200 levels accepted and read back")
    return case.result()


def huge_numbers(server: Parley) -> Result:
    case = Case(server, "huge numbers")
    trace_id = str(uuid.uuid4())
    good = event(body={"id": trace_id, "name": "huge-numbers"})
    bad_events = []
    raw_events = [json.dumps(good)]
    for number in ["1e400", "-1e400", "123456789012345678901234567890", "9223372036854775807", str(MAX_COUNT + 1)]:
        for field in ['"usage": {"input": %s, "output": 1}', '"usage": {"totalCost": %s}',
                      '"usageDetails": {"input": %s}', '"costDetails": {"input": %s}']:
            if field.startswith('"usage": {"totalCost"') or field.startswith('"costDetails"'):
                if number in ("9223372036854775807", str(MAX_COUNT + 1), "123456789012345678901234567890"):
                    continue  # a large finite cost is a valid number
            event_id = str(uuid.uuid4())
            bad_events.append(event_id)
            raw_events.append('{"id": "%s", "type": "generation-create", "timestamp": "%s", "body": '
                              '{"id": "%s", "traceId": "%s", %s}}'
                              % (event_id, iso(), uuid.uuid4(), trace_id, field % number))
    # Counts that each fit in Int64 but overflow it when added up: once a crash of the writer.
    overflow = str(uuid.uuid4())
    bad_events.append(overflow)
    raw_events.append('{"id": "%s", "type": "generation-create", "timestamp": "%s", "body": {"id": "%s", "traceId": "%s", '
                      '"usageDetails": {"a": 9223372036854775807, "b": 9223372036854775807}}}'
                      % (overflow, iso(), uuid.uuid4(), trace_id))
    # At the limit: accepted, with free-form metadata numbers kept as sent.
    for details in ('"usage": {"input": %d, "output": %d}' % (MAX_COUNT, MAX_COUNT),
                    '"usageDetails": {"a": %d, "b": %d, "c": %d}' % (MAX_COUNT, MAX_COUNT, MAX_COUNT)):
        raw_events.append('{"id": "%s", "type": "generation-create", "timestamp": "%s", "body": {"id": "%s", '
                          '"traceId": "%s", %s, "metadata": {"big": 1e400, "long": 123456789012345678901234567890}}}'
                          % (uuid.uuid4(), iso(), uuid.uuid4(), trace_id, details))
    events = [json.loads(text) for text in raw_events]  # Python reads 1e400 as inf; only the ids matter here
    raw = ('{"batch": [' + ", ".join(raw_events) + "]}").encode()
    answer = case.per_event("ingestion, huge numbers in usage", events, set(bad_events), raw=raw) or {}
    status, data = case.get(f"/api/public/traces/{trace_id}", "reading back the trace with counts at the limit")
    case.expect(status == 200, f"reading back the trace with counts at the limit: {status} {data[:200]!r}")
    read_back = status == 200
    # OTLP: GenAI usage attributes past the limit are ignored (the span is stored), and counts
    # that would overflow when subtracted or added do not take the server down.
    trace_hex, spans = uuid.uuid4().hex, []
    for index, (input_tokens, other) in enumerate([("9223372036854775807", "9223372036854775807"),
                                                   ("9223372036854775807", "-9223372036854775808"),
                                                   (str(MAX_COUNT), str(MAX_COUNT))]):
        spans.append({"traceId": trace_hex, "spanId": f"{index + 1:016x}", "name": "huge", "kind": 1,
                      "startTimeUnixNano": str(time.time_ns()), "endTimeUnixNano": str(time.time_ns()),
                      "attributes": [{"key": "gen_ai.usage.input_tokens", "value": {"intValue": input_tokens}},
                                     {"key": "gen_ai.usage.output_tokens", "value": {"intValue": other}},
                                     {"key": "gen_ai.usage.cache_read_input_tokens", "value": {"intValue": other}}]})
    otlp = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}).encode()
    response = case.exchange(post(OTLP, otlp), "OTLP, usage attributes at the ends of int64", 200)
    otlp_status = response.status if response is not None else None
    if otlp_status == 200:
        status, data = case.get(f"/api/public/traces/{trace_hex}", "reading back OTLP spans with huge usage")
        case.expect(status == 200 and len(json.loads(data)["observations"]) == 3,
                    f"OTLP spans with huge usage not readable: {status} {data[:200]!r}")
    past = json.loads(json.dumps(spans[0]))
    past["spanId"] = "00000000000000ab"
    past["attributes"][0]["value"]["intValue"] = "123456789012345678901234567890"
    past_int64 = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [past]}]}]}).encode()
    case.exchange(post(OTLP, past_int64), "OTLP, intValue past int64", 400, "InvalidRequestError")
    times = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [dict(spans[0], spanId="00000000000000aa",
                                                                           startTimeUnixNano="123456789012345678901234567890")]}]}]})
    case.exchange(post(OTLP, times.encode()), "OTLP, time past uint64", 400, "InvalidRequestError")
    case.figures.append(f"{answer.get('refused', 0)}/{len(bad_events)} events with usage past ±10^12 or "
                        f"non-finite refused with 400, {answer.get('stored', 0)}/{len(events) - len(bad_events)} "
                        f"others stored{' and read back' if read_back else ''}; OTLP with int64-sized usage: {otlp_status}, "
                        f"past int64: 400")
    return case.result()


def gzip_bomb(server: Parley, fast: bool) -> Result:
    case = Case(server, "gzip bomb")
    inflated = (64 if fast else 256) * 1024 * 1024
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"\0" * (1 << 20)
    bomb = b"".join(compressor.compress(zeros) for _ in range(inflated >> 20)) + compressor.flush()
    rss_before = server.rss_kb()
    for path in (INGESTION, OTLP):
        case.exchange(post(path, bomb, {"Content-Encoding": "gzip"}), f"{path}, gzip bomb", 413, "PayloadTooLarge")
    # Under the transport's limit once inflated, but past the documented batch limit.
    filler = json.dumps({"batch": [], "metadata": "x" * (BATCH_LIMIT + 1000)}).encode()
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    packed = compressor.compress(filler) + compressor.flush()
    case.exchange(post(INGESTION, packed, {"Content-Encoding": "gzip"}), "ingestion, gzip past the batch limit", 413,
                  "PayloadTooLargeError")
    case.exchange(post(INGESTION, b"\x1f\x8b\x08\x00garbage", {"Content-Encoding": "gzip"}),
                  "ingestion, not gzip at all", 400, "BadRequest")
    rss_after = server.rss_kb()
    case.figures.append(f"{len(bomb) // 1024} KiB inflating to {inflated >> 20} MiB: 413; "
                        f"RSS {rss_before / 1024:.0f}→{rss_after / 1024:.0f} MB")
    return case.result()


def hundred_megabytes(server: Parley) -> Result:
    case = Case(server, "100 MB body")
    total = 100 * 1024 * 1024
    # At loopback speed the whole body arrives within the 2 s the server lingers after its 413
    # (reading and discarding, so the client sees the answer rather than a reset); paced at
    # 25 MB/s it shows that the server stops reading then.
    for label, chunked, rate in (("Content-Length", False, None), ("chunked", True, None),
                                 ("Content-Length at 25 MB/s", False, 25e6)):
        case.trials += 1
        received_before = server.metrics().get("parley_http_received_bytes_total", 0)
        rss_before = server.rss_kb()
        headers = {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(total)}
        head = raw_request("POST", INGESTION, b"", dict(headers, **{"Content-Type": "application/json"})) \
            if chunked else raw_request("POST", INGESTION, b"", headers)
        if chunked:
            head = head.replace(b"Content-Length: 0\r\n", b"")
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=60)
        state = {"sent": 0, "sent_at_answer": None, "answer_at": None, "write_error": None}
        buffer = bytearray()
        answer: list[RawResponse | None] = []

        def reader() -> None:
            try:
                response = read_response(sock, buffer)
            except OSError:
                response = None
            state["answer_at"] = time.monotonic()
            state["sent_at_answer"] = state["sent"]
            answer.append(response)

        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        started = time.monotonic()
        sock.sendall(head)
        piece = b"[" * 65536
        framed = b"10000\r\n" + piece + b"\r\n"
        try:
            while state["sent"] < total:
                sock.sendall(framed if chunked else piece)
                state["sent"] += len(piece)
                if rate is not None:
                    time.sleep(max(0.0, started + state["sent"] / rate - time.monotonic()))
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError as error:
            state["write_error"] = type(error).__name__
        write_ended = time.monotonic()
        thread.join(timeout=60)
        sock.close()
        response = answer[0] if answer else None
        if not case.expect(response is not None, f"{label}: no answer to a 100 MB body"):
            continue
        case.expect(response.status == 413, f"{label}: answered {response.status}, expected 413")
        shape = response.error_shape()
        case.expect(shape is None and response.json()["error"] == "PayloadTooLarge", f"{label}: error body: {shape or response.body}")
        case.expect(response.headers.get("connection") == "close", f"{label}: 413 without Connection: close")
        case.expect(state["sent_at_answer"] < total,
                    f"{label}: the 413 came only after all 100 MB were sent: the server read the whole body first")
        received = server.metrics().get("parley_http_received_bytes_total", 0) - received_before
        case.figures.append(
            f"{label}: 413 after {(state['answer_at'] - started) * 1000:.1f} ms with "
            f"{state['sent_at_answer'] / 1048576:.1f} MB sent; the client then wrote "
            f"{state['sent'] / 1048576:.0f} MB in {(write_ended - started) * 1000:.0f} ms"
            f"{' until ' + state['write_error'] if state['write_error'] else ''}, "
            f"the server read {received / 1048576:.0f} MB; "
            f"RSS {rss_before / 1024:.0f}→{server.rss_kb() / 1024:.0f} MB")
    return case.result()


def nul_in_ids(server: Parley) -> Result:
    case = Case(server, "NUL in ids")
    trace_id = str(uuid.uuid4())
    nul = "a\u0000b"
    good = event(body={"id": trace_id, "name": "nul-ids"})
    bad = [
        event(body={"id": nul, "name": "trace id"}),
        event(body={"id": str(uuid.uuid4()), "sessionId": nul}),
        event(body={"id": str(uuid.uuid4()), "userId": nul}),
        event(event_id=f"event-{uuid.uuid4()}\u0000"),
        event("span-create", {"id": nul, "traceId": trace_id}),
        event("span-create", {"id": str(uuid.uuid4()), "traceId": nul}),
        event("span-create", {"id": str(uuid.uuid4()), "traceId": trace_id, "parentObservationId": nul}),
        event("score-create", {"id": str(uuid.uuid4()), "traceId": nul, "name": "n", "value": 1}),
        event("score-create", {"id": str(uuid.uuid4()), "sessionId": nul, "name": "n", "value": 1}),
    ]
    answer = case.per_event("ingestion, \\u0000 in ids", [good] + bad, {item["id"] for item in bad}) or {}
    # The same ids through OTLP: the span is refused (partial success), the others stored.
    trace_hex = uuid.uuid4().hex
    spans = [{"traceId": trace_hex, "spanId": f"{index + 1:016x}", "name": "nul", "kind": 1,
              "startTimeUnixNano": str(time.time_ns()), "endTimeUnixNano": str(time.time_ns()),
              "attributes": attributes}
             for index, attributes in enumerate([[], [{"key": "session.id", "value": {"stringValue": nul}}],
                                                 [{"key": "user.id", "value": {"stringValue": nul}}]])]
    response = case.exchange(post(OTLP, json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}).encode()),
                             "OTLP, \\u0000 in session.id and user.id", 200)
    rejected = None
    if response is not None and response.status == 200:
        partial = response.json().get("partialSuccess", {})
        rejected = partial.get("rejectedSpans", "0")
        case.expect(rejected == "2" and partial.get("errorMessage"),
                    f"OTLP: expected 2 rejected spans with a message, got {response.body[:200]!r}")
    case.figures.append(f"{answer.get('refused', 0)}/{len(bad)} events with \\u0000 in an id refused with 400, "
                        f"the good one {'stored' if answer.get('stored') else 'NOT stored'}; "
                        f"OTLP: {rejected} of 3 spans rejected")
    return case.result()


def ten_thousand_events(server: Parley) -> Result:
    case = Case(server, "10,000 events in one batch")
    events = [event(body={"id": str(uuid.uuid4()), "name": f"bulk-{index}"}) for index in range(10_000)]
    body = json.dumps({"batch": events}).encode()
    case.expect(len(body) <= BATCH_LIMIT, f"the 10,000-event body is {len(body)} bytes, past the batch limit")
    started = time.monotonic()
    answer = case.per_event("ingestion, 10,000 small events", events, set())
    elapsed = time.monotonic() - started
    if answer is not None:
        case.figures.append(f"{len(body) / 1e6:.2f} MB, 207 with {len(answer['successes'])} successes, "
                            f"all stored, in {elapsed:.1f} s")
    # The same count padded past the documented limit: 413, nothing stored.
    padded = [event(body={"id": str(uuid.uuid4()), "name": "p" * 400}) for _ in range(10_000)]
    body = json.dumps({"batch": padded}).encode()
    case.exchange(post(INGESTION, body), "ingestion, 10,000 events past 3.5 MB", 413, "PayloadTooLargeError")
    stored = stored_event_ids(server.db, [item["id"] for item in padded])
    case.expect(not stored, f"{len(stored)} events of the refused batch were stored")
    case.figures.append(f"{len(body) / 1e6:.2f} MB: 413, none stored")
    return case.result()


def run(context: Context) -> list[Result]:
    cases = [malformed_json, invalid_utf8, deep_nesting, huge_numbers, functools.partial(gzip_bomb, fast=context.fast),
             hundred_megabytes, nul_in_ids, ten_thousand_events]
    results = []
    # Without the backtracer a crash ends the process at once, instead of leaving it alive (and
    # holding the database) while it symbolicates; the case still fails on the dead server.
    with context.serve("bad-input", ["--log-level", "warning"], env={"SWIFT_BACKTRACE": "enable=no"}) as server:
        for case in cases:
            if not server.alive():
                # A crash in one case must not hide the others: note it and start again.
                log(f"the server had died (exit {server.process.returncode}); restarting it for the next case")
                server.start()
            name = getattr(case, "__name__", None) or case.func.__name__
            results.append(guarded(f"bad input: {name}", case, server))
    return results
