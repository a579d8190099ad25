import Dispatch
import Storage
import Synchronization
import Testing
import TestSupport

/// The group-commit writer: every caller resumes after its transaction committed, a failing job
/// rolls back alone, the queue is bounded, and nothing is accepted after `close()`.
@Suite("DatabaseWriter")
struct DatabaseWriterTests {
    struct Boom: Error, Equatable {}

    /// Names recorded by jobs on the writer thread, read by the test afterwards.
    final class Names: Sendable {
        let names = Mutex<[String]>([])
    }

    static func createTable(_ database: Database) async throws {
        try await database.writer.write { db in try db.execute("CREATE TABLE t (name TEXT NOT NULL UNIQUE)") }
    }

    static func insert(_ name: String, on db: SQLiteConnection) throws {
        try db.statement("INSERT INTO t (name) VALUES (?)").run([.text(name)])
    }

    static func names(_ database: Database) throws -> [String] {
        try database.readBlocking { db in
            var names: [String] = []
            try db.statement("SELECT name FROM t ORDER BY name").query { names.append($0.text(0) ?? "") }
            return names
        }
    }

    @Test func manyConcurrentWritesAllCompleteAndCommit() async throws {
        try await TestDatabase.with { test async throws in
            let database = test.database
            try await Self.createTable(database)
            let count = 1_000
            let results = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<count {
                    group.addTask {
                        try await database.writer.write { db in
                            try Self.insert("row-\(index)", on: db)
                            return index
                        }
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(results.sorted() == Array(0..<count))
            #expect(try test.count("t") == count)
            #expect(database.writer.commitCount <= count + 1)
            #expect(try await test.writerBusyStatementCount() == 0)
        }
    }

    @Test func aThrowingJobRollsBackAloneWhileItsTransactionCommits() async throws {
        try await TestDatabase.with { test async throws in
            let database = test.database
            try await Self.createTable(database)
            let gate = await WriterGate(database.writer)
            let failedInCommit = Mutex<Int?>(nil)

            // Task.immediate runs up to the first suspension, which is after `write` enqueued.
            let before = Task.immediate {
                try await database.writer.write { db in
                    try Self.insert("before", on: db)
                    return database.writer.commitCount
                }
            }
            let failing = Task.immediate {
                try await database.writer.write { db -> Int in
                    try Self.insert("failing", on: db)
                    try db.execute("UPDATE t SET name = 'clobbered' WHERE name = 'before'")
                    failedInCommit.withLock { $0 = database.writer.commitCount }
                    throw Boom()
                }
            }
            let after = Task.immediate {
                try await database.writer.write { db in
                    try Self.insert("after", on: db)
                    return database.writer.commitCount
                }
            }
            gate.release()

            let blockerSaw = try await gate.blocker.value
            let beforeSaw = try await before.value
            let afterSaw = try await after.value
            await #expect(throws: Boom.self) { try await failing.value }
            // Jobs in one transaction see the same number of earlier commits.
            #expect(beforeSaw == blockerSaw + 1)
            #expect(afterSaw == beforeSaw)
            #expect(failedInCommit.withLock { $0 } == beforeSaw)
            #expect(try Self.names(database) == ["after", "before"])
        }
    }

    @Test func aJobViolatingAConstraintFailsAloneWithTheSQLiteError() async throws {
        try await TestDatabase.with { test async throws in
            let database = test.database
            try await Self.createTable(database)
            let gate = await WriterGate(database.writer)
            let first = Task.immediate { try await database.writer.write { db in try Self.insert("x", on: db) } }
            let duplicate = Task.immediate { try await database.writer.write { db in try Self.insert("x", on: db) } }
            let other = Task.immediate { try await database.writer.write { db in try Self.insert("y", on: db) } }
            gate.release()
            _ = try await gate.blocker.value
            try await first.value
            try await other.value
            do {
                try await duplicate.value
                Issue.record("a duplicate UNIQUE value was accepted")
            } catch let error as SQLiteError {
                #expect(error.isConstraintViolation)
            }
            #expect(try Self.names(database) == ["x", "y"])
        }
    }

    @Test func aFullDiskFailsItsJobsWithSQLiteFullNotWithALostSavepoint() async throws {
        // On SQLITE_FULL SQLite may roll back the whole transaction, savepoints included; the
        // writer must then fail the group's jobs with the cause (a full disk, a 503 upstream),
        // not with the error of a ROLLBACK TO that has nothing left to return to.
        try await TestDatabase.with { test async throws in
            let database = test.database
            try await Self.createTable(database)
            try await database.writer.write { db in
                let pages = Int(try db.scalarText("PRAGMA page_count") ?? "0") ?? 0
                _ = try db.scalarText("PRAGMA max_page_count = \(pages + 1)")
            }
            let gate = await WriterGate(database.writer)
            let small = Task.immediate { try await database.writer.write { db in try Self.insert("small", on: db) } }
            let big = Task.immediate {
                try await database.writer.write { db in try Self.insert(String(repeating: "x", count: 1_000_000), on: db) }
            }
            let later = Task.immediate { try await database.writer.write { db in try Self.insert("later", on: db) } }
            gate.release()
            _ = try await gate.blocker.value
            var stored: [String] = []
            for (name, task) in [("small", small), ("big", big), ("later", later)] {
                do {
                    try await task.value
                    stored.append(name)
                } catch let error as SQLiteError {
                    #expect(error.isDiskFull, "\(name): \(error)")
                }
            }
            #expect(!stored.contains("big"))
            #expect(try Self.names(database) == stored.sorted())
            #expect(try database.integrityCheck() == "ok")
            try await database.writer.write { db in _ = try db.scalarText("PRAGMA max_page_count = 1073741823") }
            try await database.writer.write { db in try Self.insert("after the cap", on: db) }
            #expect(try Self.names(database).contains("after the cap"))
        }
    }

    @Test func queueBeyondMaxPendingJobsIsOverloadedAtOnce() async throws {
        var configuration = TestDatabase.testing
        configuration.writer.maxPendingJobs = 2
        try await TestDatabase.with(configuration: configuration) { test async throws in
            let database = test.database
            try await Self.createTable(database)
            let gate = await WriterGate(database.writer)  // running, so no longer pending
            let queued = (0..<2).map { index in
                Task.immediate { try await database.writer.write { db in try Self.insert("queued-\(index)", on: db) } }
            }
            await #expect(throws: StorageError.overloaded) {
                try await database.writer.write { db in try Self.insert("overflow", on: db) }
            }
            gate.release()
            _ = try await gate.blocker.value
            for task in queued { try await task.value }
            // Overload is momentary: once the queue drains, writes are accepted again.
            try await database.writer.write { db in try Self.insert("later", on: db) }
            #expect(try Self.names(database) == ["later", "queued-0", "queued-1"])
        }
    }

    /// A queue whose oldest job has waited past `maxQueueDelay` refuses new jobs, however
    /// short it is, so that accepted writes never wait long; it accepts again once drained.
    @Test func aQueueOlderThanMaxQueueDelayIsOverloaded() async throws {
        var configuration = Database.Configuration()
        configuration.writer.maxQueueDelay = .milliseconds(100)
        try await TestDatabase.with(configuration: configuration) { test async throws in
            let database = test.database
            try await Self.createTable(database)
            #expect(!database.writer.isOverloaded)
            let gate = await WriterGate(database.writer)
            let queued = Task.immediate { try await database.writer.write { db in try Self.insert("queued", on: db) } }
            // Waiting past the delay is what makes the queue old; nothing here measures time.
            try await Task.sleep(for: .milliseconds(200))
            #expect(database.writer.isOverloaded)
            await #expect(throws: StorageError.overloaded) {
                try await database.writer.write { db in try Self.insert("refused", on: db) }
            }
            gate.release()
            _ = try await gate.blocker.value
            try await queued.value
            #expect(!database.writer.isOverloaded)
            try await database.writer.write { db in try Self.insert("later", on: db) }
            #expect(try Self.names(database) == ["later", "queued"])
        }
    }

    /// Urgent jobs (a read waiting on a settle) run before the jobs queued without it, in their
    /// own order; the others keep theirs.
    @Test func urgentJobsRunAheadOfTheQueueInTheirOrder() async throws {
        try await TestDatabase.with { test async throws in
            let database = test.database
            let order = Names()
            let gate = await WriterGate(database.writer)
            let jobs = [("a", false), ("b", false), ("u1", true), ("c", false), ("u2", true)].map { name, urgent in
                Task.immediate {
                    try await database.writer.write(admitted: !urgent, urgent: urgent) { _ in order.names.withLock { $0.append(name) } }
                }
            }
            gate.release()
            _ = try await gate.blocker.value
            for job in jobs { try await job.value }
            #expect(order.names.withLock { $0 } == ["u1", "u2", "a", "b", "c"])
        }
    }

    /// An urgent job queued at the front does not hide how long the oldest other job has waited.
    @Test func anUrgentJobDoesNotMakeAnOldQueueLookYoung() async throws {
        var configuration = Database.Configuration()
        configuration.writer.maxQueueDelay = .milliseconds(100)
        try await TestDatabase.with(configuration: configuration) { test async throws in
            let database = test.database
            let gate = await WriterGate(database.writer)
            let queued = Task.immediate { try await database.writer.write { _ in } }
            try await Task.sleep(for: .milliseconds(200))
            let urgent = Task.immediate { try await database.writer.write(admitted: false, urgent: true) { _ in } }
            #expect(database.writer.isOverloaded)
            gate.release()
            _ = try await gate.blocker.value
            try await queued.value
            try await urgent.value
            #expect(!database.writer.isOverloaded)
        }
    }

    @Test func closeFinishesQueuedWritesThenRefusesNewOnes() async throws {
        let test = try TestDatabase()
        let database = test.database
        try await Self.createTable(database)
        let gate = await WriterGate(database.writer)
        let queued = (0..<3).map { index in
            Task.immediate { try await database.writer.write { db in try Self.insert("queued-\(index)", on: db) } }
        }
        gate.release()
        database.close()

        _ = try await gate.blocker.value
        for task in queued { try await task.value }
        await #expect(throws: StorageError.closed) {
            try await database.writer.write { db in try Self.insert("too late", on: db) }
        }
        #expect(throws: StorageError.closed) { try database.readBlocking { _ in 0 } }
        database.close()  // a second close is harmless

        try withExtendedLifetime(test) {  // its temp directory holds the file
            let reopened = try Database(path: test.path)
            defer { reopened.close() }
            #expect(try Self.names(reopened) == ["queued-0", "queued-1", "queued-2"])
        }
    }

    @Test func readersSeeOnlyCommittedData() async throws {
        try await TestDatabase.with { test async throws in
            let database = test.database
            try await Self.createTable(database)
            let seenInside = try await database.writer.write { db in
                try Self.insert("pending", on: db)
                // Another connection reads the last committed snapshot (https://sqlite.org/wal.html).
                return try database.readBlocking { reader in try reader.scalarText("SELECT count(*) FROM t") }
            }
            #expect(seenInside == "0")
            #expect(try test.count("t") == 1)
            #expect(try test.readerBusyStatementCounts() == [0, 0, 0, 0])
        }
    }
}
