import API
import Model
import Storage
import Testing
import TestSupport
import Transport

/// Score writes: `score-create` through `/api/public/ingestion` (SDK 4.x) and `POST
/// /api/public/scores` (operationId `scoreCreate`) with a single object or an SDK 5.x array
/// (langfuse-api.md §3.3, §6.3).
@Suite("Score writes")
struct ScoreWriteTests {
    /// The stored score `id` as `name|value|data_type|trace_id|comment|environment|timestamp`, or nil.
    static func score(_ id: String, in api: APIHarness) throws -> String? {
        try api.database.readBlocking { db in
            var found: String?
            try db.statement("""
                SELECT name || '|' || value || '|' || data_type || '|' || coalesce(trace_id, '-') || '|'
                    || coalesce(comment, '-') || '|' || environment || '|' || timestamp
                FROM scores WHERE project_id = ? AND score_id = ?
                """).query([.integer(api.project.rowID), .text(id)]) { found = $0.text(0) }
            return found
        }
    }

    static func millis(_ text: String) throws -> Int64 {
        try #require(Timestamp.parseMicros(text)) / 1000
    }

    @Test func sdk4ScoreCreateEventIsStoredWithItsEnvelopeTime() async throws {
        try await APIHarness.with { api async throws in
            let response = try await api.send(fixture: "langfuse-python-4.18.0/ingestion-score-create")
            #expect(response.status == 207)
            let result = try IngestionResult(response)
            #expect(result.successes == [.init(id: "c3bf7990ec8531288e67bc87120fe993", status: 201, message: nil, error: nil)])
            #expect(result.errors.isEmpty)
            let time = try Self.millis("2026-11-24T21:59:03.022255Z")
            #expect(try Self.score("c78ff9c3a589486e", in: api)
                == "user-feedback|1.0|NUMERIC|466360f95ac1316201087d2c535742b5|thumbs up|production|\(time)")
        }
    }

    @Test func sdk5ScoreArrayIsAcceptedWith202AndStoredAtItsTimestamp() async throws {
        try await APIHarness.with { api async throws in
            let captured = try SDKFixtures.request("langfuse-python-5.0.4/scores-batch-1")
            #expect(captured.capturedStatus == 202)
            let response = await api.send(captured)
            #expect(response.status == 202)
            #expect(try response.json() == JSONValue.object([("message", .string("Accepted"))]))
            let time = try Self.millis("2026-11-24T21:58:48.539588Z")
            #expect(try Self.score("543de03fbe2eb348", in: api)
                == "user-feedback|1.0|NUMERIC|0093d1e632360c2a695f1e33bccd02b9|thumbs up|production|\(time)")
        }
    }

    @Test func resendingTheSameScoreArrayChangesNothing() async throws {
        try await APIHarness.with { api async throws in
            let captured = try SDKFixtures.request("langfuse-python-5.0.4/scores-batch-1")
            #expect(await api.send(captured).status == 202)
            let before = try api.test.dump()
            #expect(await api.send(captured).status == 202)
            #expect(try api.test.dump() == before)
        }
    }

    @Test func resendingAScoreWithTheSameIDAndTimestampButNewValuesUpdatesIt() async throws {
        try await APIHarness.with { api async throws in
            func body(_ value: Double, _ comment: String) -> [UInt8] {
                Array("""
                    [{"id":"upd-1","traceId":"t-upd","name":"quality","value":\(value),"comment":"\(comment)",
                      "timestamp":"2026-11-24T10:00:00.000Z"}]
                    """.utf8)
            }
            #expect(await api.post("/api/public/scores", body: body(0.2, "first")).status == 202)
            #expect(await api.post("/api/public/scores", body: body(0.9, "second")).status == 202)
            let time = try Self.millis("2026-11-24T10:00:00.000Z")
            #expect(try Self.score("upd-1", in: api) == "quality|0.9|NUMERIC|t-upd|second|default|\(time)")
        }
    }

    @Test func evalSourceIsRejectedOnTheScoresEndpoint() async throws {
        try await APIHarness.with { api async throws in
            let response = await api.post("/api/public/scores", body: Array("""
                {"traceId":"t1","name":"n","value":1,"source":"EVAL"}
                """.utf8))
            #expect(response.status == 400)
        }
    }

    @Test func singleScoreObjectAnswers200WithItsID() async throws {
        try await APIHarness.with { api async throws in
            let captured = try SDKFixtures.request("opentelemetry-python-1.45.2/score-create-single")
            let response = await api.send(captured)
            #expect(response.status == 200)
            #expect(try response.json() == JSONValue.object([("id", .string("beeebcac-7523-4529-afb0-ab3c7f3da726"))]))
            let stored = try #require(try Self.score("beeebcac-7523-4529-afb0-ab3c7f3da726", in: api))
            #expect(stored.hasPrefix("user-feedback|1.0|NUMERIC|ee8771f0fb8a731e9f9c1f6f7ac95436|thumbs up|production|"))
        }
    }

    @Test func singleScoreWithoutIDGetsAGeneratedOne() async throws {
        try await APIHarness.with { api async throws in
            for body in [#"{"traceId":"t","name":"n","value":0.5}"#, #"{"id":"","traceId":"t","name":"n","value":0.5}"#] {
                let response = await api.post("/api/public/scores", json: body)
                #expect(response.status == 200)
                let id = try #require(try response.json()["id"]?.stringValue)
                #expect(!id.isEmpty)
                #expect(try Self.score(id, in: api)?.hasPrefix("n|0.5|NUMERIC|t|") == true)
            }
            #expect(try api.test.count("scores") == 2)
        }
    }

    @Test func invalidScoreInAnArrayIsRejectedAloneWith207() async throws {
        try await APIHarness.with { api async throws in
            let body = """
                [{"id":"good","traceId":"t","name":"ok","value":1,"timestamp":"2026-11-24T21:58:48Z"},
                 {"id":"bad","traceId":"t","value":1}]
                """
            let response = await api.post("/api/public/scores", json: body)
            #expect(response.status == 207)
            let result = try response.json()
            #expect(result["accepted"]?.intValue == 1)
            #expect(result["rejected"]?.intValue == 1)
            let errors = try #require(result["errors"]?.arrayValue)
            #expect(errors.count == 1)
            #expect(errors.first?["message"]?.stringValue?.isEmpty == false)
            #expect(try Self.score("good", in: api) != nil)
            #expect(try Self.score("bad", in: api) == nil)
        }
    }

    @Test(arguments: [
        #"{"traceId":"t","sessionId":"s","name":"n","value":1}"#,  // two targets
        #"{"name":"n","value":1}"#,  // no target
        #"{"observationId":"o","sessionId":"s","name":"n","value":1}"#,  // observation without trace
        #"{"traceId":"t","name":"","value":1}"#,  // empty name
        #"{"traceId":"t","name":"n","value":"high","dataType":"NUMERIC"}"#,
        #"{"traceId":"t","name":"n","value":2,"dataType":"BOOLEAN"}"#,
        #"{"traceId":"t","name":"n"}"#,  // no value
    ])
    func invalidSingleScoreIsA400(body: String) async throws {
        try await APIHarness.with { api async throws in
            let response = await api.post("/api/public/scores", json: body)
            #expect(response.status == 400)
            #expect(try response.json()["message"]?.stringValue?.isEmpty == false)
            #expect(try api.test.count("scores") == 0)
        }
    }

    @Test func scoreArrayItemWithANaiveTimestampIsRejected() async throws {
        // Request datetimes must carry Z or an offset (langfuse-api.md §1).
        try await APIHarness.with { api async throws in
            let body = #"[{"id":"naive","traceId":"t","name":"n","value":1,"timestamp":"2026-11-24T21:58:48"}]"#
            let response = await api.post("/api/public/scores", json: body)
            #expect(response.status == 207)
            #expect(try response.json()["rejected"]?.intValue == 1)
            #expect(try Self.score("naive", in: api) == nil)
        }
    }

    @Test(arguments: [#""a string""#, "42", "null", "true"])
    func scoreBodyThatIsNeitherObjectNorArrayIsA400(body: String) async throws {
        try await APIHarness.with { api async throws in
            #expect(await api.post("/api/public/scores", json: body).status == 400)
        }
    }

    @Test func emptyScoreArrayIsAccepted() async throws {
        try await APIHarness.with { api async throws in
            let response = await api.post("/api/public/scores", json: "[]")
            #expect(response.status == 202)
            #expect(try api.test.count("scores") == 0)
        }
    }

    @Test func bearerPublicKeyMayWriteScores() async throws {
        try await APIHarness.with { api async throws in
            let response = await api.post(
                "/api/public/scores", json: #"{"id":"b1","traceId":"t","name":"n","value":1}"#,
                authorization: "Bearer \(APIHarness.publicKey)")
            #expect(response.status == 200)
            #expect(try Self.score("b1", in: api) != nil)
        }
    }
}
