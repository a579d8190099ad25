import API
import Model
import Storage
import Testing
import TestSupport
import Transport

/// `GET /api/public/observations` (operationId `observationsList`), `GET
/// /api/public/observations/{id}` (`observationGet`), `GET /api/public/scores` (`scoresList`)
/// and `DELETE /api/public/scores/{id}` (`scoreDelete`), per langfuse-api.md §5.0, §5.4, §5.5, §6.4.
@Suite("Observation and score reads")
struct ObservationAndScoreReadTests {
    /// The conversation plus one trace of another user with an ERROR generation.
    static func setUp(_ api: APIHarness) async throws {
        try await api.ingestConversation()
        try await api.ingest(Build.turn("err-turn", session: "s-err", user: "u-err", number: 1, at: 0, level: "ERROR"))
    }

    @Test func listFiltersByTypeTraceUserAndLevel() async throws {
        try await APIHarness.with { api async throws in
            try await Self.setUp(api)
            #expect(try await api.json("/api/public/observations")["meta"]?["totalItems"]?.intValue == 15)
            let generations = try await api.json("/api/public/observations?type=GENERATION").data
            #expect(generations.count == 4)
            #expect(generations.allSatisfy { $0["type"]?.stringValue == "GENERATION" })
            #expect(try await api.json("/api/public/observations?type=EVENT").data.count == 3)
            #expect(try await api.json("/api/public/observations?type=SPAN").data.count == 8)

            let turn1 = try await api.json("/api/public/observations?traceId=\(ReadFixtures.traceIDs[0])").data
            #expect(turn1.count == 4)
            #expect(turn1.allSatisfy { $0["traceId"]?.stringValue == ReadFixtures.traceIDs[0] })
            #expect(try await api.json("/api/public/observations?traceId=\(ReadFixtures.traceIDs[0])&type=GENERATION").data
                .map { $0["id"]?.stringValue } == [ReadFixtures.generationID])

            #expect(try await api.json("/api/public/observations?userId=\(ReadFixtures.userID)").data.count == 12)
            #expect(try await api.json("/api/public/observations?userId=u-err").data.count == 3)
            #expect(try await api.json("/api/public/observations?userId=nobody").data.isEmpty)

            let errors = try await api.json("/api/public/observations?level=ERROR").data
            #expect(errors.map { $0["id"]?.stringValue } == ["err-turn-llm"])
            #expect(try await api.json("/api/public/observations?level=DEFAULT").data.count == 14)
            #expect(try await api.json("/api/public/observations?name=llm-call").data.count == 4)
            #expect(try await api.json("/api/public/observations?parentObservationId=\(ReadFixtures.agentSpanID)").data.count == 3)
            #expect(try await api.json("/api/public/sessions/s-err")["errorCount"]?.intValue == 1)
        }
    }

    @Test func listIsNewestStartFirstAndPagesCompletely() async throws {
        try await APIHarness.with { api async throws in
            try await api.ingestConversation()
            var walked: [JSONValue] = []
            for page in 1...3 {
                let answer = try await api.json("/api/public/observations?limit=5&page=\(page)")
                #expect(answer["meta"] == .object([
                    ("page", JSONValue(page)), ("limit", JSONValue(5)), ("totalItems", JSONValue(12)), ("totalPages", JSONValue(3)),
                ]))
                walked += answer.data
            }
            #expect(walked.count == 12)
            #expect(Set(walked.compactMap { $0["id"]?.stringValue }).count == 12)
            let starts = walked.compactMap { $0["startTime"]?.stringValue }
            #expect(starts == starts.sorted(by: >))
            #expect(try await api.json("/api/public/observations?limit=5&page=4").data.isEmpty)
        }
    }

    @Test(arguments: ["type=BOGUS", "limit=0", "limit=101", "page=0", "fromStartTime=2026-11-24", "toStartTime=2026-11-24T21:58:28"])
    func invalidListParametersAre400(query: String) async throws {
        try await APIHarness.with { api async throws in
            try expectBadRequest(await api.get("/api/public/observations?\(query)"), query)
        }
    }

    @Test func startTimeRangeIsInclusiveFromExclusiveTo() async throws {
        try await APIHarness.with { api async throws in
            try await api.ingest(Build.turn("range", session: nil, at: 0, duration: 1000))
            // Starts: agent +0, llm +1, tool +500.
            #expect(try await api.json("/api/public/observations?fromStartTime=\(Build.time(1))").data.count == 2)
            #expect(try await api.json("/api/public/observations?toStartTime=\(Build.time(500))").data.count == 2)
            #expect(try await api.json("/api/public/observations?fromStartTime=\(Build.time(1))&toStartTime=\(Build.time(500))")
                .data.map { $0["id"]?.stringValue } == ["range-llm"])
        }
    }

    @Test func oneObservationHasLangfusesDerivedUsageFields() async throws {
        try await APIHarness.with { api async throws in
            try await api.ingestConversation()
            let generation = try await api.json("/api/public/observations/\(ReadFixtures.generationID)")
            #expect(generation.keys == ReadFixtures.observationKeys)
            #expect(generation["projectId"]?.stringValue == api.project.publicID)
            #expect(generation["traceId"]?.stringValue == ReadFixtures.traceIDs[0])
            #expect(generation["parentObservationId"]?.stringValue == ReadFixtures.agentSpanID)
            #expect(generation["type"]?.stringValue == "GENERATION")
            #expect(generation["name"]?.stringValue == "llm-call")
            #expect(generation["environment"]?.stringValue == "production")
            #expect(generation["model"]?.stringValue == "gpt-4o-mini")
            #expect(generation["modelParameters"] == .object([("temperature", .string("0.2")), ("max_tokens", JSONValue(256))]))
            #expect(generation["level"]?.stringValue == "DEFAULT")
            #expect(generation["startTime"]?.stringValue == "2026-11-24T21:58:28.427Z")
            #expect(generation["endTime"]?.stringValue == "2026-11-24T21:58:28.451Z")
            #expect(generation["latency"]?.doubleValue == 0.024)
            #expect(generation["timeToFirstToken"]?.isNull == true)
            #expect(generation["usageDetails"] == .object([("input", JSONValue(160)), ("output", JSONValue(35)), ("total", JSONValue(195))]))
            #expect(generation["usage"] == .object([
                ("unit", .string("TOKENS")), ("input", JSONValue(160)), ("output", JSONValue(35)), ("total", JSONValue(195)),
            ]))
            #expect(generation["unit"]?.stringValue == "TOKENS")
            #expect(generation["promptTokens"]?.intValue == 160)
            #expect(generation["completionTokens"]?.intValue == 35)
            #expect(generation["totalTokens"]?.intValue == 195)
            #expect(close(generation["costDetails"]?["input"]?.doubleValue, 2.4e-05))
            #expect(close(generation["calculatedInputCost"]?.doubleValue, 2.4e-05))
            #expect(close(generation["calculatedOutputCost"]?.doubleValue, 2.1e-05))
            #expect(close(generation["calculatedTotalCost"]?.doubleValue, 4.5e-05))
            #expect(generation["input"]?.arrayValue?.count == 2)
            #expect(generation["output"]?["role"]?.stringValue == "assistant")
            #expect(generation["metadata"] == .object([("provider", .string("openai"))]))
            for key in ["completionStartTime", "version", "statusMessage", "promptId", "promptName", "promptVersion",
                        "usagePricingTierId", "usagePricingTierName", "inputPrice", "outputPrice", "totalPrice"] {
                #expect(generation[key]?.isNull == true, "\(key) is null")
            }
            // The SDK sent the cost (it wins, no tier); the model still names its price definition.
            #expect(generation["costSource"]?.stringValue == "given")
            #expect(generation["modelId"]?.stringValue == BuiltInPrices.definitions.first { $0.pattern.matches(generation["model"]?.stringValue ?? "") }?.id)
        }
    }

    @Test func minimalObservationEmitsEveryKey() async throws {
        try await APIHarness.with { api async throws in
            try await api.ingest([
                Build.envelope("span-create", .object([("id", .string("bare-span")), ("traceId", .string("bare-trace"))]), at: 0),
            ])
            for path in ["/api/public/observations/bare-span", "/api/public/observations"] {
                let answer = try await api.json(path)
                let span = path.hasSuffix("observations") ? try #require(answer.data.first) : answer
                #expect(span.keys == ReadFixtures.observationKeys, "\(path)")
                #expect(span["usageDetails"] == .object([]))
                #expect(span["costDetails"] == .object([]))
                #expect(span["metadata"] == .object([]))
                #expect(span["modelParameters"] == .object([]))
                #expect(span["usage"] == .object([("unit", .string("TOKENS")), ("input", JSONValue(0)), ("output", JSONValue(0)), ("total", JSONValue(0))]))
                #expect(span["calculatedTotalCost"]?.doubleValue == 0)
                #expect(span["calculatedInputCost"]?.isNull == true)
                #expect(span["input"]?.isNull == true)
                #expect(span["endTime"]?.isNull == true)
                #expect(span["latency"]?.isNull == true)
                #expect(span["environment"]?.stringValue == "default")
            }
        }
    }

    @Test func unknownObservationIsLangfuses404() async throws {
        try await APIHarness.with { api async throws in
            try await api.ingestConversation()
            try expectNotFound(await api.get("/api/public/observations/no-such-observation"),
                               message: "Observation not found within authorized project")
        }
    }

    // MARK: Scores

    static func setUpScores(_ api: APIHarness) async throws {
        try await api.ingestConversation()
        _ = try await api.json(post: "/api/public/scores",
                               #"{"id": "s-session", "sessionId": "acc-v2-session-cap01", "name": "resolution", "value": 1, "timestamp": "2026-11-24T23:00:00Z"}"#, status: 200)
        _ = try await api.json(post: "/api/public/scores",
                               #"{"id": "s-cat", "traceId": "ddc979a6-5ae2-46d1-b133-ac3a2cb3b662", "name": "tone", "value": "friendly", "dataType": "CATEGORICAL", "timestamp": "2026-11-24T22:00:00Z"}"#,
                               status: 200)
        _ = try await api.json(post: "/api/public/scores",
                               #"{"id": "s-obs", "traceId": "ddc979a6-5ae2-46d1-b133-ac3a2cb3b662", "observationId": "c07542a2-a782-43c9-a6a6-5b5940baf563", "name": "accuracy", "value": 0.75, "environment": "staging", "timestamp": "2026-11-24T23:30:00Z"}"#,
                               status: 200)
    }

    @Test(arguments: [
        // v1 lists trace-linked scores only (as Langfuse does); `sessionId` widens it to the
        // session's own scores plus those of its traces.
        ("", ["s-cat", "s-obs", ReadFixtures.scoreID]),
        ("traceId=ddc979a6-5ae2-46d1-b133-ac3a2cb3b662", ["s-cat", "s-obs"]),
        ("traceId=b01425e6-b698-4e2f-9223-76689a8bc9ca", [ReadFixtures.scoreID]),
        ("sessionId=acc-v2-session-cap01", ["s-session", "s-cat", "s-obs", ReadFixtures.scoreID]),
        ("sessionId=acc-v2-session-cap01&dataType=NUMERIC", ["s-session", "s-obs", ReadFixtures.scoreID]),
        ("observationId=c07542a2-a782-43c9-a6a6-5b5940baf563", ["s-obs"]),
        ("name=user-feedback", [ReadFixtures.scoreID]),
        ("dataType=CATEGORICAL", ["s-cat"]),
        ("dataType=NUMERIC", ["s-obs", ReadFixtures.scoreID]),
        ("source=API", ["s-cat", "s-obs", ReadFixtures.scoreID]),
        ("environment=staging", ["s-obs"]),
        ("fromTimestamp=2026-11-24T21:59:00Z&toTimestamp=2026-11-24T22:00:00Z", []),
        ("fromTimestamp=2026-11-24T21:59:00Z&toTimestamp=2026-11-24T22:00:00.001Z", ["s-cat"]),
    ] as [(String, [String])])
    func scoreListFilters(query: String, expected: [String]) async throws {
        try await APIHarness.with { api async throws in
            try await Self.setUpScores(api)
            let page = try await api.json("/api/public/scores?\(query)")
            #expect(Set(page.data.compactMap { $0["id"]?.stringValue }) == Set(expected), "\(query)")
            #expect(page["meta"]?["totalItems"]?.intValue == Int64(expected.count), "\(query)")
            for score in page.data {
                for key in ReadFixtures.scoreKeys { #expect(score[key] != nil, "score key \(key)") }
                // The trace context the 2.x SDK's models require; null only for a session score.
                #expect(score["trace"] != nil)
                #expect((score["trace"]?.isNull ?? true) == (score["traceId"]?.isNull ?? true))
            }
        }
    }

    @Test func scoreListIsNewestFirst() async throws {
        try await APIHarness.with { api async throws in
            try await Self.setUpScores(api)
            let stamps = try await api.json("/api/public/scores").data.compactMap { $0["timestamp"]?.stringValue }
            #expect(stamps.count == 3)
            #expect(stamps == stamps.sorted(by: >))
            let categorical = try #require(try await api.json("/api/public/scores?dataType=CATEGORICAL").data.first)
            #expect(categorical["stringValue"]?.stringValue == "friendly")
        }
    }

    @Test func deletingAScoreIs204ThenItIsGone() async throws {
        try await APIHarness.with { api async throws in
            try await Self.setUpScores(api)
            let response = await api.delete("/api/public/scores/\(ReadFixtures.scoreID)")
            #expect(response.status == 204)
            #expect(response.body.isEmpty)
            try expectNotFound(await api.delete("/api/public/scores/\(ReadFixtures.scoreID)"), message: "Score not found")
            #expect(try await api.json("/api/public/scores?name=user-feedback").data.isEmpty)
            #expect(try await api.json("/api/public/traces/\(ReadFixtures.traceIDs[1])")["scores"] == .array([]))
            let session = try await api.json("/api/public/sessions/\(ReadFixtures.sessionID)")
            #expect(session["scores"]?["user-feedback"] == nil)
            #expect(session["scores"]?["resolution"]?["count"]?.intValue == 1)

            // A session-level score too: the summary and sessionScores follow.
            #expect(await api.delete("/api/public/scores/s-session").status == 204)
            let after = try await api.json("/api/public/sessions/\(ReadFixtures.sessionID)")
            #expect(after["sessionScores"] == .array([]))
            #expect(after["scores"]?["resolution"] == nil)
        }
    }

    @Test func deletingAnUnknownScoreIsLangfuses404() async throws {
        try await APIHarness.with { api async throws in
            try expectNotFound(await api.delete("/api/public/scores/never-existed"), message: "Score not found")
        }
    }

    /// A usage map stored before counts were bounded (ValueBounds) can add up past Int64; the
    /// derived `usage` fields saturate instead of trapping (which took the server down on read).
    @Test func storedUsagePastInt64ReadsBackSaturated() async throws {
        try await APIHarness.with { api async throws in
            let response = await api.post("/api/public/ingestion", json: #"""
                {"batch":[{"id":"e0","type":"trace-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"t1"}},
                 {"id":"e1","type":"generation-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"g1","traceId":"t1","usageDetails":{"input":1}}}]}
                """#)
            try #require(try IngestionResult(response).successIDs == ["e0", "e1"])
            try await api.database.writer.write { db in
                try db.execute(#"UPDATE observations SET usage_details = '{"input":9223372036854775807,"input_cached":9223372036854775807,"total":1e400}'"#)
            }
            let observation = try await api.json("/api/public/observations/g1")
            #expect(observation["usage"]?["input"]?.intValue == Int64.max)
            #expect(observation["promptTokens"]?.intValue == Int64.max)
            #expect(observation["totalTokens"]?.intValue == 0)
            #expect(try await api.json("/api/public/traces/t1")["observations"]?.arrayValue?.count == 1)
        }
    }
}
