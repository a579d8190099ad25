import Model
@testable import Storage
import Testing
import TestSupport

/// Trace aggregates are recomputed once per writer transaction, before its COMMIT (issue #18:
/// at most one aggregate write per trace per transaction), and still reflect every request of it.
@Suite("Trace aggregates per transaction")
struct TraceAggregateTests {
    /// Two requests' worth of observations of one trace, in one writer transaction.
    static func spans(_ range: Range<Int>) throws -> [IngestionEvent] {
        try range.map { index in
            try makeEvent("e-span-\(index)", .generationCreate, at: Int64(index), """
                {"id": "g-\(index)", "traceId": "t-1", "startTime": "2026-01-01T00:00:0\(index)Z",
                 "usageDetails": {"input": 10, "output": 1}}
                """)
        }
    }

    @Test func aTraceTouchedByTwoRequestsOfOneTransactionIsRecomputedOnceAndCountsBoth() async throws {
        try await TestDatabase.with { test async throws in
            let project = try await test.createProject()
            let trace = try makeEvent("e-trace", .traceCreate, at: 0, #"{"id": "t-1", "sessionId": "s-1"}"#)
            _ = try await test.apply([trace], projectID: project)
            let (runs, stale) = try await test.database.writer.write { db -> (Int, Int) in
                let before = try db.statement(AggregateStore.refreshTrace).runCount
                // As two requests grouped in one transaction: each applies its events in turn.
                _ = try IngestionStore.apply(try Self.spans(0..<2), projectID: project, now: 1_000, on: db)
                _ = try IngestionStore.apply(try Self.spans(2..<5), projectID: project, now: 1_000, on: db)
                let noted = db.staleTraces[project]?.count ?? 0
                try AggregateStore.flushStaleTraces(on: db)
                return (try db.statement(AggregateStore.refreshTrace).runCount - before, noted)
            }
            #expect(stale == 1)
            #expect(runs == 1)
            #expect(try test.count("traces", where: "trace_id = 't-1' AND observation_count = 5 AND generation_count = 5 AND input_tokens = 50") == 1)
        }
    }

    @Test func theWriterRecomputesNotedTracesBeforeCommitWithoutBeingAsked() async throws {
        try await TestDatabase.with { test async throws in
            let project = try await test.createProject()
            let trace = try makeEvent("e-trace", .traceCreate, at: 0, #"{"id": "t-1", "sessionId": "s-1"}"#)
            _ = try await test.apply([trace] + Self.spans(0..<3), projectID: project)
            #expect(try test.count("traces", where: "trace_id = 't-1' AND observation_count = 3 AND total_tokens = 33") == 1)
            // Nothing is left noted for the next transaction.
            #expect(try await test.database.writer.write { db in db.staleTraces.isEmpty })
        }
    }
}
