import Foundation
import Storage
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

    @Test func aWALHookReplacesTheAutomaticCheckpointAndARestartRewindsTheWAL() throws {
        let directory = try TempDirectory(prefix: "parley-wal")
        let path = directory.file("wal.sqlite")
        let writer = try Self.walWriter(path)
        defer { writer.close() }
        let reported = Mutex<[Int]>([])
        writer.onWALCommit { frames in reported.withLock { $0.append(frames) } }

        // SQLite's own automatic checkpoint would rewind the WAL after 1,000 frames; with the
        // hook in its place the WAL only grows, one or more frames per commit.
        try Self.commitRows(1_200, on: writer)
        let frames = reported.withLock { $0 }
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
        let afterRestart = try #require(reported.withLock { $0.last })
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
}
