"""Two turns from the plain OpenTelemetry SDK configured only through the environment, as an
operator deploying an existing app would: OTEL_EXPORTER_OTLP_ENDPOINT (a base URL, to which the
exporter appends /v1/traces), OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_COMPRESSION=gzip
and, for https, OTEL_EXPORTER_OTLP_CERTIFICATE. The caller sets those; --base-url and the keys
are accepted for symmetry with the other scenarios and not used. Exits 3 when the exporter
logged any warning or error.
"""

from __future__ import annotations

import sys

from _scenario_common import install_collector, parse_args


def main() -> int:
    args = parse_args(__doc__)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    collector = install_collector()
    provider = TracerProvider(resource=Resource.create({"service.name": "parley-otel-env"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    tracer = provider.get_tracer("parley-env")
    for turn in (1, 2):
        with tracer.start_as_current_span("turn") as span:
            span.set_attribute("session.id", args.session)
            span.set_attribute("turn.number", turn)
    ok = provider.force_flush(30_000)
    provider.shutdown()
    if not ok or collector.messages:
        print(f"force_flush={ok}\n" + "\n".join(collector.messages), file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
