import API
import Model
import Storage
import Testing
import TestSupport
import Transport

/// `GET /api/public/traces` (operationId `tracesList`), `GET /api/public/traces/{id}`
/// (`traceGet`), `DELETE /api/public/traces/{id}` (`traceDelete`) and `DELETE
/// /api/public/traces` (`tracesDelete`), per langfuse-api.md §5.0–§5.3.
@Suite("Trace reads and deletes")
struct TraceReadTests {
    /// The captured conversation plus three traces outside it: another user, another name and
    /// environment, and a trace in no session at an earlier time.
    static func setUp(_ api: APIHarness) async throws {
        try await api.ingestConversation()
        try await api.ingest([
            Build.trace("x-other-user", session: "s-x", user: "u-x", name: "chat-turn", at: 0, tags: ["chat"], environment: "production"),
            Build.trace("x-staging", session: "s-x", user: "u-x", name: "batch-job", at: 60_000, tags: ["batch", "nightly"], environment: "staging"),
            Build.trace("x-loose", user: nil, name: "orphan", at: -60_000),
        ])
    }

    static let conversation = Set(ReadFixtures.traceIDs)

    @Test func listItemsCarryEveryKeyAndTheirObservationAndScoreIDs() async throws {
        try await APIHarness.with { api async throws in
            try await api.ingestConversation()
            let page = try await api.json("/api/public/traces")
            #expect(page["meta"] == .object([("page", JSONValue(1)), ("limit", JSONValue(50)), ("totalItems", JSONValue(3)), ("totalPages", JSONValue(1))]))
            // Default order timestamp.desc: turn 3 first.
            #expect(page.data.compactMap { $0["id"]?.stringValue } == ReadFixtures.traceIDs.reversed())
            let publicID = api.project.publicID
            for trace in page.data {
                for key in ReadFixtures.traceKeys + ReadFixtures.traceDetailKeys { #expect(trace[key] != nil, "key \(key)") }
                let id = try #require(trace["id"]?.stringValue)
                #expect(trace["htmlPath"]?.stringValue == "/project/\(publicID)/traces/\(id)")
                #expect(trace["projectId"]?.stringValue == publicID)
                #expect(trace["externalId"]?.isNull == true)
                #expect(trace["bookmarked"]?.boolValue == false)
                #expect(trace["public"]?.boolValue == false)
                #expect(trace["observations"]?.arrayValue?.count == 4)
                #expect(trace["observations"]?.arrayValue?.allSatisfy { $0.stringValue != nil } == true)
                #expect((trace["latency"]?.doubleValue ?? 0) > 0)
            }
            let turn2 = try #require(page.data.first { $0["id"]?.stringValue == ReadFixtures.traceIDs[1] })
            #expect(turn2["scores"] == .array([.string(ReadFixtures.scoreID)]))
            #expect(close(turn2["totalCost"]?.doubleValue, 5.4e-05))
            #expect(turn2["metadata"]?["turn_latency_ms"]?.intValue == 44)
            #expect(turn2["input"]?["content"]?.stringValue == "And tomorrow in Porto?")
            #expect(turn2["tags"] == Build.strings(["acceptance", "chat", "turn-2"]))
            #expect(turn2["release"]?.stringValue == "acceptance-1.0.0")
        }
    }

    @Test(arguments: [
        ("userId=acc-user-cap01", conversation),
        ("userId=u-x", ["x-other-user", "x-staging"]),
        ("sessionId=acc-v2-session-cap01", conversation),
        ("sessionId=s-x", ["x-other-user", "x-staging"]),
        ("name=chat-turn", conversation.union(["x-other-user"])),
        ("name=orphan", ["x-loose"]),
        ("tags=chat", conversation.union(["x-other-user"])),
        ("tags=chat&tags=turn-2", ["b01425e6-b698-4e2f-9223-76689a8bc9ca"]),
        ("tags=batch,nightly", ["x-staging"]),
        ("tags=batch&tags=chat", []),
        ("environment=staging", ["x-staging"]),
        ("environment=production", conversation.union(["x-other-user"])),
        ("environment=default&environment=staging", ["x-loose", "x-staging"]),
        ("version=1.0.0", conversation),
        ("release=acceptance-1.0.0", conversation),
        ("fromTimestamp=2026-03-02T09:00:00Z", conversation.union(["x-other-user", "x-staging"])),
        ("toTimestamp=2026-03-02T09:01:00Z", ["x-loose", "x-other-user"]),
        ("fromTimestamp=2026-03-02T09:00:00Z&toTimestamp=2026-03-02T09:01:00Z", ["x-other-user"]),
        ("fromTimestamp=2026-11-24T21:58:28.462Z", ["b01425e6-b698-4e2f-9223-76689a8bc9ca", "0ac38aa7-e829-44d4-9312-0a6683e3737f"]),
        ("userId=u-x&environment=production", ["x-other-user"]),
    ] as [(String, Set<String>)])
    func filtersSelectTheRightTraces(query: String, expected: Set<String>) async throws {
        try await APIHarness.with { api async throws in
            try await Self.setUp(api)
            let page = try await api.json("/api/public/traces?\(query)")
            #expect(Set(page.data.compactMap { $0["id"]?.stringValue }) == expected, "\(query)")
            #expect(page["meta"]?["totalItems"]?.intValue == Int64(expected.count), "\(query)")
        }
    }

    @Test func orderByAndPagingWalkTheWholeList() async throws {
        try await APIHarness.with { api async throws in
            try await Self.setUp(api)
            let ascending = try await api.ids("/api/public/traces?orderBy=timestamp.asc")
            #expect(ascending == ["x-loose", "x-other-user", "x-staging"] + ReadFixtures.traceIDs)
            #expect(try await api.ids("/api/public/traces?orderBy=timestamp.desc") == ascending.reversed())
            #expect(try await api.ids("/api/public/traces") == ascending.reversed())
            #expect(try await api.ids("/api/public/traces?orderBy=id.asc") == ascending.sorted())
            #expect(try await api.ids("/api/public/traces?orderBy=name.desc&name=orphan") == ["x-loose"])
            var walked: [String] = []
            for page in 1...4 {
                let answer = try await api.json("/api/public/traces?orderBy=timestamp.asc&limit=2&page=\(page)")
                #expect(answer["meta"]?["totalPages"]?.intValue == 3)
                #expect(answer["meta"]?["totalItems"]?.intValue == 6)
                walked += answer.data.compactMap { $0["id"]?.stringValue }
            }
            #expect(walked == ascending)
        }
    }

    @Test(arguments: ["orderBy=timestamp", "orderBy=cost.desc", "orderBy=timestamp.up", "limit=0", "limit=101", "page=0",
                      "fromTimestamp=2026-03-02", "toTimestamp=2026-03-02T09:00:00"])
    func invalidListParametersAre400(query: String) async throws {
        try await APIHarness.with { api async throws in
            try expectBadRequest(await api.get("/api/public/traces?\(query)"), query)
        }
    }

    @Test func oneTraceHasFullObservationsScoresAndLatency() async throws {
        try await APIHarness.with { api async throws in
            try await api.ingestConversation()
            let id = ReadFixtures.traceIDs[1]
            let trace = try await api.json("/api/public/traces/\(id)")
            for key in ReadFixtures.traceKeys + ReadFixtures.traceDetailKeys { #expect(trace[key] != nil, "key \(key)") }
            #expect(trace["htmlPath"]?.stringValue == "/project/\(api.project.publicID)/traces/\(id)")
            #expect(trace["sessionId"]?.stringValue == ReadFixtures.sessionID)
            #expect(trace["userId"]?.stringValue == ReadFixtures.userID)
            #expect(trace["timestamp"]?.stringValue == "2026-11-24T21:58:28.462Z")
            #expect(close(trace["totalCost"]?.doubleValue, 5.4e-05))

            let observations = try #require(trace["observations"]?.arrayValue)
            #expect(observations.count == 4)
            for observation in observations {
                for key in ReadFixtures.observationKeys { #expect(observation[key] != nil, "observation key \(key)") }
                #expect(observation["traceId"]?.stringValue == id)
            }
            // Latency: first observation start to last observation end, in seconds (§5.0).
            let starts = observations.compactMap { $0["startTime"]?.stringValue.flatMap(Timestamp.parseMicros) }
            let ends = observations.compactMap { ($0["endTime"]?.stringValue ?? $0["startTime"]?.stringValue).flatMap(Timestamp.parseMicros) }
            let latency = Double((ends.max() ?? 0) / 1000 - (starts.min() ?? 0) / 1000) / 1000
            #expect(trace["latency"]?.doubleValue == latency)

            let generation = try #require(observations.first { $0["type"]?.stringValue == "GENERATION" })
            #expect(generation["usageDetails"] == .object([("input", JSONValue(200)), ("output", JSONValue(40)), ("total", JSONValue(240))]))
            #expect(close(generation["costDetails"]?["total"]?.doubleValue, 5.4e-05))
            #expect(generation["usage"] == .object([
                ("unit", .string("TOKENS")), ("input", JSONValue(200)), ("output", JSONValue(40)), ("total", JSONValue(240)),
            ]))
            #expect(close(generation["calculatedTotalCost"]?.doubleValue, 5.4e-05))
            #expect(close(generation["calculatedInputCost"]?.doubleValue, 3e-05))
            #expect(close(generation["calculatedOutputCost"]?.doubleValue, 2.4e-05))
            #expect(generation["model"]?.stringValue == "gpt-4o-mini")

            let scores = try #require(trace["scores"]?.arrayValue)
            #expect(scores.count == 1)
            for key in ReadFixtures.scoreKeys { #expect(scores.first?[key] != nil, "score key \(key)") }
            #expect(scores.first?["id"]?.stringValue == ReadFixtures.scoreID)
            #expect(scores.first?["traceId"]?.stringValue == id)
            #expect(scores.first?["dataType"]?.stringValue == "NUMERIC")
        }
    }

    @Test func unknownTraceIsLangfuses404() async throws {
        try await APIHarness.with { api async throws in
            try await api.ingestConversation()
            try expectNotFound(await api.get("/api/public/traces/no-such-trace"),
                               message: "Trace no-such-trace not found within authorized project")
        }
    }

    @Test func deletingATraceRemovesItsRowsAndUpdatesTheSession() async throws {
        try await APIHarness.with { api async throws in
            try await api.ingestConversation()
            let turn2 = ReadFixtures.traceIDs[1]
            let response = await api.delete("/api/public/traces/\(turn2)")
            #expect(response.status == 200)
            #expect(try response.json() == .object([("message", .string("Trace deleted successfully"))]))

            try expectNotFound(await api.get("/api/public/traces/\(turn2)"), message: "Trace \(turn2) not found within authorized project")
            #expect(try await api.json("/api/public/observations?traceId=\(turn2)").data.isEmpty)
            try expectNotFound(await api.get("/api/public/observations/bc8919f8-5608-48eb-bb38-5f6cd328f099"),
                               message: "Observation not found within authorized project")
            #expect(try await api.json("/api/public/scores?traceId=\(turn2)").data.isEmpty)
            #expect(try api.test.count("events", where: "entity_id IN ('\(turn2)', '\(ReadFixtures.scoreID)')") == 0)

            let session = try await api.json("/api/public/sessions/\(ReadFixtures.sessionID)")
            #expect(session["traces"]?.arrayValue?.map { $0["id"]?.stringValue } == [ReadFixtures.traceIDs[0], ReadFixtures.traceIDs[2]])
            #expect(session["turnCount"]?.intValue == 2)
            #expect(session["observationCount"]?.intValue == 8)
            #expect(session["generationCount"]?.intValue == 2)
            #expect(session["totalTokens"]?.intValue == 480)
            #expect(session["inputTokens"]?.intValue == 400)
            #expect(close(session["totalCost"]?.doubleValue, 0.000108))
            #expect(session["scores"] == .object([]))
            #expect(session["tags"] == Build.strings(["acceptance", "chat", "turn-1", "turn-3"]))

            // An unknown id is not an error (§5.3).
            #expect(await api.delete("/api/public/traces/no-such-trace").status == 200)
        }
    }

    @Test func deletingSeveralTracesAtOnce() async throws {
        try await APIHarness.with { api async throws in
            try await api.ingestConversation()
            let ids = [ReadFixtures.traceIDs[0], ReadFixtures.traceIDs[2], "never-existed"]
            let body = Build.object([("traceIds", Build.strings(ids))]).jsonText
            let response = await api.delete("/api/public/traces", json: body)
            #expect(response.status == 200)
            #expect(try response.json() == .object([("message", .string("Traces deleted successfully"))]))
            #expect(try await api.ids("/api/public/traces") == [ReadFixtures.traceIDs[1]])
            #expect(try await api.json("/api/public/observations").data.count == 4)
            let session = try await api.json("/api/public/sessions/\(ReadFixtures.sessionID)")
            #expect(session["turnCount"]?.intValue == 1)
            #expect(session["totalTokens"]?.intValue == 240)
            #expect(session["scores"]?["user-feedback"]?["count"]?.intValue == 1)

            // The last trace goes too: the session stays, with zero aggregates.
            #expect(await api.delete("/api/public/traces", json: #"{"traceIds": ["b01425e6-b698-4e2f-9223-76689a8bc9ca"]}"#).status == 200)
            let empty = try await api.json("/api/public/sessions/\(ReadFixtures.sessionID)")
            #expect(empty["turnCount"]?.intValue == 0)
            #expect(empty["observationCount"]?.intValue == 0)
            #expect(empty["totalCost"]?.doubleValue == 0)
            #expect(empty["scores"] == .object([]))
            #expect(empty["meanTurnLatencyMs"]?.isNull == true)
            #expect(empty["traces"] == .array([]))
            #expect(try api.test.count("scores") == 0)
            // The user no remaining trace names is forgotten too.
            #expect(try api.test.count("users") == 0)
            #expect(try api.test.count("observations") == 0)
        }
    }

    @Test(arguments: [
        #"{"traceIds": []}"#, #"{"traceIds": "t-1"}"#, #"{"traceIds": [1, 2]}"#, #"{"ids": ["t-1"]}"#, "{}", "[]", "not json",
        Build.object([("traceIds", Build.strings((0...1000).map { "t-\($0)" }))]).jsonText,
    ])
    func invalidBulkDeleteIs400AndDeletesNothing(body: String) async throws {
        try await APIHarness.with { api async throws in
            try await api.ingestConversation()
            try expectBadRequest(await api.delete("/api/public/traces", json: body), String(body.prefix(40)))
            #expect(try api.test.count("traces") == 3)
        }
    }

    @Test func exactlyAThousandIDsAreAccepted() async throws {
        try await APIHarness.with { api async throws in
            try await api.ingestConversation()
            let ids = ReadFixtures.traceIDs + (3..<1000).map { "t-\($0)" }
            #expect(ids.count == 1000)
            let response = await api.delete("/api/public/traces", json: Build.object([("traceIds", Build.strings(ids))]).jsonText)
            #expect(response.status == 200)
            #expect(try api.test.count("traces") == 0)
        }
    }

    @Test func minimalTraceEmitsEveryKeyWithNullsAndEmptyCollections() async throws {
        try await APIHarness.with { api async throws in
            _ = try await api.json(post: "/api/public/traces", #"{"id": "bare"}"#, status: 200)
            let trace = try await api.json("/api/public/traces/bare")
            #expect(Array(trace.keys.prefix(ReadFixtures.traceKeys.count)) == ReadFixtures.traceKeys)
            for key in ReadFixtures.traceDetailKeys { #expect(trace[key] != nil, "key \(key)") }
            for key in ["name", "userId", "release", "version", "input", "output", "sessionId", "externalId"] {
                #expect(trace[key]?.isNull == true, "\(key) is null")
            }
            #expect(trace["metadata"] == .object([]))
            #expect(trace["tags"] == .array([]))
            #expect(trace["observations"] == .array([]))
            #expect(trace["scores"] == .array([]))
            #expect(trace["latency"]?.doubleValue == 0)
            #expect(trace["totalCost"]?.doubleValue == 0)
            #expect(trace["environment"]?.stringValue == "default")

            let listed = try await api.json("/api/public/traces").data
            #expect(Array((listed.first?.keys ?? []).prefix(ReadFixtures.traceKeys.count)) == ReadFixtures.traceKeys)
        }
    }
}
