import Model
import Storage
import Testing
import TestSupport

/// The writer's cached entity folds (issue #18): in-order events are one step each, and nothing
/// that changes the event log behind the cache (a deletion, a rolled-back job) is ever answered
/// from a stale fold.
@Suite("Ingestion: cached folds")
struct FoldCacheTests {
    /// A trace and a generation, each created, then updated `updates` times one second apart.
    static func timeline(updates: Int, user: String = "u1") throws -> [IngestionEvent] {
        var events = [
            try makeEvent("t-create", .traceCreate, at: 0, #"{"id":"t1","name":"chat","userId":"\#(user)","sessionId":"s1","metadata":{"turn.number":1}}"#),
            try makeEvent("g-create", .generationCreate, at: 0,
                          #"{"id":"g1","traceId":"t1","model":"gpt-4o-mini","startTime":"2026-01-01T00:00:00Z"}"#),
        ]
        for step in 1...updates {
            events.append(try makeEvent("t-\(step)", .traceCreate, at: Int64(step),
                                        #"{"id":"t1","output":"answer \#(step)","metadata":{"step\#(step)":true},"tags":["tag\#(step % 3)"]}"#))
            events.append(try makeEvent("g-\(step)", .generationUpdate, at: Int64(step),
                                        #"{"id":"g1","output":"part \#(step)","usageDetails":{"input":\#(step * 10),"output":\#(step)},"endTime":"2026-01-01T00:00:0\#(min(step, 9))Z"}"#))
        }
        return events
    }

    /// The ingestion tables after `events` in one call on a fresh database.
    static func reference(_ events: [IngestionEvent]) async throws -> [String: [String]] {
        try await TestDatabase.with { test async throws in
            let project = try await test.createProject()
            _ = try await test.apply(events, projectID: project)
            return try test.dump(tables: TestDatabase.ingestionTables, excluding: TestDatabase.arrivalColumns)
        }
    }

    static func expectTables(of test: TestDatabase, equal expected: [String: [String]]) throws {
        let actual = try test.dump(tables: TestDatabase.ingestionTables, excluding: TestDatabase.arrivalColumns)
        for table in TestDatabase.ingestionTables {
            #expect(actual[table] == expected[table], "table \(table)")
        }
    }

    @Test func eventsArrivingInOrderAreOneStepEachAndStoreWhatAWholeFoldStores() async throws {
        let events = try Self.timeline(updates: 8)
        let expected = try await Self.reference(events)
        try await TestDatabase.with { test async throws in
            let project = try await test.createProject()
            let before = test.database.foldFigures
            // One request per second of the timeline, as an SDK flushing in order.
            for start in stride(from: 0, to: events.count, by: 2) {
                _ = try await test.apply(Array(events[start..<start + 2]), projectID: project)
            }
            let figures = test.database.foldFigures
            // The first request folds the two new entities; every later one is a step on each.
            #expect(figures.refolds - before.refolds == 2, "\(figures)")
            #expect(figures.steps - before.steps == 16, "\(figures)")
            try Self.expectTables(of: test, equal: expected)
        }
    }

    @Test func aLateEventReFoldsAndStoresWhatAWholeFoldStores() async throws {
        let events = try Self.timeline(updates: 6)
        let expected = try await Self.reference(events)
        try await TestDatabase.with { test async throws in
            let project = try await test.createProject()
            // Everything but the third update, then the third update last: it sorts before the
            // cached folds' last events, so both entities are re-folded.
            let late = events.filter { $0.id == "t-3" || $0.id == "g-3" }
            _ = try await test.apply(events.filter { $0.id != "t-3" && $0.id != "g-3" }, projectID: project)
            let before = test.database.foldFigures
            _ = try await test.apply(late, projectID: project)
            let figures = test.database.foldFigures
            #expect(figures.refolds - before.refolds == 2 && figures.steps == before.steps, "\(before) → \(figures)")
            try Self.expectTables(of: test, equal: expected)
        }
    }

    @Test func aDeletedTraceSentAgainIsFoldedFromWhatIsStoredNowNotFromMemory() async throws {
        let first = try Self.timeline(updates: 4, user: "first-user")
        // The same ids after the deletion, with new event ids and another user.
        let again = try Self.timeline(updates: 2, user: "second-user").map {
            IngestionEvent(id: "again-" + $0.id, type: $0.type, timestampMicros: $0.timestampMicros + 100_000_000, body: $0.body)
        }
        let expected = try await Self.reference(again)
        try await TestDatabase.with { test async throws in
            let project = try await test.createProject()
            _ = try await test.apply(first, projectID: project)
            var (traces, sessions, done) = (0, 0, false)
            while !done {
                let step = try await test.database.writer.write { db in
                    try DeletionStore.step(.session("s1"), projectID: project, limit: 100, on: db)
                }
                (traces, sessions, done) = (traces + step.traces, sessions + step.sessions, step.done)
            }
            #expect(traces == 1 && sessions == 1)
            #expect(try test.count("events") == 0)
            let before = test.database.foldFigures
            _ = try await test.apply(again, projectID: project)
            // The folds cached before the deletion sort before these events, but their event
            // count no longer matches the log: both entities are re-folded.
            #expect(test.database.foldFigures.refolds - before.refolds == 2)
            try Self.expectTables(of: test, equal: expected)
        }
    }

    @Test func aJobThatRolledBackLeavesNoFoldBehind() async throws {
        let events = try Self.timeline(updates: 3)
        let expected = try await Self.reference(events)
        try await TestDatabase.with { test async throws in
            let project = try await test.createProject()
            _ = try await test.apply(Array(events.prefix(4)), projectID: project)
            // A job that applies the next events and then fails: its savepoint rolls back.
            struct Planned: Error {}
            await #expect(throws: Planned.self) {
                try await test.database.writer.write { db in
                    _ = try IngestionStore.apply(Array(events[4..<6]), projectID: project, now: 1_000, on: db)
                    throw Planned()
                }
            }
            #expect(try test.count("events") == 4)
            _ = try await test.apply(Array(events.dropFirst(4)), projectID: project)
            try Self.expectTables(of: test, equal: expected)
        }
    }
    /// An earlier event arriving late can move an observation to another trace (its first
    /// traceId wins), and a score update can move a score to another session: the trace or
    /// session left behind must stop counting it, whichever path folded it.
    @Test func anObservationOrScoreThatMovesIsNoLongerCountedWhereItWas() async throws {
        try await TestDatabase.with { test async throws in
            let project = try await test.createProject()
            _ = try await test.apply([
                try makeEvent("t1", .traceCreate, at: 0, #"{"id":"t1","sessionId":"s1"}"#),
                try makeEvent("t2", .traceCreate, at: 0, #"{"id":"t2","sessionId":"s2"}"#),
                try makeEvent("o-late", .spanCreate, at: 10, #"{"id":"o1","traceId":"t1","name":"step"}"#),
                try makeEvent("score-1", .scoreCreate, at: 10, #"{"id":"sc1","sessionId":"s1","name":"quality","value":1}"#),
            ], projectID: project)
            // Settled now, so that only a mark from the second request can change the sessions.
            try await test.database.settle(projectID: project)
            let before = test.database.foldFigures
            _ = try await test.apply([
                try makeEvent("o-early", .spanCreate, at: 5, #"{"id":"o1","traceId":"t2"}"#),
                try makeEvent("score-2", .scoreCreate, at: 20, #"{"id":"sc1","sessionId":"s2","name":"quality","value":1}"#),
            ], projectID: project)
            let figures = test.database.foldFigures
            // The late span event re-folds (the row read for its old trace); the score update is a
            // step on its cached fold (the old session taken from the fold).
            #expect(figures.refolds - before.refolds == 1 && figures.steps - before.steps == 1, "\(before) → \(figures)")
            #expect(try test.rows(of: "observations").allSatisfy { $0.contains("trace_id='t2'") })
            let traces = try test.rows(of: "traces")
            #expect(traces.contains { $0.contains("trace_id='t1'") && $0.contains("observation_count=0") }, "\(traces)")
            #expect(traces.contains { $0.contains("trace_id='t2'") && $0.contains("observation_count=1") }, "\(traces)")
            let sessions = try test.rows(of: "sessions")
            #expect(sessions.contains { $0.contains("session_id='s1'") && $0.contains("scores='{}'") }, "\(sessions)")
            #expect(sessions.contains { $0.contains("session_id='s2'") && $0.contains("quality") }, "\(sessions)")
        }
    }
}
