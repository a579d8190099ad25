import Dispatch
import Synchronization

/// Parley's SQLite database: one writer connection with group commit, plus a pool of read-only
/// connections, in WAL mode so readers never block the writer (https://sqlite.org/wal.html).
package final class Database: Sendable {
    /// How much a commit survives (https://sqlite.org/pragma.html#pragma_synchronous).
    package enum Durability: String, Sendable, CaseIterable {
        /// `synchronous=NORMAL` in WAL: survives a process crash; a power loss may lose the last commits.
        case normal
        /// `synchronous=FULL`: the WAL is fsynced at every commit, before it is acknowledged.
        case full
    }

    package struct Configuration: Sendable {
        package var durability: Durability = .normal
        /// Read-only connections in the pool.
        package var readers = 4
        /// Milliseconds a connection waits for a lock before SQLITE_BUSY.
        package var busyTimeoutMillis: Int32 = 5_000
        package var writer = DatabaseWriter.Configuration()
        /// WAL frames that start a background checkpoint.
        package var framesPerCheckpoint = 1_000
        /// WAL frames past which a checkpoint waits for writers so that the WAL stays bounded.
        package var maxWALFrames = 16_000
        /// How soon after a write the background settler recomputes the sessions it changed
        /// (reads settle what they reach at once, whatever this is).
        package var settleDelay: Duration = .milliseconds(500)
        /// Sessions settled per writer job.
        package var settleBatch = 64
        /// Dirty sessions a read settles at most before it answers, besides the ones it names
        /// (`settleForRead`): past this backlog a list or analytics read answers from the figures
        /// last settled while the settler catches up, instead of waiting for all of them.
        package var readSettleLimit = 1_000

        package init() {}
    }

    package let path: String
    package let writer: DatabaseWriter
    /// Which sessions each commit changed, for live views (the console's event stream).
    package let commits: CommitFeed
    private let pool: ReaderPool
    private let checkpointer: Checkpointer
    /// Sessions whose analytics are still to be settled (`AggregateStore.settle`), and the
    /// background job that settles them.
    private let dirty: DirtySessions
    private let settler: SessionSettler
    private let folds: FoldCounters
    private let readSettleLimit: Int

    /// Opens or creates the database at `path` and brings its schema up to date.
    package init(path: String, configuration: Configuration = Configuration()) throws {
        self.path = path
        let synchronous = "PRAGMA synchronous=\(configuration.durability == .full ? "FULL" : "NORMAL")"
        let connection = try SQLiteConnection(path: path, busyTimeoutMillis: configuration.busyTimeoutMillis)
        _ = try connection.scalarText("PRAGMA journal_mode=WAL")
        try connection.execute(synchronous)
        try connection.execute("PRAGMA foreign_keys=ON")
        try Migrations.apply(to: connection)
        folds = connection.foldCache.counters
        readSettleLimit = max(0, configuration.readSettleLimit)
        let dirty = DirtySessions(try AggregateStore.dirtySessions(on: connection))
        self.dirty = dirty
        // Checkpoints leave the writer's commit path for a thread of their own (Checkpointer).
        let checkpointConnection = try SQLiteConnection(path: path, busyTimeoutMillis: configuration.busyTimeoutMillis)
        try checkpointConnection.execute(synchronous)
        let checkpointer = Checkpointer(
            connection: checkpointConnection,
            configuration: .init(
                framesPerCheckpoint: configuration.framesPerCheckpoint, maxWALFrames: configuration.maxWALFrames))
        self.checkpointer = checkpointer
        connection.onWALCommit { frames in checkpointer.walCommitted(frames: frames) }
        var readers: [ConnectionThread] = []
        let readerWake = DispatchSemaphore(value: 0)
        for index in 0..<max(1, configuration.readers) {
            let reader = try SQLiteConnection(path: path, mode: .readOnly, busyTimeoutMillis: configuration.busyTimeoutMillis)
            try reader.execute("PRAGMA foreign_keys=ON")
            readers.append(ConnectionThread(name: "parley-reader-\(index)", connection: reader, wake: readerWake))
        }
        pool = ReaderPool(readers)
        let commits = CommitFeed()
        self.commits = commits
        writer = DatabaseWriter(
            connection: connection, configuration: configuration.writer,
            beforeCommit: { db in
                try AggregateStore.flushStaleTraces(on: db)
                commits.stage(db.staleSessions)
                dirty.stage(marked: db.staleSessions, settled: db.settledSessions)
                db.settledSessions = [:]
                try AggregateStore.flushStaleSessions(on: db)
            },
            afterTransaction: { committed in
                dirty.finish(committed: committed)
                commits.finish(committed: committed)
            })
        settler = SessionSettler(
            configuration: .init(delay: configuration.settleDelay, batch: configuration.settleBatch), dirty: dirty, writer: writer)
        settler.start()
    }

    package convenience init(path: String, durability: Durability) throws {
        var configuration = Configuration()
        configuration.durability = durability
        try self.init(path: path, configuration: configuration)
    }

    /// Runs `body` on a read-only connection, on one of the reader threads; the caller is
    /// suspended, not blocked, meanwhile. This is how request handlers read: no SQLite call runs
    /// on the cooperative pool.
    package func read<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await pool.read(body)
    }

    /// Runs `body` on a reader thread and blocks the calling thread until it is done: for
    /// callers that are not async (the CLI, streamed-response producers on their own executor).
    /// Never call it from the cooperative pool.
    package func readBlocking<T>(_ body: @escaping (SQLiteConnection) throws -> T) throws -> T {
        try pool.readBlocking(body)
    }

    /// Settles the project's dirty sessions before a read (read-your-writes): every write
    /// acknowledged before this call is then reflected in every session figure. Only the
    /// sessions dirty now are settled (later writes are not waited for), in writer jobs of at
    /// most 500; a project with none costs one lookup.
    ///
    /// `sessions` (those of them that are dirty) are settled first, whatever `limit` says; then at
    /// most `limit` others, so that a read after a large backlog (a restart whose sweeper ends
    /// thousands of sessions at once, an ingestion burst the settler trails) waits for a bounded
    /// amount of work, not for all of it. Returns how many of the project's sessions stay dirty.
    /// `settle` as every read does it first: at most `Configuration.readSettleLimit` of the
    /// project's dirty sessions. Returns how many stay dirty.
    @discardableResult
    package func settleForRead(projectID: Int64) async throws -> Int {
        try await settle(projectID: projectID, limit: readSettleLimit)
    }

    @discardableResult
    package func settle(projectID: Int64, sessions wanted: [String] = [], limit: Int = .max) async throws -> Int {
        let dirtyNow = dirty.sessions(of: projectID)
        let first = wanted.filter { dirtyNow.contains($0) }
        // Taken lazily: after a backlog the set holds 100,000 sessions, and a read wants `limit`.
        let others = dirtyNow.lazy.filter { !first.contains($0) }.prefix(max(0, limit))
        let sessions = first + others
        for start in stride(from: 0, to: sessions.count, by: 500) {
            let chunk = Array(sessions[start..<min(start + 500, sessions.count)])
            // Urgent: a read is waiting, and the ingestion queued meanwhile is not its to see.
            let settled = try await writer.write(admitted: false, urgent: true) { db in
                try AggregateStore.settle(projectID: projectID, sessions: chunk, limit: chunk.count, on: db)
            }
            settler.record(settled)
        }
        return dirty.count(of: projectID)
    }

    /// Settles every dirty session now, blocking the calling thread (for the CLI and test
    /// support: what they read is then what any read through the API would see).
    package func settleEverythingBlocking() throws {
        while !dirty.isEmpty {
            let settled = try writer.writeBlocking(admitted: false) { db in try AggregateStore.settle(limit: 500, on: db) }
            settler.record(settled)
            if settled.isEmpty { return }
        }
    }

    /// Sessions still to be settled, in all projects.
    package var dirtySessionCount: Int { dirty.count }

    /// Sessions settled since start, the mean and the longest time (ms) one waited after its
    /// write: the lag of the session figures behind ingestion, when nothing reads them.
    package var settleLag: (settled: Int, meanMs: Double, maxMs: Int64) {
        let figures = settler.settledFigures
        return (figures.settled, figures.settled == 0 ? 0 : Double(figures.waitedMsTotal) / Double(figures.settled),
                figures.waitedMsMax)
    }

    /// Entity folds since start: events applied as one step on the writer's cached fold, and
    /// entities re-folded from all their stored events (`IngestionStore`).
    package var foldFigures: (steps: Int, refolds: Int) {
        (folds.steps.load(ordering: .relaxed), folds.refolds.load(ordering: .relaxed))
    }

    /// True when the database answers a trivial query; backs `GET /api/public/ready`.
    package func isReady() async -> Bool {
        (try? await read { try $0.scalarText("SELECT 1") }) == "1"
    }

    /// `PRAGMA integrity_check`: "ok" or SQLite's list of problems.
    package func integrityCheck() throws -> String {
        try readBlocking { try $0.scalarText("PRAGMA integrity_check") ?? "no result" }
    }

    /// Background WAL checkpoints run so far.
    package var checkpointCount: Int { checkpointer.checkpointCount }

    /// Settles what is dirty, finishes queued writes, then closes every connection. Reads
    /// afterwards fail.
    package func close() {
        // Readers and the checkpointer first: the last connection to close checkpoints the WAL
        // into the main file and removes it, and only a read-write connection can do that.
        settler.stop()
        // A stopped server leaves every session settled (what is left dirty after a crash is
        // settled by the next start). Best effort: a full disk leaves the marks for then.
        try? settleEverythingBlocking()
        pool.close()
        checkpointer.close()
        writer.close()
    }
}
