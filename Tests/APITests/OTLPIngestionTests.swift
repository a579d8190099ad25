import API
import Foundation
import Model
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
        ("application/json", Array("{\"resourceSpans\": [{\"scopeSpans\": [{\"spans\": [{\"traceId\": \"xyz\", \"spanId\": \"1\"}]}]}]}".utf8), 400),
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
