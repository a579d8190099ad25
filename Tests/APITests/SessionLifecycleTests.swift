import API
import Model
import Storage
import Testing
import TestSupport
import Transport

/// The native session calls: `POST /api/public/sessions` (operationId `sessionCreate`),
/// `POST /api/public/sessions/{id}/end` (`sessionEnd`) and `POST /api/public/traces`
/// (`traceCreate`), read back through `sessionGet` (issue #4 §1; langfuse-api.md §1.1, §1.2).
@Suite("Session lifecycle")
struct SessionLifecycleTests {
    static let fullBody = """
        {"id": "s-life-1", "userId": "u-7", "type": "chat", "channel": "web", "clientVersion": "2.3.1",
         "locale": "en-GB", "userTier": "pro", "orgId": "org-9", "metadata": {"experiment": "b", "n": 2},
         "startTime": "2026-03-02T09:00:00.250+01:00"}
        """

    @Test func createAnswers201WithTheIDAndEveryFieldReadsBack() async throws {
        try await APIHarness.with { api async throws in
            let created = try await api.json(post: "/api/public/sessions", Self.fullBody, status: 201)
            #expect(created == .object([("id", .string("s-life-1"))]))

            let session = try await api.json("/api/public/sessions/s-life-1")
            #expect(Array(session.keys.prefix(4)) == ReadFixtures.sessionKeys)
            #expect(session["id"]?.stringValue == "s-life-1")
            #expect(session["projectId"]?.stringValue == api.project.publicID)
            #expect(session["environment"]?.stringValue == "default")
            #expect(session["userId"]?.stringValue == "u-7")
            #expect(session["type"]?.stringValue == "chat")
            #expect(session["channel"]?.stringValue == "web")
            #expect(session["clientVersion"]?.stringValue == "2.3.1")
            #expect(session["locale"]?.stringValue == "en-GB")
            #expect(session["userTier"]?.stringValue == "pro")
            #expect(session["orgId"]?.stringValue == "org-9")
            #expect(session["metadata"] == .object([("experiment", .string("b")), ("n", JSONValue(2))]))
            // The offset is applied: 09:00:00.250+01:00 is 08:00:00.250Z.
            #expect(session["startTime"]?.stringValue == "2026-03-02T08:00:00.250Z")
            #expect(session["status"]?.stringValue == "active")
            #expect(session["endReason"]?.isNull == true)
            #expect(session["endTime"]?.isNull == true)
            #expect(session["turnCount"]?.intValue == 0)
            #expect(session["totalCost"]?.doubleValue == 0)
            #expect(session["meanTurnLatencyMs"]?.isNull == true)
            #expect(session["traces"] == .array([]))
            #expect(session["sessionScores"] == .array([]))
            #expect(session["createdAt"]?.stringValue.flatMap(Timestamp.parseMicros) != nil)

            let listed = try await api.json("/api/public/sessions?userId=u-7").data
            #expect(listed.map { $0["id"]?.stringValue } == ["s-life-1"])
            #expect(listed.first?["orgId"]?.stringValue == "org-9")
        }
    }

    @Test func createWithoutAnIDGeneratesOne() async throws {
        try await APIHarness.with { api async throws in
            for body in ["{}", #"{"id": null, "channel": "api"}"#] {
                let created = try await api.json(post: "/api/public/sessions", body, status: 201)
                let id = try #require(created["id"]?.stringValue)
                #expect(!id.isEmpty)
                #expect(try await api.json("/api/public/sessions/\(id)")["id"]?.stringValue == id)
            }
            #expect(try api.test.count("sessions") == 2)
        }
    }

    @Test func rePostingTheSameSessionChangesNothingButTheUpdateTime() async throws {
        try await APIHarness.with { api async throws in
            _ = try await api.json(post: "/api/public/sessions", Self.fullBody, status: 201)
            // `settle_version` counts settles (every session call is settled), not content.
            let before = try api.test.rows(of: "sessions", excluding: ["updated_at", "settle_version"])
            #expect(try await api.json(post: "/api/public/sessions", Self.fullBody, status: 201)["id"]?.stringValue == "s-life-1")
            #expect(try api.test.rows(of: "sessions", excluding: ["updated_at", "settle_version"]) == before)
        }
    }

    @Test func rePostingWithFewerFieldsKeepsTheOthers() async throws {
        try await APIHarness.with { api async throws in
            _ = try await api.json(post: "/api/public/sessions", Self.fullBody, status: 201)
            _ = try await api.json(post: "/api/public/sessions", #"{"id": "s-life-1", "channel": "voice"}"#, status: 201)
            let session = try await api.json("/api/public/sessions/s-life-1")
            #expect(session["channel"]?.stringValue == "voice")
            #expect(session["userId"]?.stringValue == "u-7")
            #expect(session["userTier"]?.stringValue == "pro")
            #expect(session["metadata"]?["experiment"]?.stringValue == "b")
            #expect(try api.test.count("sessions") == 1)
        }
    }

    @Test(arguments: [
        (#"{"id": "s-bad", "type": "voice"}"#, "type outside chat|api|batch"),
        (#"{"id": "s-bad", "type": 1}"#, "type not a string"),
        (#"{"id": "s-bad", "metadata": "plain text"}"#, "metadata a string"),
        (#"{"id": "s-bad", "metadata": [1, 2]}"#, "metadata an array"),
        (#"{"id": "s-bad", "startTime": "2026-03-02T09:00:00"}"#, "naive startTime"),
        (#"{"id": "s-bad", "startTime": "yesterday"}"#, "startTime not a datetime"),
        (#"{"id": "s-bad", "userId": 42}"#, "userId a number"),
        (#"{"id": ""}"#, "empty id"),
        (#"{"id": 7}"#, "id a number"),
        (#"["s-bad"]"#, "body an array"),
        ("not json", "body not JSON"),
    ])
    func invalidCreateIs400AndStoresNothing(body: String, what: String) async throws {
        try await APIHarness.with { api async throws in
            try expectBadRequest(await api.post("/api/public/sessions", json: body), what)
            #expect(try api.test.count("sessions") == 0, "\(what)")
        }
    }

    @Test func endSetsStatusReasonAndEndTime() async throws {
        try await APIHarness.with { api async throws in
            _ = try await api.json(post: "/api/public/sessions", Self.fullBody, status: 201)
            let ended = try await api.json(
                post: "/api/public/sessions/s-life-1/end", #"{"reason": "user_exit", "endTime": "2026-03-02T09:30:00Z"}"#, status: 200)
            #expect(ended["id"]?.stringValue == "s-life-1")
            #expect(ended["status"]?.stringValue == "ended")
            let session = try await api.json("/api/public/sessions/s-life-1")
            #expect(session["status"]?.stringValue == "ended")
            #expect(session["endReason"]?.stringValue == "user_exit")
            #expect(session["endTime"]?.stringValue == "2026-03-02T09:30:00.000Z")
            #expect(try await api.ids("/api/public/sessions?status=ended") == ["s-life-1"])
            #expect(try await api.ids("/api/public/sessions?status=active").isEmpty)
        }
    }

    @Test func endingTwiceKeepsTheFirstEnd() async throws {
        try await APIHarness.with { api async throws in
            _ = try await api.json(post: "/api/public/sessions", #"{"id": "s-twice"}"#, status: 201)
            _ = try await api.json(
                post: "/api/public/sessions/s-twice/end", #"{"reason": "user_exit", "endTime": "2026-03-02T09:30:00Z"}"#, status: 200)
            let again = try await api.json(
                post: "/api/public/sessions/s-twice/end", #"{"reason": "timeout", "endTime": "2026-03-02T10:00:00Z"}"#, status: 200)
            #expect(again["endReason"]?.stringValue == "user_exit")
            #expect(again["endTime"]?.stringValue == "2026-03-02T09:30:00.000Z")
            #expect(again["status"]?.stringValue == "ended")
        }
    }

    @Test func endWithoutABodyEndsNow() async throws {
        try await APIHarness.with { api async throws in
            _ = try await api.json(post: "/api/public/sessions", #"{"id": "s-now"}"#, status: 201)
            let ended = try await api.json(post: "/api/public/sessions/s-now/end", "", status: 200)
            #expect(ended["status"]?.stringValue == "ended")
            #expect(ended["endReason"]?.isNull == true)
            let endTime = try #require(ended["endTime"]?.stringValue.flatMap(Timestamp.parseMicros))
            let created = try #require(ended["createdAt"]?.stringValue.flatMap(Timestamp.parseMicros))
            #expect(endTime >= created)
        }
    }

    @Test(arguments: [#"{"endTime": "2026-03-02T09:30:00"}"#, #"{"reason": 5}"#, "[]"])
    func invalidEndIs400(body: String) async throws {
        try await APIHarness.with { api async throws in
            _ = try await api.json(post: "/api/public/sessions", #"{"id": "s-end-bad"}"#, status: 201)
            try expectBadRequest(await api.post("/api/public/sessions/s-end-bad/end", json: body), body)
            #expect(try await api.json("/api/public/sessions/s-end-bad")["status"]?.stringValue == "active")
        }
    }

    @Test func endingAnUnknownSessionIsLangfuses404() async throws {
        try await APIHarness.with { api async throws in
            try expectNotFound(await api.post("/api/public/sessions/no-such-session/end", json: "{}"),
                               message: "Session not found within authorized project")
            #expect(try api.test.count("sessions") == 0)
        }
    }

    @Test func aTraceNamingASessionCreatesIt() async throws {
        try await APIHarness.with { api async throws in
            let created = try await api.json(
                post: "/api/public/traces",
                #"{"id": "t-native", "name": "chat-turn", "sessionId": "s-from-trace", "userId": "u-1", "environment": "staging", "metadata": {"turn_number": 1}}"#,
                status: 200)
            #expect(created == .object([("id", .string("t-native"))]))
            let session = try await api.json("/api/public/sessions/s-from-trace")
            #expect(session["userId"]?.stringValue == "u-1")
            #expect(session["environment"]?.stringValue == "staging")
            #expect(session["turnCount"]?.intValue == 1)
            #expect(session["traces"]?.arrayValue?.map { $0["id"]?.stringValue } == ["t-native"])
            #expect(session["traces"]?.arrayValue?.first?["turnNumber"]?.intValue == 1)
        }
    }

    @Test func traceCreateGeneratesAnIDAndRePostingChangesNothing() async throws {
        try await APIHarness.with { api async throws in
            let generated = try await api.json(post: "/api/public/traces", #"{"name": "no-id"}"#, status: 200)
            let id = try #require(generated["id"]?.stringValue)
            #expect(try await api.json("/api/public/traces/\(id)")["name"]?.stringValue == "no-id")

            let body = #"{"id": "t-same", "name": "again", "sessionId": "s-same", "timestamp": "2026-03-02T09:00:00Z"}"#
            _ = try await api.json(post: "/api/public/traces", body, status: 200)
            let before = try api.test.dump(tables: TestDatabase.ingestionTables)
            _ = try await api.json(post: "/api/public/traces", body, status: 200)
            #expect(try api.test.dump(tables: TestDatabase.ingestionTables) == before)
        }
    }

    @Test(arguments: [#"{"id": 5}"#, #"{"id": "t", "timestamp": "2026-03-02T09:00:00"}"#, #"{"id": "t", "tags": "x"}"#, "[]"])
    func invalidTraceCreateIs400(body: String) async throws {
        try await APIHarness.with { api async throws in
            try expectBadRequest(await api.post("/api/public/traces", json: body), body)
            #expect(try api.test.count("traces") == 0)
        }
    }

    @Test func sessionScoreSentBeforeTheSessionIsSummarisedOnceItIsCreated() async throws {
        try await APIHarness.with { api async throws in
            _ = try await api.json(post: "/api/public/scores", #"{"id": "early", "sessionId": "s-later", "name": "csat", "value": 4}"#, status: 200)
            _ = try await api.json(post: "/api/public/sessions", #"{"id": "s-later", "channel": "web"}"#, status: 201)
            let session = try await api.json("/api/public/sessions/s-later")
            #expect(session["sessionScores"]?.arrayValue?.map { $0["id"]?.stringValue } == ["early"])
            #expect(session["scores"] == .object([("csat", .object([("count", JSONValue(1)), ("mean", JSONValue(4))]))]))
        }
    }

    @Test func sessionScoreSentBeforeTheFirstTraceIsSummarisedOnceTheTraceArrives() async throws {
        try await APIHarness.with { api async throws in
            try await api.ingest([Build.score("early", session: "s-later", name: "csat", value: 4)])
            try await api.ingest(Build.turn("t-later", session: "s-later", number: 1, at: 0))
            let session = try await api.json("/api/public/sessions/s-later")
            #expect(session["scores"]?["csat"]?["count"]?.intValue == 1)
            #expect(session["turnCount"]?.intValue == 1)
        }
    }

    @Test func movingATraceToAnotherSessionUpdatesBoth() async throws {
        try await APIHarness.with { api async throws in
            try await api.ingest(Build.turn("t-move", session: "s-from", user: "u-1", number: 1, at: 0, tags: ["moved"]))
            try await api.ingest(Build.turn("t-stay", session: "s-from", user: "u-1", number: 2, at: 5000))
            try await api.ingest([Build.envelope("trace-create", .object([("id", .string("t-move")), ("sessionId", .string("s-to"))]), at: 10_000)])
            let from = try await api.json("/api/public/sessions/s-from")
            #expect(from["traces"]?.arrayValue?.map { $0["id"]?.stringValue } == ["t-stay"])
            #expect(from["turnCount"]?.intValue == 1)
            #expect(from["observationCount"]?.intValue == 3)
            #expect(from["tags"] == .array([]))
            let to = try await api.json("/api/public/sessions/s-to")
            #expect(to["traces"]?.arrayValue?.map { $0["id"]?.stringValue } == ["t-move"])
            #expect(to["turnCount"]?.intValue == 1)
            #expect(to["observationCount"]?.intValue == 3)
            #expect(to["tags"] == Build.strings(["moved"]))
        }
    }

    @Test func nativeFieldsSurviveTheSessionsTraces() async throws {
        try await APIHarness.with { api async throws in
            _ = try await api.json(
                post: "/api/public/sessions", #"{"id": "s-native", "userId": "u-native", "channel": "voice", "environment": "production"}"#,
                status: 201)
            try await api.ingest(Build.turn("t-n1", session: "s-native", user: "u-other", number: 1, at: 0,
                                            metadata: [("channel", .string("web"))], environment: "staging"))
            let session = try await api.json("/api/public/sessions/s-native")
            #expect(session["userId"]?.stringValue == "u-native")
            #expect(session["channel"]?.stringValue == "voice")
            #expect(session["environment"]?.stringValue == "production")
            #expect(session["turnCount"]?.intValue == 1)
        }
    }

    @Test func nativeSessionWithoutEnvironmentTakesItsTracesEnvironment() async throws {
        try await APIHarness.with { api async throws in
            _ = try await api.json(post: "/api/public/sessions", #"{"id": "env-s"}"#, status: 201)
            _ = try await api.json(post: "/api/public/traces",
                                   #"{"id": "env-t", "sessionId": "env-s", "environment": "production"}"#, status: 200)
            let session = try await api.json("/api/public/sessions/env-s")
            #expect(session["environment"]?.stringValue == "production")
            // An environment given explicitly is kept.
            _ = try await api.json(post: "/api/public/sessions", #"{"id": "env-x", "environment": "staging"}"#, status: 201)
            _ = try await api.json(post: "/api/public/traces",
                                   #"{"id": "env-u", "sessionId": "env-x", "environment": "production"}"#, status: 200)
            #expect(try await api.json("/api/public/sessions/env-x")["environment"]?.stringValue == "staging")
        }
    }
}
