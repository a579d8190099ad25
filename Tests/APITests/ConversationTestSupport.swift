import API
import Foundation
import Model
import Storage
import Testing
import TestSupport
import Transport

/// One turn of a scenario: a trace at `at` ms after `Build.base` carrying session-tracking
/// `attributes`, with optional generations (model gpt-4o-mini, 128k window) of given input sizes.
struct TurnSpec {
    var id: String
    var at: Int64
    var attributes: [(String, JSONValue)] = []
    var generationInputs: [Int] = []
    /// How long the turn's root span runs.
    var duration: Int64 = 1000

    /// The trace id both paths use: the name's bytes in hex, zero-padded to 32 digits.
    var traceID: String { Self.hex(id, digits: 32) }

    static func hex(_ text: String, digits: Int) -> String {
        let hex = text.utf8.map { String(format: "%02x", $0) }.joined()
        return String((hex + String(repeating: "0", count: digits)).prefix(digits))
    }
}

/// Sends scenarios through either ingestion path, so each one is checked on both.
enum ConversationPath: String, CaseIterable, CustomTestStringConvertible {
    case otlp, ingestion

    var testDescription: String { rawValue }

    func send(_ turns: [TurnSpec], session: String, user: String? = nil, to api: APIHarness) async throws {
        switch self {
        case .otlp: try await Self.viaOTLP(turns, session: session, user: user, api)
        case .ingestion: try await Self.viaIngestion(turns, session: session, user: user, api)
        }
    }

    private static func viaIngestion(_ turns: [TurnSpec], session: String, user: String?, _ api: APIHarness) async throws {
        var events: [JSONValue] = []
        for turn in turns {
            events.append(Build.trace(turn.traceID, session: session, user: user, at: turn.at,
                                      metadata: turn.attributes.isEmpty ? nil : .object(turn.attributes)))
            events.append(Build.observation("span", "\(turn.traceID)-root", trace: turn.traceID, name: "agent-run",
                                            start: turn.at, end: turn.at + turn.duration))
            for (index, input) in turn.generationInputs.enumerated() {
                events.append(Build.observation("generation", "\(turn.traceID)-gen\(index)", trace: turn.traceID,
                                                parent: "\(turn.traceID)-root", name: "llm-call", start: turn.at + 1 + Int64(index),
                                                end: turn.at + 2 + Int64(index), usage: (input, 10)))
            }
        }
        try await api.ingest(events)
    }

    private static func viaOTLP(_ turns: [TurnSpec], session: String, user: String?, _ api: APIHarness) async throws {
        func nanos(_ offset: Int64) -> String { "\(Build.base + offset)000000" }
        var spans: [String] = []
        for turn in turns {
            let rootID = TurnSpec.hex(turn.id + "r", digits: 16)
            let attributes = [("session.id", JSONValue.string(session))] + (user.map { [("user.id", JSONValue.string($0))] } ?? [])
                + turn.attributes
            spans.append("""
                {"traceId": "\(turn.traceID)", "spanId": "\(rootID)", "name": "agent-run",
                 "startTimeUnixNano": "\(nanos(turn.at))", "endTimeUnixNano": "\(nanos(turn.at + turn.duration))",
                 "attributes": [\(attributes.map { SessionTrackingColumnsTests.otlpAttribute($0.0, $0.1) }.joined(separator: ", "))]}
                """)
            for (index, input) in turn.generationInputs.enumerated() {
                let generation: [(String, JSONValue)] = [
                    ("gen_ai.operation.name", .string("chat")), ("gen_ai.request.model", .string("gpt-4o-mini")),
                    ("gen_ai.usage.input_tokens", JSONValue(input)), ("gen_ai.usage.output_tokens", JSONValue(10)),
                ]
                spans.append("""
                    {"traceId": "\(turn.traceID)", "spanId": "\(TurnSpec.hex(turn.id + "g\(index)", digits: 16))",
                     "parentSpanId": "\(rootID)", "name": "llm-call",
                     "startTimeUnixNano": "\(nanos(turn.at + 1 + Int64(index)))", "endTimeUnixNano": "\(nanos(turn.at + 2 + Int64(index)))",
                     "attributes": [\(generation.map { SessionTrackingColumnsTests.otlpAttribute($0.0, $0.1) }.joined(separator: ", "))]}
                    """)
            }
        }
        let body = #"{"resourceSpans": [{"scopeSpans": [{"spans": [\#(spans.joined(separator: ", "))]}]}]}"#
        let response = await api.respond(HTTPRequest(
            method: "POST", target: "/api/public/otel/v1/traces",
            headers: ["Content-Type": "application/json", "Authorization": APIHarness.basic], body: Array(body.utf8)))
        try #require(response.status == 200, "\(response.text)")
    }
}

extension APIHarness {
    /// The inactivity sweeper over this harness's database, run at `Build.base + offset` by
    /// the test (an injected clock: nothing here waits for time to pass).
    func sweep(at offset: Int64, timeoutSeconds: Int64 = 1800) async throws -> Int {
        let sweeper = InactivitySweeper(database: database, defaultTimeoutSeconds: timeoutSeconds, logger: .test) {
            Issue.record("the sweeper read the wall clock")
            return 0
        }
        return try await sweeper.sweep(now: Build.base + offset)
    }

    func session(_ id: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> JSONValue {
        try await json("/api/public/sessions/\(id)", sourceLocation: sourceLocation)
    }
}

/// Minutes in milliseconds, for readable offsets.
func minutes(_ count: Int64) -> Int64 { count * 60_000 }
