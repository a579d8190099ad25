import API
import Foundation
import Model
import OTLP
import SwiftProtobuf
import Storage
import Testing
import TestSupport
import Transport

/// OTLP/HTTP trace export (operationId `otlpTraces`): the captured exports of langfuse 4.18.0
/// and 5.0.4 and of the plain OpenTelemetry SDK, as protobuf and as OTLP/JSON, each checked
/// against its `expected.json` through the session drill-down.
@Suite("OTLP ingestion")
struct OTLPIngestionTests {
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/sdk")

    static func export(_ api: APIHarness, body: [UInt8], contentType: String, path: String = "/api/public/otel/v1/traces") async -> HTTPResponse {
        await api.respond(HTTPRequest(
            method: "POST", target: path,
            headers: ["Content-Type": contentType, "Authorization": APIHarness.basic], body: body))
    }

    @Test(arguments: [
        ("langfuse-python-5.0.4", "otel-traces-1.bin", "application/x-protobuf"),
        ("langfuse-python-5.0.4", "otel-traces-1.otlp.json", "application/json"),
        ("langfuse-python-4.18.0", "otel-traces-1.bin", "application/x-protobuf"),
        ("langfuse-python-4.18.0", "otel-traces-1.otlp.json", "application/json"),
        ("opentelemetry-python-1.45.2", "otel-traces-1.bin", "application/x-protobuf"),
        ("opentelemetry-python-1.45.2", "otel-traces-1.otlp.json", "application/json"),
    ])
    func capturedExportMatchesExpected(folder: String, file: String, contentType: String) async throws {
        try await APIHarness.with { api async throws in
            let directory = Self.fixtures.appendingPathComponent(folder)
            let body = Array(try Data(contentsOf: directory.appendingPathComponent(file)))
            let response = await Self.export(api, body: body, contentType: contentType)
            #expect(response.status == 200, "\(String(decoding: response.body, as: UTF8.self))")
            #expect(response.headers["Content-Type"] == contentType)

            let expected = try JSONParser.parse(Array(try Data(contentsOf: directory.appendingPathComponent("expected.json"))))
            let sessionID = try #require(expected["session_id"]?.stringValue)
            let session = try await api.json("/api/public/sessions/\(sessionID)")
            #expect(session["userId"]?.stringValue == expected["user_id"]?.stringValue)
            let traces = session["traces"]?.arrayValue ?? []
            #expect(traces.count == Int(expected["trace_count"]?.intValue ?? -1))
            for turn in expected["turns"]?.arrayValue ?? [] {
                let traceID = try #require(turn["trace_id"]?.stringValue)
                let trace = try #require(traces.first { $0["id"]?.stringValue == traceID }, "trace \(traceID)")
                let detail = try await api.json("/api/public/traces/\(traceID)")
                let observations = detail["observations"]?.arrayValue ?? []
                let generation = try #require(observations.first { $0["type"]?.stringValue == "GENERATION" })
                #expect(generation["name"]?.stringValue == turn["generation"]?["name"]?.stringValue)
                #expect(generation["model"]?.stringValue == turn["generation"]?["model"]?.stringValue)
                for key in ["input", "output", "total"] {
                    #expect(generation["usageDetails"]?[key]?.intValue == turn["generation"]?["usage"]?[key]?.intValue, "usage \(key)")
                    let cost = try #require(turn["generation"]?["cost"]?[key]?.doubleValue)
                    #expect(abs((generation["costDetails"]?[key]?.doubleValue ?? -1) - cost) < 1e-12, "cost \(key)")
                }
                let tool = try #require(turn["tool_observation_name_contains"]?.stringValue)
                #expect(observations.contains { ($0["name"]?.stringValue ?? "").contains(tool) })
                #expect(observations.contains { $0["name"]?.stringValue == turn["event_name"]?.stringValue })
                #expect(trace["totalTokens"]?.intValue == turn["generation"]?["usage"]?["total"]?.intValue)
            }
        }
    }

    @Test func reExportingTheSameSpansChangesNothing() async throws {
        try await APIHarness.with { api async throws in
            let body = Array(try Data(contentsOf: Self.fixtures.appendingPathComponent("langfuse-python-5.0.4/otel-traces-1.bin")))
            #expect(await Self.export(api, body: body, contentType: "application/x-protobuf").status == 200)
            let before = try api.test.dump()
            #expect(await Self.export(api, body: body, contentType: "application/x-protobuf", path: "/v1/traces").status == 200)
            #expect(try api.test.dump() == before)
        }
    }

    @Test(arguments: [
        ("application/x-protobuf", Array("not a protobuf \u{01}\u{02}\u{03}".utf8), 400),
        ("application/json", Array("{\"resourceSpans\": \"nope\"}".utf8), 400),
        ("application/json", Array(#"{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331", "startTimeUnixNano": true}]}]}]}"#.utf8), 400),
        ("application/json", Array(#"{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331", "attributes": [{"key": "n", "value": {"intValue": "1.5"}}]}]}]}]}"#.utf8), 400),
        ("application/json", Array(#"{"resourceSpans": [{"scopeSpans": [{"spans": ["a span"]}]}]}"#.utf8), 400),
        ("application/json", Array("{not json".utf8), 400),
        ("text/plain", Array("hello".utf8), 415),
    ] as [(String, [UInt8], Int)])
    func badExportsAreRejectedWithAClearError(contentType: String, body: [UInt8], status: Int) async throws {
        try await APIHarness.with { api async throws in
            let response = await Self.export(api, body: body, contentType: contentType)
            #expect(response.status == status)
            let error = try JSONParser.parse(response.body)
            #expect(error["message"]?.stringValue?.isEmpty == false)
            #expect(error["error"]?.stringValue?.isEmpty == false)
            #expect(try api.test.count("observations") == 0)
        }
    }

    /// Spans with unusable ids are rejected one by one; the rest are stored and the answer is
    /// 200 with `partialSuccess` (OTLP/HTTP spec, "Partial Success").
    @Test func spansWithBadIdsAreRejectedAndCountedInPartialSuccess() async throws {
        try await APIHarness.with { api async throws in
            let good = #"{"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331", "name": "kept", "startTimeUnixNano": "1700000000000000000"}"#
            let badTrace = #"{"traceId": "xyz", "spanId": "1111111111111111", "name": "bad-trace"}"#
            let zeroSpan = #"{"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "0000000000000000", "name": "zero"}"#
            let body = #"{"resourceSpans": [{"scopeSpans": [{"spans": [\#(good), \#(badTrace), \#(zeroSpan)]}]}]}"#
            let response = await Self.export(api, body: Array(body.utf8), contentType: "application/json")
            #expect(response.status == 200)
            let answer = try JSONParser.parse(response.body)
            #expect(answer["partialSuccess"]?["rejectedSpans"]?.stringValue == "2")
            let message = answer["partialSuccess"]?["errorMessage"]?.stringValue ?? ""
            #expect(message.contains("traceId") && message.contains("spanId"), "\(message)")
            #expect(try api.test.count("observations") == 1)
            #expect(try await api.json("/api/public/observations/b7ad6b7169203331")["name"]?.stringValue == "kept")

            // The same in protobuf: a 15-byte trace id.
            var request = Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceRequest()
            var span = Opentelemetry_Proto_Trace_V1_Span()
            span.traceID = Data(repeating: 7, count: 15)
            span.spanID = Data(repeating: 8, count: 8)
            var scope = Opentelemetry_Proto_Trace_V1_ScopeSpans()
            scope.spans = [span]
            var resource = Opentelemetry_Proto_Trace_V1_ResourceSpans()
            resource.scopeSpans = [scope]
            request.resourceSpans = [resource]
            let binary = await Self.export(api, body: try request.serializedBytes(), contentType: "application/x-protobuf")
            #expect(binary.status == 200)
            let decoded = try Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceResponse(serializedBytes: binary.body)
            #expect(decoded.partialSuccess.rejectedSpans == 1)
            #expect(decoded.partialSuccess.errorMessage.contains("traceId"))
        }
    }

    /// GenAI usage attributes are int64: at its ends they once overflowed the cache-token
    /// subtraction or the total, a trap that took the server down. Counts past
    /// ValueBounds.maxCount are ignored; the spans are stored.
    @Test func usageAttributesAtTheEndsOfInt64AreIgnoredAndTheSpansStored() async throws {
        try await APIHarness.with { api async throws in
            func span(_ id: String, _ input: String, _ other: String) -> String {
                #"{"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "\#(id)", "name": "huge", "startTimeUnixNano": "1700000000000000000", "attributes": [{"key": "gen_ai.usage.input_tokens", "value": {"intValue": "\#(input)"}}, {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "\#(other)"}}, {"key": "gen_ai.usage.cache_read_input_tokens", "value": {"intValue": "\#(other)"}}]}"#
            }
            let spans = [span("b7ad6b7169203331", "9223372036854775807", "9223372036854775807"),
                         span("b7ad6b7169203332", "9223372036854775807", "-9223372036854775808"),
                         span("b7ad6b7169203333", "1000", "10")]
            let body = #"{"resourceSpans": [{"scopeSpans": [{"spans": [\#(spans.joined(separator: ","))]}]}]}"#
            let response = await Self.export(api, body: Array(body.utf8), contentType: "application/json")
            #expect(response.status == 200, "\(response.text)")
            #expect(try api.test.count("observations") == 3)
            let usage = try await api.json("/api/public/observations/b7ad6b7169203333")["usageDetails"]
            #expect(usage == (try JSONParser.parse(#"{"input":990,"output":10,"input_cached_tokens":10,"total":1010}"#)))
            #expect(try await api.json("/api/public/observations/b7ad6b7169203331")["usageDetails"] == .object([]))
        }
    }

    /// Session and user ids with a NUL are refused as in batch ingestion: the span alone, in
    /// partialSuccess.
    @Test func spansWithNULInTheSessionOrUserIDAreRejected() async throws {
        try await APIHarness.with { api async throws in
            func span(_ id: String, _ attributes: String) -> String {
                #"{"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "\#(id)", "name": "s", "startTimeUnixNano": "1700000000000000000", "attributes": [\#(attributes)]}"#
            }
            let spans = [span("b7ad6b7169203331", ""),
                         span("b7ad6b7169203332", #"{"key": "session.id", "value": {"stringValue": "a\u0000b"}}"#),
                         span("b7ad6b7169203333", #"{"key": "langfuse.user.id", "value": {"stringValue": "a\u0000b"}}"#)]
            let body = #"{"resourceSpans": [{"scopeSpans": [{"spans": [\#(spans.joined(separator: ","))]}]}]}"#
            let response = await Self.export(api, body: Array(body.utf8), contentType: "application/json")
            #expect(response.status == 200)
            let answer = try JSONParser.parse(response.body)
            #expect(answer["partialSuccess"]?["rejectedSpans"]?.stringValue == "2", "\(response.text)")
            #expect(answer["partialSuccess"]?["errorMessage"]?.stringValue?.contains("NUL") == true)
            #expect(try api.test.count("observations") == 1)
            #expect(try api.test.count("sessions") == 0)
        }
    }

    @Test func aFullySuccessfulExportHasNoPartialSuccess() async throws {
        try await APIHarness.with { api async throws in
            let body = Array(try Data(contentsOf: Self.fixtures.appendingPathComponent("langfuse-python-5.0.4/otel-traces-1.bin")))
            let response = await Self.export(api, body: body, contentType: "application/x-protobuf")
            #expect(response.status == 200)
            let decoded = try Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceResponse(serializedBytes: response.body)
            #expect(!decoded.hasPartialSuccess)
        }
    }

    /// A full write queue answers 503 with Retry-After, which OTLP exporters retry (they drop
    /// the data on 500), and nothing of that export is stored; once the queue drains, the same
    /// export is accepted.
    @Test func aFullWriteQueueIsA503WithRetryAfter() async throws {
        var configuration = TestDatabase.testing
        configuration.writer.maxPendingJobs = 1
        try await APIHarness.with(configuration: configuration) { api async throws in
            let body = Array(try Data(contentsOf: Self.fixtures.appendingPathComponent("langfuse-python-5.0.4/otel-traces-1.bin")))
            let gate = await WriterGate(api.database.writer)
            let queued = Task.immediate { try await api.database.writer.write { _ in () } }
            let refused = await Self.export(api, body: body, contentType: "application/x-protobuf")
            #expect(refused.status == 503)
            #expect(refused.headers["Retry-After"] == "1")
            let error = try JSONParser.parse(refused.body)
            #expect(error["error"]?.stringValue == "ServiceUnavailable")
            #expect(error["message"]?.stringValue?.isEmpty == false)
            gate.release()
            _ = try await gate.blocker.value
            try await queued.value
            #expect(try api.test.count("observations") == 0)

            let retried = await Self.export(api, body: body, contentType: "application/x-protobuf")
            #expect(retried.status == 200)
            #expect(try api.test.count("observations") == 15)
        }
    }

    @Test func exportNeedsTheSecretKey() async throws {
        try await APIHarness.with { api async throws in
            let response = await api.respond(HTTPRequest(
                method: "POST", target: "/api/public/otel/v1/traces",
                headers: ["Content-Type": "application/json", "Authorization": "Bearer \(APIHarness.publicKey)"],
                body: Array("{}".utf8)))
            #expect(response.status == 403)
        }
    }
}

extension OTLPIngestionTests {
    @Test func sessionTrackingAttributesOrderTurnsAndLandInTraceMetadata() async throws {
        try await APIHarness.with { api async throws in
            // Three turns exported out of order, each a root span with `turn.number`.
            func span(_ turn: Int, start: Int) -> String {
                let trace = String(repeating: String(turn), count: 32)
                return """
                    {"traceId": "\(trace)", "spanId": "\(String(repeating: String(turn), count: 16))", "name": "chat-turn",
                     "startTimeUnixNano": "\(start)000000000", "endTimeUnixNano": "\(start + 1)000000000",
                     "attributes": [{"key": "session.id", "value": {"stringValue": "s-otel"}},
                                    {"key": "turn.number", "value": {"intValue": "\(turn)"}},
                                    {"key": "conversation.topic", "value": {"stringValue": "weather"}}]}
                    """
            }
            let body = "{\"resourceSpans\": [{\"scopeSpans\": [{\"spans\": [\(span(3, start: 1_700_000_000)), \(span(1, start: 1_700_000_300)), \(span(2, start: 1_700_000_100))]}]}]}"
            #expect(await Self.export(api, body: Array(body.utf8), contentType: "application/json").status == 200)
            let session = try await api.json("/api/public/sessions/s-otel")
            let turns = (session["traces"]?.arrayValue ?? []).compactMap { $0["turnNumber"]?.intValue }
            #expect(turns == [1, 2, 3])
            #expect(session["traces"]?.arrayValue?.first?["metadata"]?["conversation.topic"]?.stringValue == "weather")
        }
    }
}

extension OTLPIngestionTests {
    /// The exporter configured only through OTEL_EXPORTER_OTLP_* variables: one `hello` span
    /// of a plain OpenTelemetry app, as protobuf and as OTLP/JSON (the gzip body goes over the
    /// socket in OTLPOverSocketTests).
    @Test(arguments: [("otel-traces-envconfig-gzip.bin", "application/x-protobuf"),
                      ("otel-traces-envconfig-gzip.otlp.json", "application/json")])
    func environmentConfiguredExportIsStored(file: String, contentType: String) async throws {
        try await APIHarness.with { api async throws in
            let body = Array(try Data(contentsOf: Self.fixtures.appendingPathComponent("opentelemetry-python-1.45.2/\(file)")))
            #expect(await Self.export(api, body: body, contentType: contentType).status == 200)
            let session = try await api.json("/api/public/sessions/s-env")
            let trace = try #require(session["traces"]?.arrayValue?.first)
            #expect(trace["id"]?.stringValue == "8cab98b1952af3849f4d9b9ce5208187")
            #expect(trace["name"]?.stringValue == "hello")
            let span = try await api.json("/api/public/observations/7bae71ee12f26f5a")
            #expect(span["type"]?.stringValue == "SPAN")
            #expect(span["metadata"]?["resourceAttributes"]?["service.name"]?.stringValue == "env-configured-app")
            #expect(span["metadata"]?["scope"]?["name"]?.stringValue == "envtest")
        }
    }

    /// OTLP/JSON as langfuse 5.x's `api.opentelemetry.export_traces()` sends it: int64 values as
    /// JSON numbers rather than strings.
    @Test func langfuseJSONExportRequestIsStored() async throws {
        try await APIHarness.with { api async throws in
            let body = Array(try Data(contentsOf: Self.fixtures.appendingPathComponent("langfuse-python-5.0.4/otel-traces-otlp-json-request.json")))
            let response = await Self.export(api, body: body, contentType: "application/json")
            #expect(response.status == 200)
            #expect(try JSONParser.parse(response.body) == .object([]))
            let session = try await api.json("/api/public/sessions/sess-json")
            #expect(session["traces"]?.arrayValue?.first?["id"]?.stringValue == "0123456789abcdef0123456789abcdef")
            let generation = try await api.json("/api/public/observations/0123456789abcdef")
            #expect(generation["type"]?.stringValue == "GENERATION")
            #expect(generation["model"]?.stringValue == "gpt-4o-mini")
            #expect(generation["usageDetails"]?["input"]?.intValue == 10)
            #expect(generation["usageDetails"]?["output"]?.intValue == 5)
        }
    }

    @Test func spanEventsBecomeEventObservationsUnderTheirSpan() async throws {
        try await APIHarness.with { api async throws in
            let body = """
                {"resourceSpans": [{"scopeSpans": [{"spans": [{
                  "traceId": "abababababababababababababababab", "spanId": "cdcdcdcdcdcdcdcd", "name": "work",
                  "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000001000000000",
                  "events": [{"name": "exception", "timeUnixNano": "1700000000500000000",
                              "attributes": [{"key": "exception.message", "value": {"stringValue": "boom"}}]}]}]}]}]}
                """
            #expect(await Self.export(api, body: Array(body.utf8), contentType: "application/json").status == 200)
            let event = try await api.json("/api/public/observations/cdcdcdcdcdcdcdcd-0")
            #expect(event["type"]?.stringValue == "EVENT")
            #expect(event["parentObservationId"]?.stringValue == "cdcdcdcdcdcdcdcd")
            #expect(event["level"]?.stringValue == "ERROR")
            #expect(event["metadata"]?["exception.message"]?.stringValue == "boom")
            #expect(event["startTime"]?.stringValue == "2023-11-14T22:13:20.500Z")
        }
    }
}

extension OTLPIngestionTests {
    @Test func oneTraceEventPerTraceAndExportWhateverTheSpanCount() async throws {
        try await APIHarness.with { api async throws in
            // The 5.x capture: 15 spans in 3 traces, every span repeating the trace attributes.
            let body = Array(try Data(contentsOf: Self.fixtures.appendingPathComponent("langfuse-python-5.0.4/otel-traces-1.bin")))
            #expect(await Self.export(api, body: body, contentType: "application/x-protobuf").status == 200)
            #expect(try api.test.count("events", where: "entity_kind = 1") == 3)
            #expect(try api.test.count("events", where: "entity_kind = 2") == 15)
            // The trace keeps the root span's name and the earliest start among its spans.
            let trace = try await api.json("/api/public/traces/6083cff70b7e37f17948cca9e0c37cba")
            #expect(trace["name"]?.stringValue == "chat-turn")
            let starts = (trace["observations"]?.arrayValue ?? []).compactMap { $0["startTime"]?.stringValue }
            #expect(trace["timestamp"]?.stringValue == starts.min())
        }
    }
}
