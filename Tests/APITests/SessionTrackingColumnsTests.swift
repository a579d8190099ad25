import API
import Model
import Storage
import Testing
import TestSupport
import Transport

/// Session-tracking attributes land in the same typed columns whether they arrive as OTLP span
/// attributes or as trace metadata through /api/public/ingestion (issue #5, docs/DATA_MODEL.md).
@Suite("Session-tracking columns")
struct SessionTrackingColumnsTests {
    /// Two turns' attributes, as (key, JSON value) pairs; turn 2 upgrades the user's tier.
    static let turns: [[(String, JSONValue)]] = [
        [("session.channel", .string("web")), ("session.type", .string("support")), ("session.locale", .string("en-GB")),
         ("session.client_version", .string("3.2.1")), ("user.tier", .string("free")), ("user.org_id", .string("org-1")),
         ("conversation.id", .string("conv-a")), ("conversation.topic", .string("refund")),
         ("turn.number", JSONValue(1)), ("turn.role", .string("user")), ("turn.input_type", .string("question")),
         ("turn.output_type", .string("clarification")), ("turn.latency_ms", JSONValue(900)), ("turn.tool_calls", JSONValue(1)),
         ("conversation.context_tokens", JSONValue(3000)), ("conversation.context_window_pct", JSONValue(2.5)),
         ("journey.name", .string("refund")), ("journey.stage", .string("identify")), ("journey.stage_number", JSONValue(1)),
         ("journey.total_stages", JSONValue(3))],
        [("user.tier", .string("pro")), ("conversation.id", .string("conv-a")), ("turn.number", JSONValue(2)),
         ("context.tokens", JSONValue(120_000)), ("context.limit", JSONValue(128_000)), ("context.pruned", .bool(true)),
         ("context.messages_pruned", JSONValue(6)), ("journey.name", .string("refund")), ("journey.stage", .string("done")),
         ("journey.converted", .bool(true)), ("journey.conversion_turn", JSONValue(2)),
         ("journey.time_in_stage_ms", JSONValue(4000)), ("dropoff.last_intent", .string("confirm")),
         ("dropoff.agent_last_action", .string("refund_issued")), ("session.end_reason", .string("completed"))],
    ]

    static func otlpAttribute(_ key: String, _ value: JSONValue) -> String {
        switch value {
        case .bool(let flag): #"{"key": "\#(key)", "value": {"boolValue": \#(flag)}}"#
        case .number(let text) where Int(text) != nil: #"{"key": "\#(key)", "value": {"intValue": "\#(text)"}}"#
        case .number(let text): #"{"key": "\#(key)", "value": {"doubleValue": \#(text)}}"#
        default: #"{"key": "\#(key)", "value": {"stringValue": "\#(value.stringValue ?? "")"}}"#
        }
    }

    static func viaOTLP(_ api: APIHarness, session: String) async throws {
        let spans = turns.enumerated().map { index, attributes in
            let all = [("session.id", JSONValue.string(session))] + attributes
            return """
                {"traceId": "\(String(repeating: String(index + 1), count: 32))", "spanId": "\(String(repeating: String(index + 1), count: 16))",
                 "name": "turn", "startTimeUnixNano": "\(1_772_442_000 + index * 60)000000000",
                 "endTimeUnixNano": "\(1_772_442_001 + index * 60)000000000",
                 "attributes": [\(all.map { otlpAttribute($0.0, $0.1) }.joined(separator: ", "))]}
                """
        }
        let body = #"{"resourceSpans": [{"scopeSpans": [{"spans": [\#(spans.joined(separator: ", "))]}]}]}"#
        let response = await api.respond(HTTPRequest(
            method: "POST", target: "/api/public/otel/v1/traces",
            headers: ["Content-Type": "application/json", "Authorization": APIHarness.basic], body: Array(body.utf8)))
        try #require(response.status == 200, "\(response.text)")
    }

    static func viaIngestion(_ api: APIHarness, session: String) async throws {
        try await api.ingest(turns.enumerated().map { index, attributes in
            Build.trace(String(repeating: String(index + 1), count: 32), session: session, at: Int64(index) * 60_000,
                        metadata: .object(attributes))
        })
    }

    @Test(arguments: ["otlp", "ingestion"])
    func attributesLandInTypedColumnsAndRollUpToTheSession(path: String) async throws {
        try await APIHarness.with { api async throws in
            if path == "otlp" { try await Self.viaOTLP(api, session: "s-track") } else { try await Self.viaIngestion(api, session: "s-track") }
            let session = try await api.json("/api/public/sessions/s-track")
            // Session-level attributes: the latest value a turn sent.
            #expect(session["channel"]?.stringValue == "web")
            #expect(session["type"]?.stringValue == "support")
            #expect(session["locale"]?.stringValue == "en-GB")
            #expect(session["clientVersion"]?.stringValue == "3.2.1")
            #expect(session["userTier"]?.stringValue == "pro")
            #expect(session["orgId"]?.stringValue == "org-1")

            let traces = try #require(session["traces"]?.arrayValue)
            try #require(traces.count == 2)
            let first = traces[0], second = traces[1]
            #expect(first["turnNumber"]?.intValue == 1 && second["turnNumber"]?.intValue == 2)
            #expect(first["conversation"]?["id"]?.stringValue == "conv-a")
            #expect(first["conversation"]?["topic"]?.stringValue == "refund")
            #expect(first["turn"]?["role"]?.stringValue == "user")
            #expect(first["turn"]?["inputType"]?.stringValue == "question")
            #expect(first["turn"]?["outputType"]?.stringValue == "clarification")
            #expect(first["turn"]?["reportedLatencyMs"]?.intValue == 900)
            #expect(first["turn"]?["toolCalls"]?.intValue == 1)
            #expect(first["context"]?["tokens"]?.intValue == 3000)
            #expect(first["context"]?["windowPct"]?.doubleValue == 2.5)
            #expect(first["journey"]?["stage"]?.stringValue == "identify")
            #expect(first["journey"]?["stageNumber"]?.intValue == 1)
            #expect(first["journey"]?["totalStages"]?.intValue == 3)
            #expect(first["sessionAttributes"]?["userTier"]?.stringValue == "free")
            #expect(second["context"]?["tokens"]?.intValue == 120_000)
            #expect(second["context"]?["limit"]?.intValue == 128_000)
            #expect(second["context"]?["pruned"]?.boolValue == true)
            #expect(second["context"]?["messagesPruned"]?.intValue == 6)
            #expect(second["journey"]?["converted"]?.boolValue == true)
            #expect(second["journey"]?["conversionTurn"]?.intValue == 2)
            #expect(second["journey"]?["timeInStageMs"]?.intValue == 4000)
            #expect(second["dropoff"]?["lastIntent"]?.stringValue == "confirm")
            #expect(second["dropoff"]?["agentLastAction"]?.stringValue == "refund_issued")
            #expect(second["sessionAttributes"]?["endReason"]?.stringValue == "completed")
            // Unsent attributes are null, not absent.
            #expect(second["turn"]?["role"] == .null)

            // The columns themselves, which analytics query.
            #expect(try api.test.count("traces", where: "conversation_id = 'conv-a'") == 2)
            #expect(try api.test.count("traces", where: "journey_converted = 1 AND journey_conversion_turn = 2") == 1)
            #expect(try api.test.count("traces", where: "context_window_pct = 2.5 AND context_pruned IS NULL") == 1)
        }
    }

    @Test func sessionsAPIDeclarationsWinOverTurnAttributesWhateverTheOrder() async throws {
        try await APIHarness.with { api async throws in
            try await Self.viaIngestion(api, session: "s-declared")
            let created = await api.post("/api/public/sessions", json: #"{"id": "s-declared", "channel": "voice"}"#)
            #expect(created.status < 300, "\(created.text)")
            // A later turn cannot override what the sessions API declared.
            try await api.ingest([Build.trace("late-turn", session: "s-declared", at: 600_000,
                                              metadata: .object([("session.channel", .string("sms")), ("user.tier", .string("enterprise"))]))])
            let session = try await api.json("/api/public/sessions/s-declared")
            #expect(session["channel"]?.stringValue == "voice")
            #expect(session["userTier"]?.stringValue == "enterprise")
        }
    }

    @Test func aLateEarlierTurnDoesNotReplaceTheLatestValue() async throws {
        try await APIHarness.with { api async throws in
            try await api.ingest([Build.trace("t-late", session: "s-order", at: 120_000, metadata: .object([("user.tier", .string("pro"))]))])
            try await api.ingest([Build.trace("t-early", session: "s-order", at: 0, metadata: .object([("user.tier", .string("free"))]))])
            #expect(try await api.json("/api/public/sessions/s-order")["userTier"]?.stringValue == "pro")
        }
    }

    @Test func langfuseObservationMetadataCarriesTurnAttributesToo() async throws {
        try await APIHarness.with { api async throws in
            // What the Langfuse 5.x SDK sends for span.update(metadata={...}): flattened keys under
            // langfuse.observation.metadata., values as strings.
            let attributes = [
                ("session.id", JSONValue.string("s-obs-meta")),
                ("langfuse.observation.metadata.journey.stage", .string("resolve")),
                ("langfuse.observation.metadata.journey.stage_number", .string("2")),
                ("langfuse.observation.metadata.turn.input_type", .string("question")),
                ("langfuse.observation.metadata.note", .string("not a turn attribute")),
            ]
            let body = """
                {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "\(String(repeating: "a", count: 32))",
                 "spanId": "\(String(repeating: "b", count: 16))", "name": "chat-turn",
                 "startTimeUnixNano": "1772442000000000000", "endTimeUnixNano": "1772442001000000000",
                 "attributes": [\(attributes.map { Self.otlpAttribute($0.0, $0.1) }.joined(separator: ", "))]}]}]}]}
                """
            let response = await api.respond(HTTPRequest(
                method: "POST", target: "/api/public/otel/v1/traces",
                headers: ["Content-Type": "application/json", "Authorization": APIHarness.basic], body: Array(body.utf8)))
            try #require(response.status == 200, "\(response.text)")
            let trace = try #require(try await api.json("/api/public/sessions/s-obs-meta")["traces"]?.arrayValue?.first)
            #expect(trace["journey"]?["stage"]?.stringValue == "resolve")
            #expect(trace["journey"]?["stageNumber"]?.intValue == 2)
            #expect(trace["turn"]?["inputType"]?.stringValue == "question")
            // This span is the root: all of its observation metadata is the trace's too, as in
            // Langfuse (issue #20); on other spans only the session-tracking keys are lifted.
            #expect(trace["metadata"]?["note"]?.stringValue == "not a turn attribute")
        }
    }
}
