import API
import Model
import Storage
import Testing
import TestSupport
import Transport

/// Issue #7's scenarios, each through both ingestion paths: turn numbering and its repair,
/// session end by attribute and by inactivity (an injected clock drives the sweeper), drop-off,
/// journeys, context window, satisfaction and distributions (docs/ANALYTICS.md).
@Suite("Conversation analytics")
struct ConversationAnalyticsTests {
    // MARK: Turn numbers

    @Test(arguments: ConversationPath.allCases)
    func missingTurnNumbersAreDerivedByStartTimeAndReported(path: ConversationPath) async throws {
        try await APIHarness.with { api async throws in
            try await path.send([TurnSpec(id: "m1", at: 0), TurnSpec(id: "m2", at: 60_000), TurnSpec(id: "m3", at: 120_000)],
                                session: "s-missing", to: api)
            let session = try await api.session("s-missing")
            let traces = try #require(session["traces"]?.arrayValue)
            #expect(traces.map { $0["turnNumber"]?.intValue } == [1, 2, 3])
            #expect(traces.allSatisfy { $0["turnNumberSource"]?.stringValue == "derived" })
            #expect(traces.allSatisfy { $0["turnIssues"] == .array([.string("missing_number")]) })
            #expect(session["turnNumberSource"]?.stringValue == "derived")
            #expect(session["turnIssues"]?["missing"]?.intValue == 3)
            #expect(session["turnIssues"]?["duplicates"] == .array([]))
            #expect(session["lastTurnNumber"]?.intValue == 3)
            // Sent numbers are kept apart: turn.number stays null.
            #expect(traces[0]["turn"]?["number"] == .null)
        }
    }

    @Test(arguments: ConversationPath.allCases)
    func duplicatedAndSkippedTurnNumbersAreFlagged(path: ConversationPath) async throws {
        try await APIHarness.with { api async throws in
            let numbers: [Int] = [1, 2, 2, 4]
            try await path.send(numbers.enumerated().map { index, number in
                TurnSpec(id: "d\(index)", at: Int64(index) * 60_000, attributes: [("turn.number", JSONValue(number))])
            }, session: "s-dup", to: api)
            let session = try await api.session("s-dup")
            let traces = try #require(session["traces"]?.arrayValue)
            #expect(traces.map { $0["turnNumber"]?.intValue } == [1, 2, 2, 4])
            #expect(traces.allSatisfy { $0["turnNumberSource"]?.stringValue == "sent" })
            #expect(traces.map { $0["turnIssues"]?.arrayValue?.count } == [0, 1, 1, 0])
            #expect(traces[1]["turnIssues"] == .array([.string("duplicate_number")]))
            #expect(session["turnNumberSource"]?.stringValue == "sent")
            #expect(session["turnIssues"]?["duplicates"] == .array([JSONValue(2)]))
            #expect(session["turnIssues"]?["gaps"] == .array([JSONValue(3)]))
            #expect(session["turnIssues"]?["missing"]?.intValue == 0)
            let flagged = try await api.json("/api/public/sessions?hasTurnIssues=true").data.compactMap { $0["id"]?.stringValue }
            #expect(flagged == ["s-dup"])
        }
    }

    @Test(arguments: ConversationPath.allCases)
    func theDrillDownListsTurnsByTheNumberParleyUses(path: ConversationPath) async throws {
        try await APIHarness.with { api async throws in
            let numbers: [Int?] = [1, 2, nil, 4]
            try await path.send(numbers.enumerated().map { index, number in
                TurnSpec(id: "o\(index)", at: Int64(index) * 60_000, attributes: number.map { [("turn.number", JSONValue($0))] } ?? [])
            }, session: "s-order", to: api)
            let session = try await api.session("s-order")
            #expect(session["traces"]?.arrayValue?.map { $0["turnNumber"]?.intValue } == [1, 2, 3, 4])
            #expect(session["conversations"]?.arrayValue?.first?["turns"]?.arrayValue?.map { $0["turnNumber"]?.intValue } == [1, 2, 3, 4])
            #expect(session["turnNumberSource"]?.stringValue == "mixed")
        }
    }

    @Test(arguments: ConversationPath.allCases)
    func aLateTurnSlotsInByStartTimeAndLaterNumbersFollow(path: ConversationPath) async throws {
        try await APIHarness.with { api async throws in
            try await path.send([TurnSpec(id: "l1", at: 0), TurnSpec(id: "l3", at: 120_000)], session: "s-late", to: api)
            #expect(try await api.session("s-late")["traces"]?.arrayValue?.map { $0["turnNumber"]?.intValue } == [1, 2])
            // The middle turn arrives last (a late flush); numbering is repaired, gap-free.
            try await path.send([TurnSpec(id: "l2", at: 60_000)], session: "s-late", to: api)
            let traces = try #require(try await api.session("s-late")["traces"]?.arrayValue)
            #expect(traces.map { $0["id"]?.stringValue } == ["l1", "l2", "l3"].map { TurnSpec(id: $0, at: 0).traceID })
            #expect(traces.map { $0["turnNumber"]?.intValue } == [1, 2, 3])
            // Re-sending changes nothing.
            try await path.send([TurnSpec(id: "l2", at: 60_000)], session: "s-late", to: api)
            #expect(try await api.session("s-late")["traces"]?.arrayValue?.map { $0["turnNumber"]?.intValue } == [1, 2, 3])
        }
    }

    // MARK: Inactivity, resumption, drop-off

    @Test(arguments: ConversationPath.allCases)
    func aDropOffAfterAClarificationQuestion(path: ConversationPath) async throws {
        try await APIHarness.with { api async throws in
            try await path.send([
                TurnSpec(id: "q1", at: 0, attributes: [("turn.input_type", .string("question")), ("session.channel", .string("web")),
                                                       ("user.tier", .string("free"))]),
                TurnSpec(id: "q2", at: minutes(1), attributes: [
                    ("turn.input_type", .string("answer")), ("turn.output_type", .string("clarification_question")),
                    ("dropoff.last_intent", .string("refund_request"))], generationInputs: [500]),
            ], session: "s-drop", to: api)
            #expect(try await api.sweep(at: minutes(20)) == 0)
            #expect(try await api.session("s-drop")["status"]?.stringValue == "active")

            #expect(try await api.sweep(at: minutes(40)) == 1)
            let session = try await api.session("s-drop")
            #expect(session["status"]?.stringValue == "timed_out")
            #expect(session["endReason"]?.stringValue == "inactive_timeout")
            #expect(session["endSource"]?.stringValue == "inactivity")
            // The last activity is the end of turn 2's root span (1 s long).
            let lastActivity = minutes(1) + 1000
            #expect(session["idleTimeMs"]?.intValue == minutes(40) - lastActivity)
            #expect(session["endTime"]?.stringValue == Build.time(lastActivity + minutes(30)))
            let dropoff = try #require(session["dropoff"])
            #expect(dropoff["isDropoff"]?.boolValue == true)
            #expect(dropoff["lastTurnNumber"]?.intValue == 2)
            #expect(dropoff["lastIntent"]?.stringValue == "refund_request")
            // Not sent: the last observation to start in the last turn (the LLM call inside the
            // turn's root span), as type:name.
            #expect(dropoff["agentLastAction"]?.stringValue == "generation:llm-call")
            #expect(dropoff["sinceLastTurnMs"]?.intValue == minutes(40) - lastActivity)

            let byIntent = try await api.json("/api/public/analytics/dropoff?groupBy=lastIntent")
            #expect(byIntent["sessions"]?.intValue == 1 && byIntent["dropoffs"]?.intValue == 1)
            #expect(byIntent["dropoffRate"]?.doubleValue == 1)
            let group = try #require(byIntent.data.first)
            #expect(group["key"]?.stringValue == "refund_request")
            #expect(group["exampleSessionIds"] == .array([.string("s-drop")]))
            for (groupBy, key) in [("lastTurn", JSONValue(2)), ("channel", .string("web")), ("userTier", .string("free")),
                                   ("agentLastAction", .string("generation:llm-call"))] {
                let report = try await api.json("/api/public/analytics/dropoff?groupBy=\(groupBy)")
                #expect(report.data.map { $0["key"] } == [key], "\(groupBy)")
            }
            let dropped = try await api.json("/api/public/sessions?dropoff=true").data.compactMap { $0["id"]?.stringValue }
            #expect(dropped == ["s-drop"])
            // A second sweep finds nothing more to do.
            #expect(try await api.sweep(at: minutes(90)) == 0)
        }
    }

    @Test(arguments: ConversationPath.allCases)
    func activityAfterATimeoutReopensAndCountsAResumption(path: ConversationPath) async throws {
        try await APIHarness.with { api async throws in
            try await path.send([TurnSpec(id: "r1", at: 0)], session: "s-resume", to: api)
            #expect(try await api.sweep(at: minutes(31) + 1000) == 1)
            #expect(try await api.session("s-resume")["status"]?.stringValue == "timed_out")

            // A late upload of activity from before the timeout ran out: reopened, not a resumption.
            try await path.send([TurnSpec(id: "r0", at: minutes(10))], session: "s-resume", to: api)
            var session = try await api.session("s-resume")
            #expect(session["status"]?.stringValue == "active")
            #expect(session["resumptions"]?.intValue == 0)
            #expect(session["endReason"] == .null && session["idleTimeMs"] == .null)

            #expect(try await api.sweep(at: minutes(45)) == 1)
            // The user comes back an hour later: a resumption.
            try await path.send([TurnSpec(id: "r2", at: minutes(100))], session: "s-resume", to: api)
            session = try await api.session("s-resume")
            #expect(session["status"]?.stringValue == "active")
            #expect(session["resumptions"]?.intValue == 1)
            #expect(session["dropoff"]?["isDropoff"]?.boolValue == false)
            #expect(session["turnCount"]?.intValue == 3)
            #expect(try await api.sweep(at: minutes(200)) == 1)
            session = try await api.session("s-resume")
            #expect(session["status"]?.stringValue == "timed_out")
            #expect(session["resumptions"]?.intValue == 1)
        }
    }

    @Test func aProjectsInactivityTimeoutWinsOverTheServerDefault() async throws {
        try await APIHarness.with { api async throws in
            try await ConversationPath.ingestion.send([TurnSpec(id: "p1", at: 0)], session: "s-project", to: api)
            #expect(try await api.sweep(at: minutes(5)) == 0)
            let projectID = api.project.rowID
            _ = try await api.database.writer.write { db in
                try ProjectSettingsStore.update(projectID: projectID, [("inactivityTimeoutSeconds", JSONValue(120))], on: db)
            }
            #expect(try await api.sweep(at: minutes(5)) == 1)
            let session = try await api.session("s-project")
            #expect(session["endTime"]?.stringValue == Build.time(1000 + minutes(2)))
        }
    }

    @Test(arguments: ConversationPath.allCases)
    func anEndReasonAttributeEndsTheSessionAndDecidesDropOff(path: ConversationPath) async throws {
        try await APIHarness.with { api async throws in
            try await path.send([
                TurnSpec(id: "e1", at: 0),
                TurnSpec(id: "e2", at: minutes(2), attributes: [("session.end_reason", .string("user_exit"))]),
            ], session: "s-exit", to: api)
            try await path.send([
                TurnSpec(id: "c1", at: 0),
                TurnSpec(id: "c2", at: minutes(2), attributes: [("session.end_reason", .string("completed"))]),
            ], session: "s-done", to: api)
            let exited = try await api.session("s-exit")
            #expect(exited["status"]?.stringValue == "ended")
            #expect(exited["endReason"]?.stringValue == "user_exit")
            #expect(exited["endSource"]?.stringValue == "attribute")
            #expect(exited["endTime"]?.stringValue == Build.time(minutes(2) + 1000))
            #expect(exited["dropoff"]?["isDropoff"]?.boolValue == true)
            #expect(exited["completed"]?.boolValue == false)
            let done = try await api.session("s-done")
            #expect(done["status"]?.stringValue == "ended")
            #expect(done["dropoff"]?["isDropoff"]?.boolValue == false)
            #expect(done["completed"]?.boolValue == true)
            // Ended sessions are not swept.
            #expect(try await api.sweep(at: minutes(120)) == 0)
            let report = try await api.json("/api/public/analytics/dropoff")
            #expect(report["endedSessions"]?.intValue == 2 && report["dropoffs"]?.intValue == 1)
            #expect(report["dropoffRate"]?.doubleValue == 0.5)
        }
    }

    @Test func theEndCallIsFinalAndJudgedForDropOff() async throws {
        try await APIHarness.with { api async throws in
            try await ConversationPath.ingestion.send([TurnSpec(id: "a1", at: 0)], session: "s-api-end", to: api)
            _ = try await api.json(post: "/api/public/sessions/s-api-end/end", #"{"reason": "user_left"}"#, status: 200)
            try await ConversationPath.ingestion.send([TurnSpec(id: "a2", at: minutes(90))], session: "s-api-end", to: api)
            let session = try await api.session("s-api-end")
            #expect(session["status"]?.stringValue == "ended")
            #expect(session["endSource"]?.stringValue == "api")
            #expect(session["endReason"]?.stringValue == "user_left")
            #expect(session["dropoff"]?["isDropoff"]?.boolValue == true)
            #expect(session["resumptions"]?.intValue == 0)
        }
    }

    // MARK: Journeys

    @Test(arguments: ConversationPath.allCases)
    func aConvertedJourneyAndOneThatStalled(path: ConversationPath) async throws {
        try await APIHarness.with { api async throws in
            func stage(_ name: String, _ number: Int, converted: Bool = false) -> [(String, JSONValue)] {
                [("journey.name", .string("checkout")), ("journey.stage", .string(name)), ("journey.stage_number", JSONValue(number)),
                 ("journey.total_stages", JSONValue(3))] + (converted ? [("journey.converted", JSONValue.bool(true))] : [])
            }
            try await path.send([
                TurnSpec(id: "j1", at: 0, attributes: stage("browse", 1)),
                TurnSpec(id: "j2", at: minutes(2), attributes: stage("cart", 2)),
                TurnSpec(id: "j3", at: minutes(5), attributes: stage("pay", 3, converted: true)),
            ], session: "s-buy", to: api)
            try await path.send([
                TurnSpec(id: "k1", at: 0, attributes: stage("browse", 1)),
                TurnSpec(id: "k2", at: minutes(4), attributes: stage("cart", 2)),
            ], session: "s-stall", to: api)

            let bought = try await api.session("s-buy")
            #expect(bought["journey"]?["name"]?.stringValue == "checkout")
            #expect(bought["journey"]?["stage"]?.stringValue == "pay")
            #expect(bought["journey"]?["converted"]?.boolValue == true)
            #expect(bought["journey"]?["conversionTurn"]?.intValue == 3)
            #expect(bought["journey"]?["conversionTimeMs"]?.intValue == minutes(5))
            #expect(try await api.sweep(at: minutes(60)) == 2)
            #expect(try await api.session("s-buy")["dropoff"]?["isDropoff"]?.boolValue == false)
            #expect(try await api.session("s-stall")["dropoff"]?["isDropoff"]?.boolValue == true)

            let list = try await api.json("/api/public/analytics/journeys").data
            #expect(list.count == 1)
            #expect(list.first?["name"]?.stringValue == "checkout")
            #expect(list.first?["sessions"]?.intValue == 2 && list.first?["converted"]?.intValue == 1)

            let funnel = try await api.json("/api/public/analytics/journeys/checkout")
            #expect(funnel["sessions"]?.intValue == 2)
            #expect(funnel["conversionRate"]?.doubleValue == 0.5)
            #expect(funnel["medianConversionTurn"]?.intValue == 3)
            #expect(funnel["medianConversionTimeMs"]?.intValue == minutes(5))
            let stages = try #require(funnel["stages"]?.arrayValue)
            #expect(stages.map { $0["name"]?.stringValue } == ["browse", "cart", "pay"])
            #expect(stages.map { $0["sessionsReached"]?.intValue } == [2, 2, 1])
            #expect(stages.map { $0["conversionFromPrevious"]?.doubleValue } == [nil, 1, 0.5])
            #expect(stages.map { $0["conversionFromStart"]?.doubleValue } == [1, 1, 0.5])
            // browse lasted 2 and 4 minutes (median, lower middle: 2); cart 3 minutes for s-buy and
            // until s-stall's last activity (1 s after its start) for s-stall.
            #expect(stages[0]["medianTimeInStageMs"]?.intValue == minutes(2))
            #expect(stages[1]["medianTimeInStageMs"]?.intValue == 1000)
            _ = try await api.json("/api/public/analytics/journeys/nope", status: 404)
        }
    }

    // MARK: Context window

    @Test(arguments: ConversationPath.allCases)
    func contextUseIsSentOrDerivedFromThePeakGeneration(path: ConversationPath) async throws {
        try await APIHarness.with { api async throws in
            try await path.send([
                // Derived: peak (not sum) of 30k and 64k over gpt-4o-mini's 128k window = 50%.
                TurnSpec(id: "x1", at: 0, generationInputs: [30_000, 64_000]),
                // Sent, with pruning.
                TurnSpec(id: "x2", at: minutes(1), attributes: [
                    ("conversation.context_tokens", JSONValue(120_000)), ("conversation.context_limit", JSONValue(128_000)),
                    ("conversation.context_pruned", .bool(true)), ("conversation.context_messages_pruned", JSONValue(6))]),
                TurnSpec(id: "x3", at: minutes(2), generationInputs: [110_000]),
            ], session: "s-context", to: api)
            let session = try await api.session("s-context")
            let traces = try #require(session["traces"]?.arrayValue)
            let first = try #require(traces.first?["contextWindow"])
            #expect(first["tokens"]?.intValue == 64_000 && first["limit"]?.intValue == 128_000)
            #expect(first["percent"]?.doubleValue == 50 && first["source"]?.stringValue == "derived")
            let second = try #require(traces[1]["contextWindow"])
            #expect(second["percent"]?.doubleValue == 93.8 && second["source"]?.stringValue == "sent")
            #expect(second["pruned"]?.boolValue == true && second["messagesPruned"]?.intValue == 6)
            #expect(traces[2]["contextWindow"]?["percent"]?.doubleValue == 85.9)
            #expect(session["contextWindow"]?["maxPercent"]?.doubleValue == 93.8)
            #expect(session["contextWindow"]?["maxTokens"]?.intValue == 120_000)
            #expect(session["contextWindow"]?["firstTurnOver80Percent"]?.intValue == 2)
            let listed = try await api.json("/api/public/sessions").data.first
            #expect(listed?["contextWindow"]?["firstTurnOver80Percent"]?.intValue == 2)

            // A project override of the window recomputes the figures.
            let projectID = api.project.rowID
            _ = try await api.database.writer.write { db in
                try ProjectSettingsStore.update(
                    projectID: projectID, [("contextWindows", .object([("gpt-4o-mini", JSONValue(256_000))]))], on: db)
            }
            // Recomputed in batches (one here), as `parley projects set` does.
            var after: Int64 = 0
            while true {
                let from = after
                guard let last = try await api.database.writer.write({ db in
                    try AggregateStore.refreshSessions(ofProject: projectID, after: from, limit: 1, on: db)
                }) else { break }
                after = last
            }
            let first2 = try await api.session("s-context")["traces"]?.arrayValue?.first?["contextWindow"]
            #expect(first2?["limit"]?.intValue == 256_000 && first2?["percent"]?.doubleValue == 25)
        }
    }

    // MARK: Conversations, satisfaction, distributions

    @Test(arguments: ConversationPath.allCases)
    func theDrillDownGroupsTurnsByConversation(path: ConversationPath) async throws {
        try await APIHarness.with { api async throws in
            try await path.send([
                TurnSpec(id: "v1", at: 0, attributes: [("conversation.id", .string("billing")), ("conversation.topic", .string("invoice")),
                                                       ("turn.role", .string("user")), ("turn.input_type", .string("question"))]),
                TurnSpec(id: "v2", at: minutes(1), attributes: [("conversation.id", .string("shipping"))], generationInputs: [100]),
                TurnSpec(id: "v3", at: minutes(2), attributes: [("conversation.id", .string("billing"))]),
            ], session: "s-conv", to: api)
            let session = try await api.session("s-conv")
            #expect(session["conversationCount"]?.intValue == 2)
            let conversations = try #require(session["conversations"]?.arrayValue)
            #expect(conversations.map { $0["id"]?.stringValue } == ["billing", "shipping"])
            #expect(conversations.map { $0["turnCount"]?.intValue } == [2, 1])
            #expect(conversations[0]["topic"]?.stringValue == "invoice")
            let billing = try #require(conversations[0]["turns"]?.arrayValue)
            // Numbered within the conversation.
            #expect(billing.map { $0["turnNumber"]?.intValue } == [1, 2])
            #expect(billing[0]["role"]?.stringValue == "user" && billing[0]["inputType"]?.stringValue == "question")
            #expect(billing[0]["latencyMs"]?.intValue == 1000)
            let shipping = try #require(conversations[1]["turns"]?.arrayValue?.first)
            #expect(shipping["traceId"]?.stringValue == TurnSpec(id: "v2", at: 0).traceID)
            #expect(shipping["toolCalls"]?.intValue == 0 && shipping["agentRuns"]?.intValue == 0)
            for key in ["inputLength", "outputLength", "startTime", "turnNumberSource", "turnIssues", "contextPercent"] {
                #expect(shipping[key] != nil, "\(key)")
            }
        }
    }

    @Test func satisfactionComesFromTheSessionScoreElseTheTurnsMean() async throws {
        try await APIHarness.with { api async throws in
            try await ConversationPath.ingestion.send([TurnSpec(id: "f1", at: 0), TurnSpec(id: "f2", at: 60_000)], session: "s-sat", to: api)
            let t1 = TurnSpec(id: "f1", at: 0).traceID, t2 = TurnSpec(id: "f2", at: 0).traceID
            try await api.ingest([
                Build.score("sc1", trace: t1, name: "user_satisfaction", value: 2),
                Build.score("sc2", trace: t2, name: "user_satisfaction", value: 4),
                Build.score("sc3", trace: t2, name: "helpfulness", value: 1),
            ])
            #expect(try await api.session("s-sat")["userSatisfaction"]?.doubleValue == 3)
            try await api.ingest([Build.score("sc4", session: "s-sat", name: "CSAT", value: 5)])
            #expect(try await api.session("s-sat")["userSatisfaction"]?.doubleValue == 5)
        }
    }

    @Test func distributionsOfTheFilteredSessions() async throws {
        try await APIHarness.with { api async throws in
            for (index, turns) in [1, 2, 3, 10].enumerated() {
                try await ConversationPath.ingestion.send((0..<turns).map { TurnSpec(id: "s\(index)t\($0)", at: Int64($0) * 60_000) },
                                                          session: "s-dist-\(index)", to: api)
            }
            let all = try await api.json("/api/public/analytics/sessions")
            #expect(all["count"]?.intValue == 4)
            let turns = try #require(all["turns"])
            #expect(turns["p50"]?.doubleValue == 2 && turns["p90"]?.doubleValue == 10 && turns["p99"]?.doubleValue == 10)
            #expect(turns["min"]?.doubleValue == 1 && turns["max"]?.doubleValue == 10 && turns["mean"]?.doubleValue == 4)
            // Duration: (n − 1) minutes plus the last turn's 1 s.
            #expect(all["durationMs"]?["p50"]?.doubleValue == Double(minutes(1) + 1000))
            #expect(all["turnLatencyMs"]?["p50"]?.doubleValue == 1000)
            #expect(all["userSatisfaction"]?["count"]?.intValue == 0 && all["userSatisfaction"]?["p50"] == .null)
            let filtered = try await api.json("/api/public/analytics/sessions?minTurns=3")
            #expect(filtered["count"]?.intValue == 2 && filtered["turns"]?["p50"]?.doubleValue == 3)
            try expectBadRequest(await api.get("/api/public/analytics/sessions?status=gone"), "status")
            try expectBadRequest(await api.get("/api/public/analytics/dropoff?groupBy=mood"), "groupBy")
        }
    }
}
