import Foundation
@testable import Storage
import Synchronization
import Testing
import TestSupport

/// WAL checkpoints run off the writer's commit path: the writer's connection reports the WAL's
/// size instead of checkpointing, and a background checkpoint copies the frames and lets the
/// WAL restart.
@Suite("Checkpoints")
struct CheckpointTests {
    /// One insert per commit, `count` times, on `connection`.
    static func commitRows(_ count: Int, from start: Int = 0, on connection: SQLiteConnection) throws {
        for index in start..<(start + count) {
            try connection.statement("INSERT INTO t (value) VALUES (?)").run([.text("row-\(index)")])
        }
    }

    /// A read-write connection in WAL mode on a new file with one table `t`. No fsync per
    /// commit: these tests need many commits, not durable ones, and must not hold a
    /// cooperative-pool thread in fsyncs while the other suites wait for it.
    static func walWriter(_ path: String) throws -> SQLiteConnection {
        let writer = try SQLiteConnection(path: path)
        _ = try writer.scalarText("PRAGMA journal_mode=WAL")
        try writer.execute("PRAGMA synchronous=OFF")
        try writer.execute("CREATE TABLE t (value TEXT NOT NULL)")
        return writer
    }

    /// The WAL sizes a writer's hook reported, one per commit.
    final class ReportedFrames: Sendable {
        private let frames = Mutex<[Int]>([])
        func add(_ count: Int) { frames.withLock { $0.append(count) } }
        var all: [Int] { frames.withLock { $0 } }
        var last: Int? { frames.withLock { $0.last } }
    }

    /// `walWriter` with a WAL hook that records what it reports.
    static func reportingWALWriter(_ path: String) throws -> (SQLiteConnection, ReportedFrames) {
        let writer = try walWriter(path)
        let reported = ReportedFrames()
        writer.onWALCommit { reported.add($0) }
        return (writer, reported)
    }

    @Test func aWALHookReplacesTheAutomaticCheckpointAndARestartRewindsTheWAL() throws {
        let directory = try TempDirectory(prefix: "parley-wal")
        let path = directory.file("wal.sqlite")
        let (writer, reported) = try Self.reportingWALWriter(path)
        defer { writer.close() }

        // SQLite's own automatic checkpoint would rewind the WAL after 1,000 frames; with the
        // hook in its place the WAL only grows, one or more frames per commit.
        try Self.commitRows(1_200, on: writer)
        let frames = reported.all
        #expect(frames.count == 1_200)
        #expect(zip(frames, frames.dropFirst()).allSatisfy { $0 < $1 })
        let walFrames = try #require(frames.last)
        #expect(walFrames > 1_200)

        // Another connection copies every frame into the database file and rewinds the WAL.
        let checkpointer = try SQLiteConnection(path: path)
        defer { checkpointer.close() }
        let result = try checkpointer.checkpoint(.restart)
        #expect(result.walFrames == walFrames)
        #expect(result.checkpointed == walFrames)
        try Self.commitRows(1, from: 1_200, on: writer)
        let afterRestart = try #require(reported.last)
        #expect(afterRestart < 10)
        #expect(try writer.scalarText("SELECT count(*) FROM t") == "1201")
    }

    @Test func aPassiveCheckpointCopiesWhatTheWriterCommitted() throws {
        let directory = try TempDirectory(prefix: "parley-wal")
        let path = directory.file("wal.sqlite")
        let writer = try Self.walWriter(path)
        defer { writer.close() }
        writer.onWALCommit { _ in }
        try Self.commitRows(50, on: writer)
        let other = try SQLiteConnection(path: path)
        defer { other.close() }
        let first = try other.checkpoint(.passive)
        #expect(first.walFrames > 50)
        #expect(first.checkpointed == first.walFrames)
        // Nothing new: the same frames, all already copied.
        let second = try other.checkpoint(.passive)
        #expect(second.walFrames == first.walFrames)
        #expect(second.checkpointed == first.walFrames)
    }

    @Test func theDatabaseCheckpointsInTheBackgroundAndKeepsEveryCommit() async throws {
        var configuration = Database.Configuration()
        configuration.framesPerCheckpoint = 20
        configuration.maxWALFrames = 200
        let directory = try TempDirectory(prefix: "parley-wal")
        let path = directory.file("parley.sqlite")
        let database = try Database(path: path, configuration: configuration)
        try await database.writer.write { db in try db.execute("CREATE TABLE t (value TEXT NOT NULL)") }
        for batch in 0..<100 {
            try await database.writer.write { db in try Self.commitRows(5, from: batch * 5, on: db) }
        }
        // The checkpoint thread runs on its own schedule: wait for it rather than for a time.
        var waited = 0
        while database.checkpointCount == 0 && waited < 1_000 {
            try await Task.sleep(for: .milliseconds(10))
            waited += 1
        }
        #expect(database.checkpointCount > 0)
        #expect(try database.readBlocking { try $0.scalarText("SELECT count(*) FROM t") } == "500")
        #expect(try database.integrityCheck() == "ok")
        database.close()

        // Closing checkpointed the rest and removed the WAL; the file alone holds every row.
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        let reopened = try Database(path: path)
        defer { reopened.close() }
        #expect(try reopened.readBlocking { try $0.scalarText("SELECT count(*) FROM t") } == "500")
    }

    /// Past `maxWALFrames` the checkpointer rewinds the WAL (RESTART), after a PASSIVE copy
    /// that leaves the RESTART only the frames committed meanwhile; below it, PASSIVE alone.
    @Test func pastTheBoundAPassiveCheckpointIsFollowedByARestartThatRewindsTheWAL() async throws {
        let directory = try TempDirectory(prefix: "parley-wal")
        let path = directory.file("wal.sqlite")
        let (writer, reported) = try Self.reportingWALWriter(path)
        defer { writer.close() }
        let checkpointer = Checkpointer(
            connection: try SQLiteConnection(path: path), configuration: .init(framesPerCheckpoint: 10, maxWALFrames: 100))
        defer { checkpointer.close() }

        /// Reports the WAL's size as the writer's hook would, and waits for the checkpoint.
        func report(_ frames: Int) async throws {
            let before = checkpointer.checkpointCount
            checkpointer.walCommitted(frames: frames)
            var waited = 0
            while checkpointer.checkpointCount == before && waited < 1_000 {
                try await Task.sleep(for: .milliseconds(10))
                waited += 1
            }
            #expect(checkpointer.checkpointCount == before + 1)
        }

        // Below the bound: a passive checkpoint copies the frames, and the WAL is not rewound
        // by it (a rewind waits for the next write to find every frame copied).
        try Self.commitRows(30, on: writer)
        try await report(try #require(reported.last))
        #expect(checkpointer.restartCount == 0)

        // Past it: the same passive copy, then a RESTART (counted: with no reader in the way the
        // passive copy alone would let the next commit start the WAL over too).
        try Self.commitRows(120, from: 30, on: writer)
        let grown = try #require(reported.last)
        #expect(grown >= 100)
        try await report(grown)
        #expect(checkpointer.restartCount == 1)
        try Self.commitRows(1, from: 150, on: writer)
        #expect(try #require(reported.last) < 10)
        #expect(try writer.scalarText("SELECT count(*) FROM t") == "151")
    }
}
