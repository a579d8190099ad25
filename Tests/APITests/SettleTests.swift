import API
import Foundation
import Ingest
import Model
import Storage
import TestSupport
import Testing
import Transport

/// Session analytics settled after the write (issue #18): a write only marks the sessions it
/// changed dirty; the settler recomputes them shortly after, and any read that reaches a dirty
/// session settles it first, so every read sees every acknowledged write.
@Suite("Settling sessions")
struct SettleTests {
    /// A settler that would not run within any test: only reads settle.
    static var readsOnly: Database.Configuration {
        var configuration = TestDatabase.testing
        configuration.settleDelay = .seconds(3600)
        return configuration
    }

    @Test func aWriteMarksItsSessionDirtyAndTheNextReadSettlesIt() async throws {
        try await APIHarness.with(configuration: Self.readsOnly) { api in
            try await api.ingest(Build.turn("t1", session: "s", number: 1, at: 0))
            #expect(api.database.dirtySessionCount == 1)
            let raw = try api.database.readBlocking { db in
                try db.scalarText("SELECT turn_count FROM sessions WHERE session_id = 's'")
            }
            #expect(raw == "0")  // not settled on the write path
            let session = try await api.session("s")
            #expect(session["turnCount"]?.intValue == 1)
            #expect(session["inputTokens"]?.intValue == 100)
            #expect(api.database.dirtySessionCount == 0)
        }
    }

    /// Read-your-writes on every read endpoint right after each acknowledgement, with the
    /// background settler out of the way.
    @Test func everyReadSeesEveryAcknowledgedWrite() async throws {
        try await APIHarness.with(configuration: Self.readsOnly) { api in
            for turn in 1...3 {
                try await api.ingest(Build.turn("t\(turn)", session: "s", number: turn, at: Int64(turn) * 60_000,
                                                metadata: [("journey.name", .string("j")), ("journey.stage", .string("stage-\(turn)"))]))
                #expect(try await api.session("s")["turnCount"]?.intValue == Int64(turn))
                #expect(try await api.json("/api/public/sessions/s?fields=summary")["turns"]?.arrayValue?.count == turn)
                #expect(try await api.json("/api/public/sessions")["data"]?.arrayValue?.first?["turnCount"]?.intValue == Int64(turn))
                // Analytics may answer up to 10 s stale, and then say so with `Age` (docs/ANALYTICS.md,
                // "Freshness"); an answer without it is exact.
                for (path, check) in [
                    ("/api/public/analytics/sessions", { (body: JSONValue) in body["turns"]?["max"]?.doubleValue == Double(turn) }),
                    ("/api/public/analytics/journeys/j", { (body: JSONValue) in body["stages"]?.arrayValue?.count == turn }),
                ] {
                    let response = await api.get(path)
                    #expect(response.status == 200)
                    if response.headers["Age"] == nil { #expect(check(try response.json()), "\(path) after turn \(turn)") }
                }
                #expect(try await api.json("/api/public/traces/t\(turn)")["turnNumber"]?.intValue == Int64(turn))
                #expect(try await api.json("/api/public/sessions/s/turns")["data"]?.arrayValue?.count == turn)
                let export = await api.get("/api/public/export/sessions")
                #expect(export.status == 200)
            }
            // A session call answers with what it did settled in.
            let ended = try await api.json(post: "/api/public/sessions/s/end", #"{"reason": "user_exit"}"#, status: 200)
            #expect(ended["dropoff"]?["isDropoff"] == .bool(true))
        }
    }

    /// After a backlog larger than `readSettleLimit` (a restart whose sweeper ended thousands of
    /// sessions at once), a list read settles that many and answers; a read of one session
    /// (the drill-down, a turn page) settles that session first, and only that one.
    @Test func aReadSettlesABoundedBacklogAndAlwaysTheSessionItNames() async throws {
        var configuration = Self.readsOnly
        configuration.readSettleLimit = 2
        try await APIHarness.with(configuration: configuration) { api in
            for index in 1...6 {
                try await api.ingest(Build.turn("t\(index)", session: "s\(index)", number: 1, at: Int64(index) * 1000))
            }
            #expect(api.database.dirtySessionCount == 6)
            _ = try await api.json("/api/public/sessions?limit=50")
            #expect(api.database.dirtySessionCount == 4)
            let stillDirty = try api.database.readBlocking { db -> String? in
                try db.scalarText("SELECT session_id FROM dirty_sessions ORDER BY session_id LIMIT 1")
            }
            let named = try #require(stillDirty)
            let session = try await api.session(named)
            #expect(session["turnCount"]?.intValue == 1, "\(session)")
            // Its answer depends on no other session: the other three stay marked.
            #expect(api.database.dirtySessionCount == 3, "\(api.database.dirtySessionCount)")
            let marked = try api.database.readBlocking { db in
                try db.scalarText("SELECT count(*) FROM dirty_sessions WHERE session_id = '\(named)'")
            }
            #expect(marked == "0")
            let next = try #require(try api.database.readBlocking { db -> String? in
                try db.scalarText("SELECT session_id FROM dirty_sessions ORDER BY session_id LIMIT 1")
            })
            let page = try await api.json("/api/public/sessions/\(next)/turns?limit=10")
            #expect(page["data"]?.arrayValue?.first?["turnNumber"]?.intValue == 1, "\(page)")
            #expect(api.database.dirtySessionCount == 2)
        }
    }

    @Test func theSettlerSettlesWithoutAnyRead() async throws {
        var configuration = TestDatabase.testing
        configuration.settleDelay = .milliseconds(10)
        try await APIHarness.with(configuration: configuration) { api in
            try await api.ingest(Build.turn("t1", session: "s", number: 1, at: 0))
            // Waits for the background settler, without a read (which would settle it itself).
            for _ in 0..<3000 where api.database.dirtySessionCount > 0 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(api.database.dirtySessionCount == 0)
            let settled = try api.database.readBlocking { db in
                try db.scalarText("SELECT turn_count FROM sessions WHERE session_id = 's'")
            }
            #expect(settled == "1")
            #expect(api.database.settleLag.settled == 1)
            let metrics = await api.get("/metrics").text
            #expect(metrics.contains("parley_sessions_dirty 0"))
            #expect(metrics.contains("parley_sessions_settled_total 1"))
        }
    }

    /// The mark is written with the data: a database killed before settling keeps its dirty
    /// sessions, and the next start settles them. A database closed cleanly settles first.
    @Test func dirtySessionsSurviveARestartAndACloseSettlesThem() async throws {
        let directory = try TempDirectory(prefix: "parley-settle")
        let path = directory.file("parley.sqlite")
        let first = try Database(path: path, configuration: Self.readsOnly)
        let project = try await first.writer.write { db in
            try ProjectStore.createProject(publicID: "p", name: "p", now: 0, on: db).rowID
        }
        let events = try JSONParser.parse(Build.batch(Build.turn("t1", session: "s", number: 1, at: 0)))["batch"]?.arrayValue ?? []
        let valid = events.compactMap { try? EventValidator.validate($0).get() }
        _ = try await first.writer.write { db in try IngestionStore.apply(valid, projectID: project, now: 1, on: db) }
        #expect(first.dirtySessionCount == 1)
        first.close()

        // Closed cleanly: settled. Then the state a kill before the settle leaves behind.
        let raw = try SQLiteConnection(path: path)
        #expect(try raw.scalarText("SELECT count(*) FROM dirty_sessions") == "0")
        #expect(try raw.scalarText("SELECT turn_count FROM sessions WHERE session_id = 's'") == "1")
        try raw.execute("""
            UPDATE sessions SET turn_count = 0 WHERE session_id = 's';
            INSERT INTO dirty_sessions (project_id, session_id, marked_at) VALUES (\(project), 's', 0);
            """)
        raw.close()

        let second = try Database(path: path, configuration: Self.readsOnly)
        defer { second.close() }
        #expect(second.dirtySessionCount == 1)
        try await second.settle(projectID: project)
        #expect(second.dirtySessionCount == 0)
        let count = try await second.read { db in try db.scalarText("SELECT turn_count FROM sessions WHERE session_id = 's'") }
        #expect(count == "1")
    }

    /// Settling is a recomputation from the stored rows: however the writes were split and
    /// whenever settling ran between them, the sessions end up the same.
    @Test func settlingBetweenWritesChangesNothingInTheEnd() async throws {
        func sessions(settleEvery: Int?) async throws -> [String] {
            try await APIHarness.with(configuration: Self.readsOnly) { api in
                for turn in 1...6 {
                    try await api.ingest(Build.turn("t\(turn)", session: "s", number: turn % 3 == 0 ? nil : turn,
                                                    at: Int64(7 - turn) * 60_000))
                    if let every = settleEvery, turn % every == 0 { _ = try await api.session("s") }
                }
                return try api.test.rows(of: "sessions", excluding: TestDatabase.arrivalColumns)
                    + api.test.rows(of: "traces", excluding: TestDatabase.arrivalColumns)
            }
        }
        let once = try await sessions(settleEvery: nil)
        #expect(try await sessions(settleEvery: 1) == once)
        #expect(try await sessions(settleEvery: 4) == once)
    }
}

/// The drill-down cache (issue #18): an answer is served from memory only while its session is
/// unchanged; every kind of change shows in the next read.
@Suite("Drill-down cache")
struct DrillDownCacheTests {
    static func hits(_ api: APIHarness) async -> Int {
        let metrics = await api.get("/metrics").text
        let line = metrics.split(separator: "\n").first { $0.hasPrefix("parley_drilldown_cache_hits_total ") }
        return line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? -1
    }

    @Test func anUnchangedSessionIsServedFromMemoryAndEveryChangeShows() async throws {
        try await APIHarness.with { api in
            try await api.ingest(Build.turn("t1", session: "s", user: "u", number: 1, at: 0))
            let first = await api.get("/api/public/sessions/s")
            let before = await Self.hits(api)
            let again = await api.get("/api/public/sessions/s")
            #expect(again.body == first.body)
            #expect(await Self.hits(api) == before + 1)

            // A new turn, then an observation, a trace score and a session score on old turns.
            try await api.ingest(Build.turn("t2", session: "s", user: "u", number: 2, at: 60_000))
            #expect(try await api.session("s")["turnCount"]?.intValue == 2)
            try await api.ingest([Build.observation("event", "t1-extra", trace: "t1", name: "late", start: 10)])
            #expect(try await api.session("s")["observationCount"]?.intValue == 7)
            try await api.ingest([Build.score("sc1", trace: "t1", name: "quality", value: 0.5)])
            let scored = try await api.session("s")
            #expect(scored["traces"]?.arrayValue?.first?["scores"]?.arrayValue?.count == 1)
            try await api.ingest([Build.score("sc2", session: "s", name: "csat", value: 1)])
            #expect(try await api.session("s")["sessionScores"]?.arrayValue?.count == 1)
            // The summary form is kept apart and follows too.
            #expect(try await api.json("/api/public/sessions/s?fields=summary")["turns"]?.arrayValue?.count == 2)

            // Session calls.
            _ = try await api.json(post: "/api/public/sessions", #"{"id": "s", "metadata": {"plan": "pro"}}"#, status: 201)
            #expect(try await api.session("s")["metadata"]?["plan"]?.stringValue == "pro")
            _ = try await api.json(post: "/api/public/sessions/s/end", #"{"reason": "completed"}"#, status: 200)
            #expect(try await api.session("s")["status"]?.stringValue == "ended")

            // Deletions: a score, a trace, then the whole session.
            #expect(await api.delete("/api/public/scores/sc1").status == 204)
            #expect(try await api.session("s")["traces"]?.arrayValue?.first?["scores"]?.arrayValue?.isEmpty == true)
            #expect(await api.delete("/api/public/traces/t2").status == 200)
            #expect(try await api.session("s")["turnCount"]?.intValue == 1)
            #expect(try await api.json("/api/public/sessions/s?fields=summary")["turns"]?.arrayValue?.count == 1)
            #expect(await api.delete("/api/public/sessions/s").status == 200)
            try expectNotFound(await api.get("/api/public/sessions/s"), message: "Session not found within authorized project")
            try expectNotFound(await api.get("/api/public/sessions/s?fields=summary"), message: "Session not found within authorized project")
        }
    }

    @Test func erasureAndRetentionAreNeverAnsweredFromMemory() async throws {
        try await APIHarness.with { api in
            try await api.ingest(Build.turn("t1", session: "erased", user: "u-erased", number: 1, at: 0))
            try await api.ingest(Build.turn("t2", session: "old", user: "u-kept", number: 1, at: 0))
            for session in ["erased", "old"] {
                _ = try await api.session(session)
                _ = try await api.session(session)  // now kept in memory
            }
            #expect(await api.delete("/api/public/users/u-erased").status == 200)
            try expectNotFound(await api.get("/api/public/sessions/erased"), message: "Session not found within authorized project")

            let now = Build.base + 400 * 86_400_000
            let retention = RetentionSweeper(database: api.database, defaultDays: 30, logger: .test) { now }
            #expect(try await retention.sweep(now: now) > 0)
            try expectNotFound(await api.get("/api/public/sessions/old"), message: "Session not found within authorized project")
        }
    }
}
