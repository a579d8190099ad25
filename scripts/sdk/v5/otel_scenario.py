"""The 3-turn scenario with the plain OpenTelemetry SDK and its OTLP/HTTP (protobuf) exporter.

Per turn one root span `chat-turn` (session.id, user.id, turn.number and the session-tracking
attributes session.channel, user.tier, conversation.id, turn.input_type, journey.*) with a child
span `chat gpt-4o-mini` following the gen_ai semantic conventions (operation chat, request model,
input/output token usage) that also carries conversation.context_tokens, as an app measuring its
prompt there would. Exits 3 when the exporter logged any warning or error.
"""

from __future__ import annotations

import base64
import sys

from _scenario_common import install_collector, parse_args, usage


def main() -> int:
    args = parse_args(__doc__)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    collector = install_collector()
    token = base64.b64encode(f"{args.public_key}:{args.secret_key}".encode()).decode()
    exporter = OTLPSpanExporter(
        endpoint=args.base_url + "/api/public/otel/v1/traces",
        headers={"Authorization": "Basic " + token},
        certificate_file=args.ca,
    )
    provider = TracerProvider(resource=Resource.create({"service.name": "parley-otel-e2e"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("parley-e2e")

    for turn in (1, 2, 3):
        u = usage(turn)
        with tracer.start_as_current_span("chat-turn") as root:
            root.set_attribute("session.id", args.session)
            root.set_attribute("user.id", "user-otel")
            root.set_attribute("turn.number", turn)
            root.set_attribute("session.channel", "web")
            root.set_attribute("user.tier", "pro")
            root.set_attribute("conversation.id", args.session + "-conv")
            root.set_attribute("turn.input_type", "question" if turn < 3 else "confirmation")
            root.set_attribute("journey.name", "refund")
            root.set_attribute("journey.stage", ["identify", "verify", "refund"][turn - 1])
            root.set_attribute("journey.stage_number", turn)
            root.set_attribute("journey.converted", turn == 3)
            with tracer.start_as_current_span("chat gpt-4o-mini") as chat:
                chat.set_attribute("gen_ai.operation.name", "chat")
                chat.set_attribute("gen_ai.system", "openai")
                chat.set_attribute("gen_ai.request.model", "gpt-4o-mini")
                chat.set_attribute("gen_ai.usage.input_tokens", u["input"])
                chat.set_attribute("gen_ai.usage.output_tokens", u["output"])
                chat.set_attribute("conversation.context_tokens", 1000 * turn)

    ok = provider.force_flush(30_000)
    provider.shutdown()
    if not ok or collector.messages:
        print(f"force_flush={ok}\n" + "\n".join(collector.messages), file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
