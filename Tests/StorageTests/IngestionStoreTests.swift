import Model
import Storage
import Testing
import TestSupport

/// `IngestionStore.apply` through the real group-commit writer on a temp file: idempotency by
/// event id, order independence across batches, sessions and users (langfuse-api.md §3.7, §3.8).
@Suite("IngestionStore")
struct IngestionStoreTests {
    @Test func capturedConversationIsStoredAsThreeTracesInOneSession() async throws {
        try await TestDatabase.with { test async throws in
            let project = try await test.createProject()
            let events = try capturedConversation()
            let outcomes = try await test.apply(events, projectID: project)
            #expect(outcomes == Array(repeating: .applied, count: events.count))

            #expect(try test.count("events") == events.count)
            #expect(try test.count("traces") == 3)
            #expect(try test.count("traces", where: "session_id = 'acc-v2-session-cap01' AND user_id = 'acc-user-cap01'") == 3)
            // Per turn: agent span, generation, tool span, guardrail event.
            #expect(try test.count("observations") == 12)
            #expect(try test.count("observations", where: "type = 'GENERATION' AND total_tokens IS NOT NULL") == 3)
            #expect(try test.count("observations", where: "type = 'EVENT' AND name = 'guardrail-check'") == 3)
            #expect(try test.count("scores", where: "trace_id = 'b01425e6-b698-4e2f-9223-76689a8bc9ca'") == 1)

            #expect(try test.count("sessions") == 1)
            #expect(try test.count("sessions", where: """
                session_id = 'acc-v2-session-cap01' AND environment = 'production' AND user_id = 'acc-user-cap01'
                AND turn_count = 3 AND observation_count = 12 AND generation_count = 3 AND tool_count = 3
                AND input_tokens = 600 AND output_tokens = 120 AND total_tokens = 720 AND channel = 'web'
                AND abs(total_cost - 0.000162) < 1e-12
                """) == 1)
            // Per-trace aggregates: the sent turn numbers and each turn's tokens.
            #expect(try test.count("traces", where: "turn_number = 1 AND total_tokens = 195 AND observation_count = 4") == 1)
            #expect(try test.count("traces", where: "turn_number = 3 AND total_tokens = 285 AND generation_count = 1") == 1)

            // first_seen / last_seen are the earliest and latest trace times of the user.
            let first = try #require(Timestamp.parseMicros("2026-11-24T21:58:28.426712Z")) / 1000
            let last = try #require(Timestamp.parseMicros("2026-11-24T21:58:28.494284Z")) / 1000
            let users = try test.rows(of: "users", excluding: TestDatabase.arrivalColumns)
            #expect(users == ["project_id=1 | user_id='acc-user-cap01' | first_seen=\(first) | last_seen=\(last)"])
        }
    }

    @Test func reappliedEventsAreDuplicatesAndChangeNothing() async throws {
        try await TestDatabase.with { test async throws in
            let project = try await test.createProject()
            let events = try capturedConversation()
            _ = try await test.apply(events, projectID: project, now: 1_000)
            let before = try test.dump()

            // A later clock proves nothing is even touched: updated_at would move.
            let again = try await test.apply(events, projectID: project, now: 2_000)
            #expect(again == Array(repeating: .duplicate, count: events.count))
            #expect(try test.dump() == before)

            let subset = Array(events.reversed().prefix(7))
            #expect(try await test.apply(subset, projectID: project, now: 3_000) == Array(repeating: .duplicate, count: 7))
            #expect(try test.dump() == before)
        }
    }

    @Test func repeatedEventIDWithinOneCallIsADuplicate() async throws {
        try await TestDatabase.with { test async throws in
            let project = try await test.createProject()
            let first = try makeEvent("e1", .traceCreate, at: 1, #"{"id":"t","name":"original"}"#)
            let replay = try makeEvent("e1", .traceCreate, at: 2, #"{"id":"t","name":"replayed with another body"}"#)
            #expect(try await test.apply([first, replay], projectID: project) == [.applied, .duplicate])
            #expect(try test.rows(of: "traces", excluding: TestDatabase.arrivalColumns).first?.contains("name='original'") == true)
        }
    }

    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func shuffledEventsAcrossSeveralCallsGiveIdenticalTables(seed: UInt64) async throws {
        let events = try capturedConversation() + capturedEvents("langfuse-python-2.60.10/retry-207-partial-error-first-attempt.json")
        let reference = try TestDatabase()
        defer { reference.database.close() }
        let project = try await reference.createProject()
        _ = try await reference.apply(events, projectID: project)
        let expected = try reference.dump(tables: TestDatabase.ingestionTables, excluding: TestDatabase.arrivalColumns)

        try await TestDatabase.with { test async throws in
            let project = try await test.createProject()
            var generator = SeededGenerator(seed: seed)
            var remaining = events.shuffled(using: &generator)
            var clock: Int64 = 5_000
            while !remaining.isEmpty {
                let size = Int.random(in: 1...6, using: &generator)
                let chunk = Array(remaining.prefix(size))
                remaining.removeFirst(chunk.count)
                clock += 1
                _ = try await test.apply(chunk, projectID: project, now: clock)
            }
            let actual = try test.dump(tables: TestDatabase.ingestionTables, excluding: TestDatabase.arrivalColumns)
            for table in TestDatabase.ingestionTables {
                #expect(actual[table] == expected[table], "table \(table), seed \(seed)")
            }
        }
    }

    @Test func userFirstAndLastSeenDoNotDependOnArrivalOrder() async throws {
        // The update (no body timestamp) carries the user and arrives first, so the trace's time
        // is briefly the update's envelope time (t=50) until the create (body timestamp t=5) lands.
        let create = try makeEvent("c", .traceCreate, at: 10, #"{"id":"t","timestamp":"2026-01-01T00:00:05Z","userId":"u","sessionId":"s"}"#)
        let update = try makeEvent("u", .traceCreate, at: 50, #"{"id":"t","userId":"u","output":"done"}"#)
        let other = try makeEvent("o", .traceCreate, at: 20, #"{"id":"t2","timestamp":"2026-01-01T00:00:20Z","userId":"u"}"#)

        var dumps: [[String]] = []
        for order in [[[create, update, other]], [[update], [other], [create]], [[other], [update], [create]]] {
            try await TestDatabase.with { test async throws in
                let project = try await test.createProject()
                for batch in order { _ = try await test.apply(batch, projectID: project) }
                dumps.append(try test.rows(of: "users", excluding: TestDatabase.arrivalColumns))
            }
        }
        let t5 = 1_767_225_605_000
        let t20 = 1_767_225_620_000
        #expect(dumps[0] == ["project_id=1 | user_id='u' | first_seen=\(t5) | last_seen=\(t20)"])
        #expect(dumps[1] == dumps[0])
        #expect(dumps[2] == dumps[0])
    }

    @Test func aUserNoTraceNamesAnyMoreIsForgotten() async throws {
        try await TestDatabase.with { test async throws in
            let project = try await test.createProject()
            _ = try await test.apply([try makeEvent("a", .traceCreate, at: 1, #"{"id":"t","userId":"old"}"#)], projectID: project)
            _ = try await test.apply([try makeEvent("b", .traceCreate, at: 2, #"{"id":"t","userId":"new"}"#)], projectID: project)
            let users = try test.rows(of: "users", excluding: TestDatabase.arrivalColumns)
            #expect(users.count == 1)
            #expect(users.first?.contains("user_id='new'") == true)
        }
    }

    @Test func sessionRowIsCreatedOnlyByTraces() async throws {
        try await TestDatabase.with { test async throws in
            let project = try await test.createProject()
            _ = try await test.apply([
                try makeEvent("s1", .scoreCreate, at: 1, #"{"id":"sc","sessionId":"from-score","name":"n","value":1}"#),
                try makeEvent("o1", .spanCreate, at: 1, #"{"id":"o","traceId":"t","sessionId":"from-span"}"#),
            ], projectID: project)
            #expect(try test.count("sessions") == 0)

            _ = try await test.apply([try makeEvent("t1", .traceCreate, at: 2, #"{"id":"t","sessionId":"from-trace","environment":"staging"}"#)], projectID: project)
            #expect(try test.count("sessions") == 1)
            #expect(try test.count("sessions", where: "session_id = 'from-trace' AND environment = 'staging' AND user_id IS NULL") == 1)
        }
    }

    @Test func sessionKeepsItsCreationTimeWhenMoreTracesArrive() async throws {
        try await TestDatabase.with { test async throws in
            let project = try await test.createProject()
            _ = try await test.apply([try makeEvent("a", .traceCreate, at: 1, #"{"id":"t1","sessionId":"s"}"#)], projectID: project, now: 100)
            _ = try await test.apply([try makeEvent("b", .traceCreate, at: 2, #"{"id":"t2","sessionId":"s","userId":"u"}"#)], projectID: project, now: 200)
            let row = try test.database.readBlocking { db in
                try db.scalarText("SELECT created_at || ',' || updated_at || ',' || coalesce(user_id, '-') FROM sessions")
            }
            #expect(row == "100,200,u")
        }
    }

    @Test func eventsWithoutAnEntityIDOrForSDKLogsAreAcceptedButNotStored() async throws {
        try await TestDatabase.with { test async throws in
            let project = try await test.createProject()
            let outcomes = try await test.apply([
                try makeEvent("no-id-trace", .traceCreate, at: 1, #"{"name":"no id"}"#),
                try makeEvent("no-id-score", .scoreCreate, at: 1, #"{"traceId":"t","name":"n","value":1}"#),
                try makeEvent("log", .sdkLog, at: 1, #"{"log":"hello"}"#),
            ], projectID: project)
            #expect(outcomes == [.applied, .applied, .applied])
            for table in TestDatabase.ingestionTables { #expect(try test.count(table) == 0, "\(table)") }
        }
    }

    @Test func traceObservationAndScoreIDsAreSeparateNamespaces() async throws {
        try await TestDatabase.with { test async throws in
            let project = try await test.createProject()
            _ = try await test.apply([
                try makeEvent("1", .traceCreate, at: 1, #"{"id":"same","name":"trace"}"#),
                try makeEvent("2", .spanCreate, at: 1, #"{"id":"same","traceId":"same","name":"span"}"#),
                try makeEvent("3", .scoreCreate, at: 1, #"{"id":"same","traceId":"same","name":"score","value":1}"#),
            ], projectID: project)
            #expect(try test.count("traces", where: "trace_id = 'same' AND name = 'trace'") == 1)
            #expect(try test.count("observations", where: "observation_id = 'same' AND name = 'span'") == 1)
            #expect(try test.count("scores", where: "score_id = 'same' AND name = 'score'") == 1)
        }
    }

    @Test func projectsDoNotShareEventIDsOrEntities() async throws {
        try await TestDatabase.with { test async throws in
            let first = try await test.createProject(publicID: "p1", name: "one")
            let second = try await test.createProject(publicID: "p2", name: "two")
            let events = try capturedConversation()
            #expect(try await test.apply(events, projectID: first).allSatisfy { $0 == .applied })
            #expect(try await test.apply(events, projectID: second).allSatisfy { $0 == .applied })
            #expect(try test.count("traces") == 6)
            #expect(try test.count("events") == 2 * events.count)
            let perProject = try test.dump(tables: TestDatabase.ingestionTables, excluding: TestDatabase.arrivalColumns.union(["project_id"]))
            for table in TestDatabase.ingestionTables {
                let rows = perProject[table] ?? []
                #expect(rows.count % 2 == 0)
                // Each row appears once per project, identical apart from the project.
                #expect(Set(rows).count == rows.count / 2, "\(table)")
            }
        }
    }

    @Test func statementsAreResetAfterIngestionAndReads() async throws {
        try await TestDatabase.with { test async throws in
            let project = try await test.createProject()
            _ = try await test.apply(try capturedConversation(), projectID: project)
            _ = try await test.apply(try capturedConversation(), projectID: project)
            _ = try test.dump()
            _ = try test.database.readBlocking { try ProjectStore.keys(on: $0) }
            #expect(try await test.writerBusyStatementCount() == 0)
            #expect(try test.readerBusyStatementCounts() == [0, 0, 0, 0])
        }
    }
}
