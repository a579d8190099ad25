import API
import Model
import Storage
import Testing
import TestSupport
import Transport

/// `POST /api/public/ingestion` (operationId `ingestionBatch`) fed the real Python 2.60.10 SDK
/// captures: 207 answers, the stored conversation of `expected.json`, idempotent re-delivery and
/// order independence (langfuse-api.md §3, §3.8).
@Suite("Ingestion API: SDK captures")
struct IngestionCaptureTests {
    static let folder = "langfuse-python-2.60.10"
    static let batches = ["\(folder)/ingestion-batch-1", "\(folder)/ingestion-batch-2"]
    static let retried = "\(folder)/retry-207-partial-error-first-attempt"

    @Test(arguments: batches + [retried])
    func capturedBatchAnswers207WithEveryEventIDAsSuccess(name: String) async throws {
        try await APIHarness.with { api async throws in
            let captured = try SDKFixtures.request(name)
            #expect(captured.header("Authorization") == APIHarness.basic)
            let response = await api.send(captured)
            #expect(response.status == 207)
            #expect(response.headers["Content-Type"] == "application/json")
            let result = try IngestionResult(response)
            #expect(result.errors.isEmpty, "\(result.errors)")
            #expect(result.successes.allSatisfy { $0.status == 201 })
            let sent = try eventIDs(ofFixture: "\(name).json")
            #expect(result.successes.count == sent.count)
            #expect(result.successIDs == Set(sent))
        }
    }

    @Test func successesMatchWhatTheCaptureServerAnswered() async throws {
        try await APIHarness.with { api async throws in
            for name in Self.batches {
                let result = try IngestionResult(try await api.send(fixture: name))
                let recorded = try JSONParser.parse(try SDKFixtures.bytes("\(name).response.json"))
                let recordedIDs = Set((recorded["body"]?["successes"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue })
                #expect(!recordedIDs.isEmpty)
                #expect(result.successIDs == recordedIDs)
            }
        }
    }

    @Test func storedConversationMatchesExpectedJSON() async throws {
        try await APIHarness.with { api async throws in
            for name in Self.batches { #expect(try await api.send(fixture: name).status == 207) }
            let expected = try JSONParser.parse(try SDKFixtures.bytes("\(Self.folder)/expected.json"))
            let sessionID = try #require(expected["session_id"]?.stringValue)
            let userID = try #require(expected["user_id"]?.stringValue)
            let turns = try #require(expected["turns"]?.arrayValue)
            let projectID = api.project.rowID

            let traces = try api.database.readBlocking { db in
                var rows: [(id: String, user: String?, session: String?)] = []
                try db.statement("SELECT trace_id, user_id, session_id FROM traces WHERE project_id = ? AND session_id = ? ORDER BY timestamp")
                    .query([.integer(projectID), .text(sessionID)]) { rows.append(($0.text(0) ?? "", $0.text(1), $0.text(2))) }
                return rows
            }
            #expect(traces.count == expected["trace_count"]?.intValue.map(Int.init))
            #expect(traces.map(\.id) == turns.compactMap { $0["trace_id"]?.stringValue })
            #expect(traces.allSatisfy { $0.user == userID })
            #expect(try api.test.count("sessions", where: "session_id = '\(sessionID)' AND user_id = '\(userID)'") == 1)
            #expect(try api.test.count("users", where: "user_id = '\(userID)'") == 1)

            for turn in turns {
                let traceID = try #require(turn["trace_id"]?.stringValue)
                let generation = try #require(turn["generation"])
                let stored = try api.database.readBlocking { db in
                    var rows: [(name: String?, model: String?, input: Int64, output: Int64, total: Int64,
                                usage: String?, cost: String?, totalCost: Double)] = []
                    try db.statement("""
                        SELECT name, model, input_tokens, output_tokens, total_tokens, usage_details, cost_details, total_cost
                        FROM observations WHERE project_id = ? AND trace_id = ? AND type = 'GENERATION'
                        """).query([.integer(projectID), .text(traceID)]) { row in
                        rows.append((row.text(0), row.text(1), row.int(2), row.int(3), row.int(4), row.text(5), row.text(6), row.double(7)))
                    }
                    return rows
                }
                try #require(stored.count == 1, "turn \(turn["turn"]?.jsonText ?? "?")")
                let row = stored[0]
                #expect(row.name == generation["name"]?.stringValue)
                #expect(row.model == generation["model"]?.stringValue)
                #expect(row.input == generation["usage"]?["input"]?.intValue)
                #expect(row.output == generation["usage"]?["output"]?.intValue)
                #expect(row.total == generation["usage"]?["total"]?.intValue)
                #expect(try row.usage.map { try JSONParser.parse($0) } == generation["usage"])
                let cost = try #require(try row.cost.map { try JSONParser.parse($0) })
                for key in ["input", "output", "total"] {
                    #expect(cost[key]?.doubleValue == generation["cost"]?[key]?.doubleValue, "cost.\(key) of \(traceID)")
                }
                #expect(row.totalCost == generation["cost"]?["total"]?.doubleValue)

                let fragment = try #require(turn["tool_observation_name_contains"]?.stringValue)
                #expect(try api.test.count("observations", where: "trace_id = '\(traceID)' AND type = 'SPAN' AND instr(name, '\(fragment)') > 0 AND end_time IS NOT NULL") == 1)
                let eventName = try #require(turn["event_name"]?.stringValue)
                #expect(try api.test.count("observations", where: "trace_id = '\(traceID)' AND type = 'EVENT' AND name = '\(eventName)'") == 1)

                let scores = try api.database.readBlocking { db in
                    var rows: [(name: String, value: Double, dataType: String)] = []
                    try db.statement("SELECT name, value, data_type FROM scores WHERE project_id = ? AND trace_id = ?")
                        .query([.integer(projectID), .text(traceID)]) { rows.append(($0.text(0) ?? "", $0.double(1), $0.text(2) ?? "")) }
                    return rows
                }
                if let score = turn["score"], !score.isNull {
                    try #require(scores.count == 1)
                    #expect(scores[0].name == score["name"]?.stringValue)
                    #expect(scores[0].value == score["value"]?.doubleValue)
                    #expect(scores[0].dataType == score["dataType"]?.stringValue)
                } else {
                    #expect(scores.isEmpty, "turn \(traceID) has no score")
                }
            }
        }
    }

    @Test func storedTracesMergeCreateAndUpdateEvents() async throws {
        try await APIHarness.with { api async throws in
            for name in Self.batches { _ = try await api.send(fixture: name) }
            let row = try api.database.readBlocking { db in
                try db.scalarText("""
                    SELECT name || '|' || environment || '|' || tags || '|' || json_extract(metadata, '$.turn_latency_ms')
                        || '|' || json_extract(metadata, '$.channel') || '|' || json_extract(output, '$.role')
                    FROM traces WHERE trace_id = 'b01425e6-b698-4e2f-9223-76689a8bc9ca'
                    """)
            }
            #expect(row == #"chat-turn|production|["acceptance","chat","turn-2"]|44|web|assistant"#)
        }
    }

    @Test func rePostingEveryBatchLeavesEveryTableUnchanged() async throws {
        try await APIHarness.with { api async throws in
            let names = Self.batches + [Self.retried]
            for name in names { #expect(try await api.send(fixture: name).status == 207) }
            let before = try api.test.dump()
            #expect(before["traces"]?.count == 5)

            for name in names + names.reversed() {
                let response = try await api.send(fixture: name)
                #expect(response.status == 207)
                let result = try IngestionResult(response)
                #expect(result.errors.isEmpty)
                #expect(result.successIDs == Set(try eventIDs(ofFixture: "\(name).json")))
            }
            #expect(try api.test.dump() == before)
        }
    }

    @Test func noStatementIsLeftBusyAfterRequests() async throws {
        try await APIHarness.with { api async throws in
            for name in Self.batches + [Self.retried] { _ = try await api.send(fixture: name) }
            _ = await api.get("/api/public/projects")
            _ = await api.post("/api/public/ingestion", json: "not json")
            _ = try await api.send(fixture: "langfuse-python-5.0.4/scores-batch-1")
            #expect(try await api.test.writerBusyStatementCount() == 0)
            #expect(try api.test.readerBusyStatementCounts().allSatisfy { $0 == 0 })
        }
    }

    @Test func batchTwoBeforeBatchOneGivesTheSameTables() async throws {
        func tables(order: [String]) async throws -> [String: [String]] {
            try await APIHarness.with { api async throws in
                for name in order { #expect(try await api.send(fixture: name).status == 207) }
                return try api.test.dump(tables: TestDatabase.ingestionTables, excluding: TestDatabase.arrivalColumns)
            }
        }
        let normal = try await tables(order: Self.batches)
        let reversed = try await tables(order: Self.batches.reversed())
        #expect(normal["observations"]?.count == 12)
        for table in TestDatabase.ingestionTables {
            #expect(reversed[table] == normal[table], "table \(table)")
        }
    }
}
