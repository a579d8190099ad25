import API
import Foundation
import Model
import Storage
import Testing
import TestSupport
import Transport

/// Valid but extreme values through the API (issue #17): each well-formed request is answered
/// with a 4xx or stored harmlessly, and the server keeps serving: ingestion, reads, the
/// sweepers and a restart on the same database. scripts/reliability/check_extreme.py sends the
/// same kinds of request to a live server under a memory cap.
@Suite("Extreme values through the API")
struct ExtremeValueAPITests {
    static func trace(_ id: String, session: String, metadata: String) -> String {
        #"{"batch": [{"id": "e-\#(id)", "type": "trace-create", "timestamp": "2026-03-02T09:00:00Z", "#
            + #""body": {"id": "\#(id)", "sessionId": "\#(session)", "metadata": \#(metadata)}}]}"#
    }

    // MARK: The issue's two reproductions

    @Test func aTurnNumberOfAHundredMillionIsAnsweredAndItsGapsCounted() async throws {
        try await APIHarness.with { api in
            // Today's main never answered this batch, and every later write waited behind it.
            try await api.ingest(batch: Self.trace("t-huge", session: "s-huge", metadata: #"{"turn.number": 100000000}"#))
            let session = try await api.session("s-huge")
            #expect(session["turnIssues"]?["gaps"]?.arrayValue?.count == ValueBounds.listedTurnGaps)
            #expect(session["turnIssues"]?["gapCount"]?.intValue == 99_999_999)
            #expect(session["traces"]?.arrayValue?.first?["turnNumber"]?.intValue == 100_000_000)
            // A normal write right after it is acknowledged.
            try await api.ingest(Build.turn("t-next", session: "s-next", number: 1, at: 0))
        }
    }

    @Test(arguments: ["9223372036854775807", "-9223372036854775808", "\"9223372036854775807\"", "1e308", "-1"])
    func aTurnNumberPastTheBoundIsKeptInMetadataAndNumberedAsMissing(number: String) async throws {
        try await APIHarness.with { api in
            // Int64.max grew the process to 24 GB on today's main; Int64.min trapped.
            try await api.ingest(batch: Self.trace("t-x", session: "s-x", metadata: #"{"turn.number": \#(number)}"#))
            let session = try await api.session("s-x")
            let turn = try #require(session["traces"]?.arrayValue?.first)
            #expect(turn["turnNumber"]?.intValue == 1)
            #expect(turn["turnNumberSource"]?.stringValue == "derived")
            #expect(turn["metadata"]?["turn.number"] != nil)
        }
    }

    @Test func retentionAndTimeoutPastTheirBoundsAreRefused() async throws {
        try await APIHarness.with { api in
            let path = "/api/public/projects/\(api.project.publicID)/settings"
            // Today's main answered 200, then trapped in the retention sweeper at every start.
            for body in [#"{"retentionDays": 9223372036854775807}"#, #"{"retentionDays": 36501}"#,
                         #"{"inactivityTimeoutSeconds": 9223372036854775807}"#, #"{"inactivityTimeoutSeconds": 1e300}"#,
                         #"{"contextWindows": {"m": 9223372036854775807}}"#] {
                try expectBadRequest(await api.patch(path, json: body), body)
            }
            let settings = try await api.json(path)["settings"]
            #expect(settings == .object([]))
            let accepted = await api.patch(path, json: #"{"retentionDays": 36500, "inactivityTimeoutSeconds": 31536000}"#)
            #expect(accepted.status == 200)
            #expect(try accepted.json()["settings"]?["retentionDays"]?.intValue == 36_500)
        }
    }

    /// A value stored before the bounds existed must not stop the sweepers (which run at every
    /// start) nor the reads.
    @Test func storedSettingsPastTheirBoundsDoNotStopTheSweepers() async throws {
        try await APIHarness.with { api in
            try await api.ingest(Build.turn("t-old", session: "s-old", number: 1, at: 0))
            let projectID = api.project.rowID
            try await api.database.writer.write { db in
                try db.statement("UPDATE projects SET settings = ? WHERE id = ?").run([
                    .text(#"{"retentionDays": 9223372036854775807, "inactivityTimeoutSeconds": 9223372036854775807}"#),
                    .integer(projectID),
                ])
            }
            let now = Build.base + 1000 * 86_400_000
            let retention = RetentionSweeper(database: api.database, defaultDays: 1, logger: .test) { now }
            #expect(try await retention.sweep(now: now) == 0)
            // The stored timeout counts as a year: within it the session stays, past it it times out.
            #expect(try await api.sweep(at: 300 * 86_400_000) == 0)
            #expect(try await api.sweep(at: 1000 * 86_400_000) == 1)
            #expect(try api.test.count("traces") == 1)
            let settings = try await api.json("/api/public/projects/\(api.project.publicID)/settings")
            #expect(settings["effective"]?["retentionDays"]?.intValue == ValueBounds.retentionDays.upperBound)
        }
    }

    @Test func aProjectWhoseRetentionFailsIsSkippedAndTheOthersGoOn() async throws {
        try await APIHarness.with { api in
            _ = try await KeyService.create(projectName: "other", publicKey: "pk-lf-other", secretKey: "sk-lf-other", database: api.database)
            let other = "Basic " + Data("pk-lf-other:sk-lf-other".utf8).base64EncodedString()
            try await api.ingest(Build.turn("t-a", session: "s-a", at: 0))
            let response = await api.post("/api/public/ingestion", json: Build.batch(Build.turn("t-b", session: "s-b", at: 0)),
                                          authorization: other)
            #expect(response.status == 207)
            #expect(try IngestionResult(response).errors.isEmpty)
            let projectID = api.project.rowID
            try await api.database.writer.write { db in
                // The capture project's traces cannot be deleted: its retention step fails.
                try db.execute("""
                    CREATE TRIGGER refuse_capture BEFORE DELETE ON traces WHEN OLD.project_id = \(projectID)
                    BEGIN SELECT RAISE(ABORT, 'refused by the test'); END
                    """)
            }
            let now = Build.base + 10 * 86_400_000
            let retention = RetentionSweeper(database: api.database, defaultDays: 1, logger: .test) { now }
            let deleted = try await retention.sweep(now: now)
            #expect(deleted >= 1)
            #expect(try api.test.count("traces", where: "trace_id = 't-a'") == 1)
            #expect(try api.test.count("traces", where: "trace_id = 't-b'") == 0)
        }
    }

    // MARK: Sums

    @Test func tokenSumsSaturateInsteadOfFailingTheTrace() async throws {
        try await APIHarness.with { api in
            try await api.ingest(Build.turn("t-sum", session: "s-sum", at: 0))
            // A count stored before the bounds existed: SQLite's sum() raised "integer overflow"
            // on today's main, and every later write to the trace failed.
            try await api.database.writer.write { db in
                try db.execute("UPDATE observations SET input_tokens = 9223372036854775807 WHERE observation_id = 't-sum-llm'")
            }
            try await api.ingest([Build.observation("generation", "t-sum-llm2", trace: "t-sum", name: "again", start: 5,
                                                    end: 6, usage: (10, 1))])
            #expect(try api.test.count("traces", where: "trace_id = 't-sum' AND input_tokens = 9223372036854775807") == 1)
            let session = try await api.session("s-sum")
            #expect(session["inputTokens"]?.intValue == .max)
            #expect(try await api.json("/api/public/traces/t-sum")["id"]?.stringValue == "t-sum")
        }
    }

    // MARK: Usage, cost, scores and timestamps in batches

    @Test func numbersPastTheirBoundsAreAPerEventBadRequest() async throws {
        try await APIHarness.with { api in
            let events = [
                #"{"id": "cost", "type": "generation-create", "timestamp": "2026-03-02T09:00:00Z", "body": {"id": "g1", "costDetails": {"total": 1e300}}}"#,
                #"{"id": "legacy-cost", "type": "generation-create", "timestamp": "2026-03-02T09:00:00Z", "body": {"id": "g2", "usage": {"totalCost": 1000000001}}}"#,
                #"{"id": "score", "type": "score-create", "timestamp": "2026-03-02T09:00:00Z", "body": {"traceId": "t", "name": "n", "value": 1e300}}"#,
                #"{"id": "before-0000", "type": "trace-create", "timestamp": "0000-01-01T00:00:00+00:01", "body": {"id": "t1"}}"#,
                #"{"id": "after-9999", "type": "trace-create", "timestamp": "2026-03-02T09:00:00Z", "body": {"id": "t2", "timestamp": "9999-12-31T23:59:59-00:01"}}"#,
                #"{"id": "ok", "type": "trace-create", "timestamp": "0000-01-01T00:00:00Z", "body": {"id": "t-first", "timestamp": "0000-01-01T00:00:00Z"}}"#,
            ]
            let response = await api.post("/api/public/ingestion", json: #"{"batch": [\#(events.joined(separator: ","))]}"#)
            #expect(response.status == 207)
            let result = try IngestionResult(response)
            #expect(Set(result.errors.map(\.id)) == ["cost", "legacy-cost", "score", "before-0000", "after-9999"])
            #expect(result.errors.allSatisfy { $0.status == 400 })
            #expect(result.successIDs == ["ok"])
            // The first instant reads back as it was sent.
            #expect(try await api.json("/api/public/traces/t-first")["timestamp"]?.stringValue == "0000-01-01T00:00:00.000Z")
        }
    }

    @Test func scoresAtTheBoundAreStoredAndAveraged() async throws {
        try await APIHarness.with { api in
            try await api.ingest(Build.turn("t-s", session: "s-s", at: 0))
            try await api.ingest([Build.score("sc1", trace: "t-s", name: "user_satisfaction", value: 1e15),
                                  Build.score("sc2", trace: "t-s", name: "user_satisfaction", value: -1e15)])
            let rejected = await api.post("/api/public/scores", json: #"{"traceId": "t-s", "name": "n", "value": -1.5e15}"#)
            try expectBadRequest(rejected, "score past the bound")
            #expect(try await api.session("s-s")["userSatisfaction"]?.doubleValue == 0)
        }
    }

    // MARK: Session calls and OTLP

    @Test func sessionCallsAtTheEndsOfTheCalendarAreStored() async throws {
        try await APIHarness.with { api in
            _ = try await api.json(post: "/api/public/sessions", #"{"id": "s-cal", "startTime": "0000-01-01T00:00:00Z"}"#, status: 201)
            _ = try await api.json(post: "/api/public/sessions/s-cal/end", #"{"endTime": "9999-12-31T23:59:59.999Z"}"#, status: 200)
            try expectBadRequest(await api.post("/api/public/sessions/s-cal/end", json: #"{"endTime": "9999-12-31T23:59:59-01:00"}"#),
                                 "end after 9999")
            let session = try await api.session("s-cal")
            #expect(session["endTime"]?.stringValue == "9999-12-31T23:59:59.999Z")
        }
    }

    @Test func otlpSpansWithExtremeTimesAndNumbersAreStored() async throws {
        try await APIHarness.with { api in
            func attribute(_ key: String, _ value: String) -> String { #"{"key": "\#(key)", "value": \#(value)}"# }
            let attributes = [
                attribute("session.id", #"{"stringValue": "s-otlp"}"#),
                attribute("turn.number", #"{"intValue": "-9223372036854775808"}"#),
                attribute("gen_ai.usage.input_tokens", #"{"intValue": "9223372036854775807"}"#),
                attribute("gen_ai.usage.output_tokens", #"{"intValue": "1000000000000"}"#),
                attribute("gen_ai.usage.cost", #"{"doubleValue": 1.7976931348623157e308}"#),
                attribute("context.window_pct", #"{"doubleValue": 1e300}"#),
            ].joined(separator: ", ")
            let body = """
                {"resourceSpans": [{"scopeSpans": [{"spans": [
                  {"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331", "name": "late",
                   "startTimeUnixNano": "18446744073709551615", "endTimeUnixNano": "0", "attributes": [\(attributes)]},
                  {"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203332", "name": "early",
                   "parentSpanId": "b7ad6b7169203331", "startTimeUnixNano": "1", "endTimeUnixNano": "18446744073709551615",
                   "attributes": [\(attributes)]}]}]}]}
                """
            let response = await api.post("/api/public/otel/v1/traces", json: body)
            #expect(response.status == 200, "\(response.text)")
            let session = try await api.session("s-otlp")
            #expect(session["traces"]?.arrayValue?.first?["turnNumber"]?.intValue == 1)
            #expect(session["totalCost"]?.doubleValue == 0)
            #expect(await api.get("/api/public/traces/0af7651916cd43dd8448eb211c80319c").status == 200)
            #expect(await api.get("/api/public/observations?traceId=0af7651916cd43dd8448eb211c80319c").status == 200)
        }
    }

    @Test func sessionIDsFollowTheBatchRulesOnEveryPath() async throws {
        try await APIHarness.with { api in
            let long = String(repeating: "s", count: 801)
            try expectBadRequest(await api.post("/api/public/sessions", json: #"{"id": "\#(long)"}"#), "801 characters")
            try expectBadRequest(await api.post("/api/public/sessions", json: #"{"id": "a\u0000b"}"#), "NUL in the id")
            try expectBadRequest(await api.post("/api/public/sessions", json: #"{"id": "ok", "userId": "u\u0000"}"#), "NUL in the user id")
            #expect(try api.test.count("sessions") == 0)
            let spans = [("b7ad6b7169203331", long), ("b7ad6b7169203332", "fine")].map { span, session in
                """
                {"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "\(span)", "name": "n",
                 "startTimeUnixNano": "1", "endTimeUnixNano": "2",
                 "attributes": [{"key": "session.id", "value": {"stringValue": "\(session)"}}]}
                """
            }
            let response = await api.post("/api/public/otel/v1/traces", json: """
                {"resourceSpans": [{"scopeSpans": [{"spans": [\(spans.joined(separator: ","))]}]}]}
                """)
            #expect(response.status == 200)
            let answer = try response.json()
            #expect(answer["partialSuccess"]?["rejectedSpans"]?.stringValue == "1")
            #expect(answer["partialSuccess"]?["errorMessage"]?.stringValue?.contains("800 characters") == true)
            #expect(try api.test.count("sessions") == 1)
        }
    }

    // MARK: Query parameters

    @Test func extremeQueryParametersAreBadRequests() async throws {
        try await APIHarness.with { api in
            let environments = (0...100).map { "environment=e\($0)" }.joined(separator: "&")
            let metadata = (0...20).map { "metadata[k\($0)]=v" }.joined(separator: "&")
            for path in [
                "/api/public/sessions?page=99999999999999999999", "/api/public/sessions?limit=-1",
                "/api/public/sessions?page=1000001", "/api/public/sessions?fromTimestamp=0000-01-01T00:00:00%2B01:00",
                "/api/public/sessions?minTurns=-9223372036854775808", "/api/public/sessions?\(environments)",
                "/api/public/sessions?\(metadata)", "/api/public/v2/scores?valueMin=nan", "/api/public/v2/scores?valueMax=inf",
                "/api/public/v2/scores?valueMin=1e999", "/api/public/v2/observations?limit=9223372036854775807",
            ] {
                try expectBadRequest(await api.get(path), path)
            }
            for path in [
                "/api/public/sessions?page=1000000&limit=100", "/api/public/sessions?minTurns=9223372036854775807",
                "/api/public/sessions?fromTimestamp=0000-01-01T00:00:00Z&toTimestamp=9999-12-31T23:59:59.999999Z",
                "/api/public/v2/scores?valueMin=-1.7976931348623157e308", "/api/public/traces?fromTimestamp=9999-12-31T23:59:59Z",
                "/api/public/analytics/sessions?minTurns=9223372036854775807",
                "/api/public/v2/observations?cursor=" + Data("9223372036854775807:-9223372036854775808".utf8).base64EncodedString(),
            ] {
                let response = await api.get(path)
                #expect(response.status == 200, "\(path): \(response.status) \(response.text.prefix(200))")
            }
        }
    }
}
