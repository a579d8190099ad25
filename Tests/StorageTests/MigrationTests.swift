import Foundation
@testable import Storage
import Testing
import TestSupport

/// Opening a database file: WAL, pragmas, schema version, and refusal of newer schemas
/// (docs/DATA_MODEL.md; https://sqlite.org/pragma.html#pragma_user_version).
@Suite("Migrations")
struct MigrationTests {
    @Test func freshFileGetsWALAndTheLatestSchemaVersion() async throws {
        try await TestDatabase.with { test async throws in
            let journal = try test.database.readBlocking { try $0.scalarText("PRAGMA journal_mode") }
            #expect(journal == "wal")
            let version = try test.database.readBlocking { try $0.scalarText("PRAGMA user_version") }
            #expect(version == String(Migrations.latestVersion))
            #expect(Migrations.latestVersion >= 1)
            let tables = try test.database.readBlocking { db in
                var names: [String] = []
                // sqlite_sequence is SQLite's own (models uses AUTOINCREMENT).
                try db.statement("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
                    .query { names.append($0.text(0) ?? "") }
                return names
            }
            #expect(tables == TestDatabase.allTables.sorted())
        }
    }

    @Test func writerRunsWithForeignKeysAndNormalSynchronous() async throws {
        try await TestDatabase.with { test async throws in
            let pragmas = try await test.database.writer.write { db in
                [try db.scalarText("PRAGMA foreign_keys"), try db.scalarText("PRAGMA synchronous")]
            }
            #expect(pragmas == ["1", "1"])  // synchronous 1 = NORMAL
        }
    }

    @Test func fullDurabilitySetsSynchronousFull() async throws {
        var configuration = Database.Configuration()
        configuration.durability = .full
        try await TestDatabase.with(configuration: configuration) { test async throws in
            let synchronous = try await test.database.writer.write { db in try db.scalarText("PRAGMA synchronous") }
            #expect(synchronous == "2")  // FULL
        }
    }

    @Test func reopeningKeepsDataAndVersion() async throws {
        let directory = try TempDirectory(prefix: "parley-db")
        let path = directory.file("parley.sqlite")
        let first = try Database(path: path)
        _ = try await first.writer.write { db in try ProjectStore.createProject(publicID: "p", name: "kept", now: 1, on: db) }
        first.close()

        let second = try Database(path: path)
        defer { second.close() }
        #expect(try second.readBlocking { try ProjectStore.project(named: "kept", on: $0) }?.publicID == "p")
        #expect(try second.readBlocking { try $0.scalarText("PRAGMA user_version") } == String(Migrations.latestVersion))
    }

    @Test func newerSchemaVersionIsRefusedWithoutMigratingIt() throws {
        let directory = try TempDirectory(prefix: "parley-db")
        let path = directory.file("future.sqlite")
        let newer = Migrations.latestVersion + 1
        do {
            let connection = try SQLiteConnection(path: path)
            try connection.execute("CREATE TABLE from_the_future (x); PRAGMA user_version = \(newer)")
        }

        #expect(throws: StorageError.schemaTooNew(found: newer, known: Migrations.latestVersion)) {
            _ = try Database(path: path)
        }

        let connection = try SQLiteConnection(path: path, mode: .readOnly)
        #expect(try connection.scalarText("PRAGMA user_version") == String(newer))
        #expect(try connection.scalarText("SELECT group_concat(name) FROM sqlite_master WHERE type = 'table'") == "from_the_future")
    }

    /// A file written by a v3 binary: its traces' session-tracking attributes sit only in
    /// metadata. Opening it with v4 lifts them into the new columns and keeps what the sessions
    /// API declared.
    @Test func version4BackfillsSessionTrackingColumnsFromMetadata() throws {
        let directory = try TempDirectory(prefix: "parley-db")
        let path = directory.file("v3.sqlite")
        try Self.file(path, atSchema: 3, then: """
                INSERT INTO projects (id, public_id, name, created_at) VALUES (1, 'p', 'p', 0);
                INSERT INTO traces (project_id, trace_id, timestamp, session_id, metadata, created_at, updated_at) VALUES
                    (1, 't1', 0, 's1', '{"turn":{"number":2},"conversation.id":"c1","journey.converted":true,"context.tokens":"900"}', 0, 0),
                    (1, 't2', 0, 's1', '{"unrelated":1}', 0, 0),
                    (1, 't3', 0, 's1', NULL, 0, 0);
                INSERT INTO sessions (project_id, session_id, created_at, updated_at, type) VALUES (1, 's1', 0, 0, 'declared');
                """)
        let database = try Database(path: path)
        defer { database.close() }
        let rows = try database.readBlocking { db in
            var rows: [String] = []
            try db.statement("""
                SELECT trace_id, turn_number, conversation_id, journey_converted, context_tokens FROM traces ORDER BY trace_id
                """).query { row in
                rows.append([row.text(0), row.text(1), row.text(2), row.text(3), row.text(4)].map { $0 ?? "-" }.joined(separator: "|"))
            }
            return rows
        }
        #expect(rows == ["t1|2|c1|1|900", "t2|-|-|-|-", "t3|-|-|-|-"])
        #expect(try database.readBlocking { try $0.scalarText("SELECT declared_type FROM sessions") } == "declared")
    }

    @Test func migrationsAreNumberedInOrderWithoutGaps() {
        #expect(Migrations.all.map(\.version) == Array(1...Migrations.latestVersion))
        #expect(Derivations.all.map(\.version) == Array(1...Derivations.latestVersion))
    }

    /// A file as a binary of schema `version` left it: that schema's migrations, then `sql`.
    static func file(_ path: String, atSchema version: Int, then sql: String) throws {
        let connection = try SQLiteConnection(path: path)
        defer { connection.close() }
        for migration in Migrations.all where migration.version <= version { try connection.execute(migration.sql) }
        try connection.execute("PRAGMA user_version = \(version);\n" + sql)
    }

    /// Derived data is recomputed by today's code after every migration, once: a file from
    /// before schema v11 (whose binary did not fill v11's session aggregates) gets every session
    /// recomputed; a file from v12 already had it, and its sessions are left as they are (the
    /// wrong turn count planted here survives); both end with the newest derivation recorded.
    @Test(arguments: [(schema: 10, turnCount: "1"), (schema: 12, turnCount: "99")])
    func derivationsRunOnceAfterEveryMigrationForFilesThatLackThem(schema: Int, turnCount: String) throws {
        let directory = try TempDirectory(prefix: "parley-db")
        let path = directory.file("old.sqlite")
        try Self.file(path, atSchema: schema, then: """
            INSERT INTO projects (id, public_id, name, created_at) VALUES (1, 'p', 'p', 0);
            INSERT INTO traces (project_id, trace_id, timestamp, session_id, created_at, updated_at) VALUES (1, 't1', 0, 's1', 0, 0);
            INSERT INTO sessions (project_id, session_id, created_at, updated_at, turn_count) VALUES (1, 's1', 0, 0, 99);
            """)
        do {
            let database = try Database(path: path)
            defer { database.close() }
            #expect(try database.readBlocking { try $0.scalarText("SELECT turn_count FROM sessions") } == turnCount)
            #expect(try database.readBlocking { try $0.scalarText("PRAGMA user_version") } == String(Migrations.latestVersion))
            #expect(try database.readBlocking {
                try $0.scalarText("SELECT value FROM storage_meta WHERE key = 'derived_version'")
            } == String(Derivations.latestVersion))
            try database.writer.writeBlocking(admitted: false) { db in try db.execute("UPDATE sessions SET turn_count = 99") }
        }
        // Opened again, the file has every derivation: the planted count stays.
        let reopened = try Database(path: path)
        defer { reopened.close() }
        #expect(try reopened.readBlocking { try $0.scalarText("SELECT turn_count FROM sessions") } == "99")
    }

    /// The schema the migrations produce is the one checked in (`Tests/Fixtures/schema/schema.sql`),
    /// so a change to it shows in review as a change to that file. After an intended change,
    /// run this test with `PARLEY_UPDATE_SCHEMA_SNAPSHOT=1` to rewrite the file, and read its diff.
    @Test func theSchemaIsTheCheckedInSnapshot() throws {
        let directory = try TempDirectory(prefix: "parley-db")
        let database = try Database(path: directory.file("fresh.sqlite"))
        defer { database.close() }
        let schema = try database.readBlocking { db in
            var text = "-- The schema of a new Parley database (schema version \(Migrations.latestVersion)), as\n"
                + "-- sqlite_master holds it. Written by MigrationTests.theSchemaIsTheCheckedInSnapshot.\n"
            try db.statement("""
                SELECT sql FROM sqlite_master WHERE sql IS NOT NULL
                ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 WHEN 'trigger' THEN 2 ELSE 3 END, tbl_name, name
                """).query { row in text += "\n" + (row.text(0) ?? "") + ";\n" }
            return text
        }
        let snapshot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/schema/schema.sql")
        if ProcessInfo.processInfo.environment["PARLEY_UPDATE_SCHEMA_SNAPSHOT"] == "1" {
            try FileManager.default.createDirectory(at: snapshot.deletingLastPathComponent(), withIntermediateDirectories: true)
            try schema.write(to: snapshot, atomically: true, encoding: .utf8)
        }
        let checkedIn = try String(contentsOf: snapshot, encoding: .utf8)
        #expect(schema == checkedIn, "the schema differs from \(snapshot.path); if intended, rerun with PARLEY_UPDATE_SCHEMA_SNAPSHOT=1")
    }
}

/// Query plans of the statements on the settle path: each reads through an index of the session
/// it settles, never every row of the project (issue #18: "the score summary must not scan every
/// score of the project").
@Suite("Settle query plans")
struct SettleQueryPlanTests {
    @Test func theScoreSummaryReadsTheSessionsScoresThroughIndexes() async throws {
        try await TestDatabase.with { test async throws in
            let plan = try test.database.readBlocking { db in
                var lines: [String] = []
                try db.statement("EXPLAIN QUERY PLAN " + AggregateStore.scoreSummarySQL)
                    .query([.integer(1), .text("s")]) { lines.append($0.text(3) ?? "") }
                return lines
            }
            #expect(plan.contains { $0.contains("scores USING INDEX scores_by_session (project_id=? AND session_id=?)") }, "\(plan)")
            #expect(plan.contains { $0.contains("USING INDEX traces_by_session (project_id=? AND session_id=?)") }, "\(plan)")
            #expect(plan.contains { $0.contains("USING INDEX scores_by_trace (project_id=? AND trace_id=?)") }, "\(plan)")
            #expect(!plan.contains { $0.hasPrefix("SCAN") && !$0.contains("subquery") }, "\(plan)")
            #expect(!plan.contains { $0.contains("(project_id=?)") }, "a search of the whole project: \(plan)")
        }
    }
}

/// The trace write of ingestion (issue #18, "keep unchanged keys from being rewritten"): SQLite
/// rewrites an index entry for every indexed column an UPDATE sets, so the update of an existing
/// trace sets only the indexed columns whose value changed. Read from the statements' bytecode.
@Suite("Trace update bytecode")
struct TraceUpdateBytecodeTests {
    /// The index entries `sql` deletes (`IdxDelete`), by opcode count.
    static func indexDeletes(_ sql: String, in test: TestDatabase) throws -> Int {
        try test.database.readBlocking { db in
            var count = 0
            try db.statement("EXPLAIN " + sql).query { row in
                if row.text(1) == "IdxDelete" { count += 1 }
            }
            return count
        }
    }

    @Test func tracesKeepOnlyTheIndexesAQueryNeeds() async throws {
        try await TestDatabase.with { test async throws in
            let indexes = try test.database.readBlocking { db in
                var names: [String] = []
                try db.statement("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'traces' AND sql IS NOT NULL ORDER BY name")
                    .query { names.append($0.text(0) ?? "") }
                return names
            }
            // docs/DATA_MODEL.md, "Indexes": v12 dropped traces_by_conversation and traces_by_journey.
            #expect(indexes == ["traces_by_session", "traces_by_time", "traces_by_user"])
        }
    }

    @Test func anUpdateThatChangesNoIndexedColumnTouchesNoIndexAndEachChangedOneItsOwn() async throws {
        try await TestDatabase.with { test async throws in
            #expect(try Self.indexDeletes(TraceColumns.update(changing: []), in: test) == 0)
            // timestamp is in traces_by_time, traces_by_user and traces_by_session.
            #expect(try Self.indexDeletes(TraceColumns.update(changing: [0]), in: test) == 3)
            #expect(try Self.indexDeletes(TraceColumns.update(changing: [TraceColumns.userIndex]), in: test) == 1)
            // Every indexed column: the three trace indexes (the upsert before issue #18 rewrote
            // five, two of which served no query and are gone since schema v12).
            #expect(try Self.indexDeletes(TraceColumns.update(changing: Array(TraceColumns.indexed.indices)), in: test) == 3)
        }
    }
}
