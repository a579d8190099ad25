import API
import Model
import Storage
import Testing
import TestSupport
import Transport

/// `GET /api/public/sessions` (operationId `sessionsList`) and `GET /api/public/sessions/{id}`
/// (`sessionGet`): Langfuse's page shape and keys (langfuse-api.md §1.1, §5.7, §5.8) plus the
/// aggregates, filters, sorting and drill-down of issue #4 §2–§4.
@Suite("Session reads")
struct SessionReadTests {
    // MARK: The captured conversation

    /// The session of the two Python 2.60.10 batches as `GET /api/public/sessions` lists it.
    static func listedConversation(_ api: APIHarness) async throws -> JSONValue {
        let page = try await api.json("/api/public/sessions")
        try #require(page.data.count == 1)
        return page.data[0]
    }

    /// The aggregates `expected.json` implies: three turns of four observations (agent span,
    /// generation, tool span, event), usage 160+200+240 in, 35+40+45 out.
    static func expectConversationAggregates(_ session: JSONValue, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(session["turnCount"]?.intValue == 3, sourceLocation: sourceLocation)
        #expect(session["observationCount"]?.intValue == 12, sourceLocation: sourceLocation)
        #expect(session["generationCount"]?.intValue == 3, sourceLocation: sourceLocation)
        #expect(session["toolCallCount"]?.intValue == 3, sourceLocation: sourceLocation)
        #expect(session["errorCount"]?.intValue == 0, sourceLocation: sourceLocation)
        #expect(session["inputTokens"]?.intValue == 600, sourceLocation: sourceLocation)
        #expect(session["outputTokens"]?.intValue == 120, sourceLocation: sourceLocation)
        #expect(session["totalTokens"]?.intValue == 720, sourceLocation: sourceLocation)
        #expect(close(session["totalCost"]?.doubleValue, 0.000162), "\(session["totalCost"]?.jsonText ?? "-")", sourceLocation: sourceLocation)
        #expect(session["channel"]?.stringValue == "web", sourceLocation: sourceLocation)
        #expect(session["userId"]?.stringValue == ReadFixtures.userID, sourceLocation: sourceLocation)
        #expect(session["tags"] == Build.strings(["acceptance", "chat", "turn-1", "turn-2", "turn-3"]), sourceLocation: sourceLocation)
        #expect(session["scores"] == .object([("user-feedback", .object([("count", JSONValue(1)), ("mean", JSONValue(1))]))]),
                sourceLocation: sourceLocation)
        #expect(session["status"]?.stringValue == "active", sourceLocation: sourceLocation)
        let mean = session["meanTurnLatencyMs"]?.doubleValue
        let p95 = session["p95TurnLatencyMs"]?.doubleValue
        #expect(mean.map { $0 > 0 } == true, sourceLocation: sourceLocation)
        #expect(p95.map { p95 in mean.map { p95 >= $0 } ?? false } == true, sourceLocation: sourceLocation)
        #expect(session["firstActivity"]?.stringValue == "2026-11-24T21:58:28.426Z", sourceLocation: sourceLocation)
        #expect((session["durationMs"]?.intValue ?? 0) > 0, sourceLocation: sourceLocation)
    }

    /// A session object without the two server-clock keys, for comparing two databases.
    static func withoutClock(_ session: JSONValue) -> JSONValue {
        .object((session.objectValue ?? []).filter { $0.0 != "createdAt" && $0.0 != "updatedAt" && $0.0 != "projectId" })
    }

    @Test func conversationIsListedWithLangfusesKeysAndEveryAggregate() async throws {
        try await APIHarness.with { api async throws in
            try await api.ingestConversation()
            let page = try await api.json("/api/public/sessions")
            #expect(page.keys == ["data", "meta"])
            #expect(page["meta"] == .object([("page", JSONValue(1)), ("limit", JSONValue(50)), ("totalItems", JSONValue(1)), ("totalPages", JSONValue(1))]))
            let session = try await Self.listedConversation(api)
            #expect(Array(session.keys.prefix(4)) == ReadFixtures.sessionKeys)
            #expect(session["id"]?.stringValue == ReadFixtures.sessionID)
            #expect(session["projectId"]?.stringValue == api.project.publicID)
            #expect(session["environment"]?.stringValue == "production")
            #expect(session["createdAt"]?.stringValue.flatMap(Timestamp.parseMicros) != nil)
            Self.expectConversationAggregates(session)
        }
    }

    @Test func reSentBatchesNeverCountTwice() async throws {
        try await APIHarness.with { api async throws in
            try await api.ingestConversation()
            let before = Self.withoutClock(try await Self.listedConversation(api))
            try await api.ingestConversation()
            try await api.ingestConversation(order: ReadFixtures.batches.reversed())
            let after = try await Self.listedConversation(api)
            Self.expectConversationAggregates(after)
            #expect(Self.withoutClock(after) == before)
        }
    }

    @Test func batchTwoBeforeBatchOneGivesTheSameAggregates() async throws {
        let normal = try await APIHarness.with { api async throws in
            try await api.ingestConversation()
            return Self.withoutClock(try await Self.listedConversation(api))
        }
        let reversed = try await APIHarness.with { api async throws in
            try await api.ingestConversation(order: ReadFixtures.batches.reversed())
            let session = try await Self.listedConversation(api)
            Self.expectConversationAggregates(session)
            return Self.withoutClock(session)
        }
        #expect(reversed == normal)
    }

    // MARK: Filters and sorting

    /// Four sessions with distinct values for every filter and sort key:
    ///
    /// | id  | made by           | user | env        | channel        | turns | cost | tags         | duration | last activity | createdAt |
    /// | s-a | POST + 3 turns    | u-1  | production | web (POST)     | 3     | 0.36 | alpha,shared | 3000     | +10h+3s       | +0h       |
    /// | s-b | POST + 1 turn     | u-2  | staging    | voice (POST)   | 1     | 0.12 | beta         | 500      | +12h+0.5s     | +1h       |
    /// | s-c | traces only, ended| u-1  | production | sms (metadata) | 2     | 0.24 | gamma,shared | 10000    | +8h+10s       | +2h       |
    /// | s-d | POST only         | none | default    | web (POST)     | 0     | 0    | none         | 0        | none          | +3h       |
    static func catalogue(_ api: APIHarness) async throws {
        let hour: Int64 = 3_600_000
        let cost = (input: 0.1, output: 0.02)
        _ = try await api.json(post: "/api/public/sessions",
                               #"{"id": "s-a", "userId": "u-1", "channel": "web", "environment": "production", "metadata": {"plan": "pro"}}"#,
                               status: 201)
        _ = try await api.json(post: "/api/public/sessions",
                               #"{"id": "s-b", "userId": "u-2", "channel": "voice", "environment": "staging"}"#, status: 201)
        _ = try await api.json(post: "/api/public/sessions", #"{"id": "s-d", "channel": "web"}"#, status: 201)
        var events: [JSONValue] = []
        for turn in 0..<3 {
            events += Build.turn("a-\(turn)", session: "s-a", user: "u-1", number: turn + 1, at: 10 * hour + Int64(turn) * 1000,
                                 cost: cost, metadata: [("experiment", .string("x"))], tags: ["alpha", "shared"], environment: "production")
        }
        events += Build.turn("b-0", session: "s-b", user: "u-2", number: 1, at: 12 * hour, duration: 500, cost: cost,
                             metadata: [("experiment", .string("y"))], tags: ["beta"], environment: "staging")
        for turn in 0..<2 {
            events += Build.turn("c-\(turn)", session: "s-c", user: "u-1", number: turn + 1, at: 8 * hour + Int64(turn) * 5000,
                                 duration: 5000, cost: cost, metadata: [("channel", .string("sms"))], tags: ["gamma", "shared"],
                                 environment: "production")
        }
        try await api.ingest(events)
        _ = try await api.json(post: "/api/public/sessions/s-c/end", #"{"reason": "user_exit"}"#, status: 200)
        for (index, id) in ["s-a", "s-b", "s-c", "s-d"].enumerated() {
            try await api.setSessionCreatedAt(id, offset: Int64(index) * hour)
        }
    }

    @Test func catalogueHasTheAggregatesItsFiltersRelyOn() async throws {
        try await APIHarness.with { api async throws in
            try await Self.catalogue(api)
            let sessions = try await api.json("/api/public/sessions").data
            let byID = Dictionary(uniqueKeysWithValues: sessions.compactMap { s in s["id"]?.stringValue.map { ($0, s) } })
            #expect(byID.keys.sorted() == ["s-a", "s-b", "s-c", "s-d"])
            #expect(byID["s-a"]?["turnCount"]?.intValue == 3)
            #expect(close(byID["s-a"]?["totalCost"]?.doubleValue, 0.36))
            #expect(byID["s-a"]?["durationMs"]?.intValue == 3000)
            #expect(byID["s-a"]?["tags"] == Build.strings(["alpha", "shared"]))
            #expect(byID["s-b"]?["durationMs"]?.intValue == 500)
            #expect(byID["s-c"]?["durationMs"]?.intValue == 10000)
            #expect(byID["s-c"]?["channel"]?.stringValue == "sms")
            #expect(byID["s-c"]?["environment"]?.stringValue == "production")
            #expect(byID["s-c"]?["status"]?.stringValue == "ended")
            #expect(byID["s-c"]?["endReason"]?.stringValue == "user_exit")
            #expect(byID["s-d"]?["lastActivity"]?.isNull == true)
            #expect(byID["s-d"]?["userId"]?.isNull == true)
            #expect(byID["s-d"]?["environment"]?.stringValue == "default")
            #expect(byID["s-a"]?["createdAt"]?.stringValue == Build.time(0))
        }
    }

    @Test(arguments: [
        ("userId=u-1", ["s-a", "s-c"]),
        ("userId=u-2", ["s-b"]),
        ("userId=nobody", []),
        ("status=ended", ["s-c"]),
        ("status=active", ["s-a", "s-b", "s-d"]),
        ("channel=web", ["s-a", "s-d"]),
        ("channel=sms", ["s-c"]),
        ("minTurns=2", ["s-a", "s-c"]),
        ("minTurns=0", ["s-a", "s-b", "s-c", "s-d"]),
        ("minTurns=4", []),
        ("tag=shared", ["s-a", "s-c"]),
        ("tag=shared&tag=alpha", ["s-a"]),
        ("tag=beta", ["s-b"]),
        ("metadata[plan]=pro", ["s-a"]),
        ("metadata%5Bplan%5D=pro", ["s-a"]),
        ("metadata[experiment]=x", ["s-a"]),
        ("metadata[experiment]=y", ["s-b"]),
        ("metadata[turn_number]=2", ["s-a", "s-c"]),
        ("metadata[plan]=pro&metadata[experiment]=x", ["s-a"]),
        ("metadata[plan]=pro&metadata[experiment]=y", []),
        ("environment=production", ["s-a", "s-c"]),
        ("environment=staging&environment=default", ["s-b", "s-d"]),
        ("environment=staging,default", ["s-b", "s-d"]),
        ("fromTimestamp=2026-03-02T10:00:00.000Z", ["s-b", "s-c", "s-d"]),
        ("toTimestamp=2026-03-02T11:00:00Z", ["s-a", "s-b"]),
        ("fromTimestamp=2026-03-02T10:00:00Z&toTimestamp=2026-03-02T11:00:00Z", ["s-b"]),
        ("fromTimestamp=2026-03-02T11:00:00%2B01:00", ["s-b", "s-c", "s-d"]),
        ("userId=u-1&status=active", ["s-a"]),
        ("userId=&channel=", ["s-a", "s-b", "s-c", "s-d"]),
    ])
    func filtersSelectTheRightSessions(query: String, expected: [String]) async throws {
        try await APIHarness.with { api async throws in
            try await Self.catalogue(api)
            let page = try await api.json("/api/public/sessions?\(query)")
            #expect(Set(page.data.compactMap { $0["id"]?.stringValue }) == Set(expected), "\(query)")
            #expect(page["meta"]?["totalItems"]?.intValue == Int64(expected.count), "\(query)")
        }
    }

    @Test(arguments: [
        ("metadata[vip]=true", ["s-bool"]),
        ("metadata[vip]=false", ["s-plain"]),
        ("metadata[score]=0.5", ["s-bool"]),
        ("metadata[turn.number]=7", ["s-plain"]),
        ("metadata[nested]=%7B%22a%22%3A1%7D", ["s-bool"]),
        ("metadata[missing]=x", []),
        // A session's tags are the union of its traces' tags, so tags on different traces match together.
        ("tag=left&tag=right", ["s-plain"]),
    ] as [(String, [String])])
    func metadataFilterMatchesBooleansNumbersAndDottedKeys(query: String, expected: [String]) async throws {
        try await APIHarness.with { api async throws in
            _ = try await api.json(post: "/api/public/sessions",
                                   #"{"id": "s-bool", "metadata": {"vip": true, "score": 0.5, "nested": {"a": 1}}}"#, status: 201)
            try await api.ingest([
                Build.trace("p-1", session: "s-plain", at: 0, metadata: .object([("vip", .bool(false)), ("turn.number", JSONValue(7))]), tags: ["left"]),
                Build.trace("p-2", session: "s-plain", at: 1000, tags: ["right"]),
            ])
            #expect(try await api.ids("/api/public/sessions?\(query)").sorted() == expected, "\(query)")
        }
    }

    @Test(arguments: [
        ("", ["s-d", "s-c", "s-b", "s-a"]),
        ("orderBy=createdAt.desc", ["s-d", "s-c", "s-b", "s-a"]),
        ("orderBy=createdAt.asc", ["s-a", "s-b", "s-c", "s-d"]),
        ("orderBy=cost.desc", ["s-a", "s-c", "s-b", "s-d"]),
        ("orderBy=cost.asc", ["s-d", "s-b", "s-c", "s-a"]),
        ("orderBy=turns.asc", ["s-d", "s-b", "s-c", "s-a"]),
        ("orderBy=turns.desc", ["s-a", "s-c", "s-b", "s-d"]),
        ("orderBy=duration.desc", ["s-c", "s-a", "s-b", "s-d"]),
        ("orderBy=duration.asc", ["s-d", "s-b", "s-a", "s-c"]),
        ("orderBy=lastActivity.desc", ["s-b", "s-a", "s-c", "s-d"]),
        ("sort=cost&order=asc", ["s-d", "s-b", "s-c", "s-a"]),
        ("sort=cost&order=desc", ["s-a", "s-c", "s-b", "s-d"]),
        ("sort=turns", ["s-a", "s-c", "s-b", "s-d"]),
        ("sort=duration&order=ASC", ["s-d", "s-b", "s-a", "s-c"]),
        ("sort=createdAt&order=asc", ["s-a", "s-b", "s-c", "s-d"]),
        ("orderBy=cost.desc&userId=u-1", ["s-a", "s-c"]),
    ])
    func sortingOrdersTheWholeList(query: String, expected: [String]) async throws {
        try await APIHarness.with { api async throws in
            try await Self.catalogue(api)
            #expect(try await api.ids("/api/public/sessions?\(query)") == expected, "\(query)")
        }
    }

    @Test func lastActivityAscendingPutsSessionsWithoutActivityFirst() async throws {
        try await APIHarness.with { api async throws in
            try await Self.catalogue(api)
            let ids = try await api.ids("/api/public/sessions?orderBy=lastActivity.asc")
            #expect(ids == ["s-d", "s-c", "s-a", "s-b"])
        }
    }

    @Test(arguments: [
        "limit=0", "limit=101", "limit=-1", "limit=ten", "page=0", "page=-2", "page=x",
        "status=paused", "minTurns=-1", "minTurns=two",
        "orderBy=cost", "orderBy=cost.sideways", "orderBy=price.desc", "orderBy=.desc", "sort=price",
        "fromTimestamp=2026-03-02T10:00:00", "toTimestamp=yesterday",
    ])
    func invalidListParametersAre400(query: String) async throws {
        try await APIHarness.with { api async throws in
            try expectBadRequest(await api.get("/api/public/sessions?\(query)"), query)
        }
    }

    @Test(arguments: [
        // (query, ids on the page, page, limit, totalItems, totalPages)
        ("limit=3", ["s-d", "s-c", "s-b"], 1, 3, 4, 2),
        ("limit=3&page=2", ["s-a"], 2, 3, 4, 2),
        ("limit=3&page=3", [], 3, 3, 4, 2),
        ("limit=1&page=4", ["s-a"], 4, 1, 4, 4),
        ("limit=2&page=2", ["s-b", "s-a"], 2, 2, 4, 2),
        ("limit=4", ["s-d", "s-c", "s-b", "s-a"], 1, 4, 4, 1),
        ("limit=100&page=99", [], 99, 100, 4, 1),
        ("limit=1&userId=u-1", ["s-c"], 1, 1, 2, 2),
        ("userId=nobody", [], 1, 50, 0, 0),
        ("page=&limit=", ["s-d", "s-c", "s-b", "s-a"], 1, 50, 4, 1),
    ] as [(String, [String], Int, Int, Int, Int)])
    func pagesAndMetaFollowLangfusesRules(query: String, ids: [String], page: Int, limit: Int, total: Int, pages: Int) async throws {
        try await APIHarness.with { api async throws in
            try await Self.catalogue(api)
            let answer = try await api.json("/api/public/sessions?\(query)")
            #expect(answer.data.compactMap { $0["id"]?.stringValue } == ids, "\(query)")
            #expect(answer["meta"] == .object([
                ("page", JSONValue(page)), ("limit", JSONValue(limit)), ("totalItems", JSONValue(total)), ("totalPages", JSONValue(pages)),
            ]), "\(query): \(answer["meta"]?.jsonText ?? "-")")
        }
    }

    // MARK: Drill-down

    @Test func drillDownListsTheTurnsInOrderWithTreesAndScores() async throws {
        try await APIHarness.with { api async throws in
            try await api.ingestConversation(order: ReadFixtures.batches.reversed())
            let session = try await api.json("/api/public/sessions/\(ReadFixtures.sessionID)")
            Self.expectConversationAggregates(session)
            let traces = try #require(session["traces"]?.arrayValue)
            #expect(traces.map { $0["id"]?.stringValue } == ReadFixtures.traceIDs)
            #expect(traces.map { $0["turnNumber"]?.intValue } == [1, 2, 3])
            let expected = try JSONParser.parse(try SDKFixtures.bytes("\(ReadFixtures.folder)/expected.json"))
            for (trace, turn) in zip(traces, expected["turns"]?.arrayValue ?? []) {
                for key in ReadFixtures.traceKeys + ReadFixtures.traceDetailKeys {
                    #expect(trace[key] != nil, "trace key \(key)")
                }
                #expect(trace["sessionId"]?.stringValue == ReadFixtures.sessionID)
                #expect(trace["observationCount"]?.intValue == 4)
                #expect(trace["inputTokens"]?.intValue == turn["generation"]?["usage"]?["input"]?.intValue)
                #expect(trace["outputTokens"]?.intValue == turn["generation"]?["usage"]?["output"]?.intValue)
                #expect(trace["totalTokens"]?.intValue == turn["generation"]?["usage"]?["total"]?.intValue)
                #expect(close(trace["totalCost"]?.doubleValue, turn["generation"]?["cost"]?["total"]?.doubleValue ?? -1))
                #expect((trace["latency"]?.doubleValue ?? 0) > 0)
                #expect((trace["latencyMs"]?.intValue ?? 0) > 0)

                let roots = try #require(trace["observations"]?.arrayValue)
                try #require(roots.count == 1, "one agent-run root in \(trace["id"]?.stringValue ?? "?")")
                #expect(roots[0]["name"]?.stringValue == "agent-run")
                #expect(roots[0]["type"]?.stringValue == "SPAN")
                let children = try #require(roots[0]["children"]?.arrayValue)
                #expect(Set(children.compactMap { $0["name"]?.stringValue }) == ["llm-call", "tool:get_weather", "guardrail-check"])
                #expect(Set(children.compactMap { $0["type"]?.stringValue }) == ["GENERATION", "SPAN", "EVENT"])
                #expect(children.allSatisfy { $0["parentObservationId"] == roots[0]["id"] })
                #expect(children.allSatisfy { $0["children"] == .array([]) })
                for node in [roots[0]] + children {
                    for key in ReadFixtures.observationKeys { #expect(node[key] != nil, "observation key \(key)") }
                }

                let scores = try #require(trace["scores"]?.arrayValue)
                if let score = turn["score"], !score.isNull {
                    #expect(scores.count == 1)
                    #expect(scores.first?["name"] == score["name"])
                    #expect(scores.first?["value"]?.doubleValue == score["value"]?.doubleValue)
                    #expect(scores.first?["id"]?.stringValue == ReadFixtures.scoreID)
                } else {
                    #expect(scores.isEmpty)
                }
            }
            #expect(session["sessionScores"] == .array([]))
        }
    }

    @Test func drillDownOrdersBySentTurnNumberWhateverTheArrivalAndStartOrder() async throws {
        try await APIHarness.with { api async throws in
            // Turn 3 starts first and arrives first; turn 1 starts last. The sent numbers win.
            try await api.ingest(Build.turn("t-3", session: "s-order", number: 3, at: 0))
            try await api.ingest(Build.turn("t-1", session: "s-order", number: 1, at: 20_000))
            try await api.ingest(Build.turn("t-2", session: "s-order", number: 2, at: 10_000))
            let traces = try await api.json("/api/public/sessions/s-order")["traces"]?.arrayValue ?? []
            #expect(traces.map { $0["id"]?.stringValue } == ["t-1", "t-2", "t-3"])
            #expect(traces.map { $0["turnNumber"]?.intValue } == [1, 2, 3])
        }
    }

    @Test func drillDownReadsTurnNumbersSentAsTextOrUnderOtherKeys() async throws {
        try await APIHarness.with { api async throws in
            try await api.ingest([
                Build.trace("k-2", session: "s-keys", at: 0, metadata: .object([("turn", JSONValue(2))])),
                Build.trace("k-1", session: "s-keys", at: 1000, metadata: .object([("turn_number", .string("1"))])),
                Build.trace("k-3", session: "s-keys", at: 2000, metadata: .object([("turn.number", JSONValue(3))])),
            ])
            let traces = try await api.json("/api/public/sessions/s-keys")["traces"]?.arrayValue ?? []
            #expect(traces.map { $0["id"]?.stringValue } == ["k-1", "k-2", "k-3"])
        }
    }

    @Test func drillDownFallsBackToStartTimeWithoutTurnNumbers() async throws {
        try await APIHarness.with { api async throws in
            try await api.ingest(Build.turn("late", session: "s-time", at: 30_000))
            try await api.ingest(Build.turn("early", session: "s-time", at: 0))
            try await api.ingest(Build.turn("middle", session: "s-time", at: 15_000))
            let traces = try await api.json("/api/public/sessions/s-time")["traces"]?.arrayValue ?? []
            #expect(traces.map { $0["id"]?.stringValue } == ["early", "middle", "late"])
            // Numbers are derived from that order (issue #7); the sent value stays null.
            #expect(traces.map { $0["turnNumber"]?.intValue } == [1, 2, 3])
            #expect(traces.allSatisfy { $0["turnNumberSource"]?.stringValue == "derived" && $0["turn"]?["number"] == .null })
        }
    }

    @Test func sessionLevelScoresAreInSessionScoresAndTheSummary() async throws {
        try await APIHarness.with { api async throws in
            try await api.ingestConversation()
            let created = try await api.json(
                post: "/api/public/scores",
                #"{"id": "sess-score-1", "sessionId": "acc-v2-session-cap01", "name": "resolution", "value": 0.5, "comment": "partly"}"#,
                status: 200)
            #expect(created["id"]?.stringValue == "sess-score-1")
            let session = try await api.json("/api/public/sessions/\(ReadFixtures.sessionID)")
            let sessionScores = try #require(session["sessionScores"]?.arrayValue)
            #expect(sessionScores.map { $0["id"]?.stringValue } == ["sess-score-1"])
            #expect(sessionScores.first?["sessionId"]?.stringValue == ReadFixtures.sessionID)
            #expect(sessionScores.first?["traceId"]?.isNull == true)
            #expect(sessionScores.first?["value"]?.doubleValue == 0.5)
            #expect(sessionScores.first?["comment"]?.stringValue == "partly")
            let traceScoreIDs = (session["traces"]?.arrayValue ?? []).flatMap { $0["scores"]?.arrayValue ?? [] }.map { $0["id"]?.stringValue }
            #expect(traceScoreIDs == [ReadFixtures.scoreID])
            #expect(session["scores"]?["resolution"] == .object([("count", JSONValue(1)), ("mean", JSONValue(0.5))]))
            #expect(session["scores"]?["user-feedback"]?["count"]?.intValue == 1)
        }
    }

    @Test func unknownSessionIsLangfuses404() async throws {
        try await APIHarness.with { api async throws in
            try await api.ingestConversation()
            try expectNotFound(await api.get("/api/public/sessions/no-such-session"),
                               message: "Session not found within authorized project")
        }
    }

    @Test func sessionIDsArePercentDecodedInThePath() async throws {
        try await APIHarness.with { api async throws in
            _ = try await api.json(post: "/api/public/sessions", #"{"id": "team/a b"}"#, status: 201)
            #expect(try await api.json("/api/public/sessions/team%2Fa%20b")["id"]?.stringValue == "team/a b")
            _ = try await api.json(post: "/api/public/sessions/team%2Fa%20b/end", "{}", status: 200)
        }
    }

    @Test func aThousandTurnSessionDrillsDownCompletely() async throws {
        try await APIHarness.with { api async throws in
            var events: [JSONValue] = []
            for turn in (1...1000).reversed() {
                events.append(Build.trace("big-\(turn)", session: "s-big", at: Int64(turn) * 10,
                                          metadata: .object([("turn_number", JSONValue(turn))])))
                events.append(Build.observation("generation", "big-\(turn)-llm", trace: "big-\(turn)", name: "llm-call",
                                                start: Int64(turn) * 10, end: Int64(turn) * 10 + 5, usage: (10, 2), cost: (0.001, 0.0001)))
            }
            for chunk in stride(from: 0, to: events.count, by: 500) {
                try await api.ingest(Array(events[chunk..<min(chunk + 500, events.count)]))
            }
            let session = try await api.json("/api/public/sessions/s-big")
            let traces = session["traces"]?.arrayValue ?? []
            #expect(traces.count == 1000)
            #expect(traces.map { $0["turnNumber"]?.intValue } == (1...1000).map { Int64($0) })
            #expect(session["turnCount"]?.intValue == 1000)
            #expect(session["generationCount"]?.intValue == 1000)
            #expect(session["totalTokens"]?.intValue == 12000)
            #expect(close(session["totalCost"]?.doubleValue, 1.1))
            #expect(session["meanTurnLatencyMs"]?.doubleValue == 5)
        }
    }
}
