#!/usr/bin/env python3
"""OTLP protobuf export throughput against the same spans through /api/public/ingestion.

Usage: otlp_bench.py BASE_URL PUBLIC_KEY SECRET_KEY SPANS_PER_REQUEST SECONDS

Bodies are built before the clock starts (fresh trace and span ids in every request, so
nothing is deduplicated away) and sent by 8 keep-alive connections; the script prints
`otlp <spans/s>` and `ingestion <spans/s>`. Each span is a generation with model, usage, cost,
input and output, shaped like the langfuse 5.x SDK's spans; the ingestion twin is a
generation-create event with the same fields. Needs opentelemetry-proto (the SDK venvs have it).
"""
import base64
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue


def attr(key, value):
    return KeyValue(key=key, value=AnyValue(string_value=value))


def otlp_body(spans, seq):
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    scope.scope.name = "langfuse-sdk"
    trace_id = os.urandom(16)
    now = time.time_ns()
    for i in range(spans):
        span = scope.spans.add()
        span.trace_id = trace_id
        span.span_id = os.urandom(8)
        span.name = "llm-call"
        span.start_time_unix_nano = now + i * 1000
        span.end_time_unix_nano = now + i * 1000 + 500_000
        span.attributes.extend([
            attr("session.id", f"bench-otlp-{seq % 1000}"), attr("user.id", "bench-user"),
            attr("langfuse.observation.type", "generation"), attr("langfuse.observation.model.name", "gpt-4o-mini"),
            attr("langfuse.observation.input", '[{"role": "user", "content": "What is the weather in Paris?"}]'),
            attr("langfuse.observation.output", '{"role": "assistant", "content": "Sunny, 21 degrees."}'),
            attr("langfuse.observation.usage_details", '{"input": 200, "output": 40, "total": 240}'),
            attr("langfuse.observation.cost_details", '{"input": 3e-05, "output": 2.4e-05, "total": 5.4e-05}'),
        ])
    return request.SerializeToString()


def ingestion_body(spans, seq):
    trace_id = os.urandom(16).hex()
    batch = []
    for i in range(spans):
        span_id = os.urandom(8).hex()
        ts = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
        batch.append({"id": span_id + "-e", "type": "generation-create", "timestamp": ts, "body": {
            "id": span_id, "traceId": trace_id, "name": "llm-call", "startTime": ts, "endTime": ts,
            "model": "gpt-4o-mini", "input": [{"role": "user", "content": "What is the weather in Paris?"}],
            "output": {"role": "assistant", "content": "Sunny, 21 degrees."},
            "usageDetails": {"input": 200, "output": 40, "total": 240},
            "costDetails": {"input": 3e-05, "output": 2.4e-05, "total": 5.4e-05}}})
    return json.dumps({"batch": batch}).encode()


def run(base, auth, path, content_type, bodies, seconds, spans):
    url = urllib.parse.urlparse(base)
    lock = threading.Lock()
    state = {"next": 0, "done": 0}
    deadline = time.time() + seconds

    def worker():
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        while time.time() < deadline:
            with lock:
                if state["next"] >= len(bodies):
                    return
                body = bodies[state["next"]]
                state["next"] += 1
            conn.request("POST", path, body, {"Authorization": auth, "Content-Type": content_type})
            response = conn.getresponse()
            response.read()
            if response.status not in (200, 207):
                sys.exit(f"{path}: {response.status}")
            with lock:
                state["done"] += 1

    began = time.time()
    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return state["done"] * spans / (time.time() - began)


def main():
    base, pk, sk, spans, seconds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
    auth = "Basic " + base64.b64encode(f"{pk}:{sk}".encode()).decode()
    # Enough bodies for up to ~20k spans/s (capped at 30k bodies); a run that uses them all
    # stops early, and the rate is computed over the time it actually took.
    count = min(30_000, max(16, int(20_000 * seconds / spans)))
    otlp = [otlp_body(spans, n) for n in range(count)]
    ingestion = [ingestion_body(spans, n) for n in range(count)]
    print(f"otlp {run(base, auth, '/api/public/otel/v1/traces', 'application/x-protobuf', otlp, seconds, spans):.0f}")
    print(f"ingestion {run(base, auth, '/api/public/ingestion', 'application/json', ingestion, seconds, spans):.0f}")


if __name__ == "__main__":
    main()
