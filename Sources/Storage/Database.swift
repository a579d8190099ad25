import Synchronization

/// Parley's SQLite database: one writer connection plus a reader, in WAL mode.
///
/// This is the ground floor for issue #3, which adds migrations, the group-commit writer and
/// the reader pool. Today it opens the file, applies the pragmas, and answers readiness checks.
public final class Database: Sendable {
    /// How much a commit survives (https://sqlite.org/pragma.html#pragma_synchronous).
    public enum Durability: String, Sendable, CaseIterable {
        /// `synchronous=NORMAL` in WAL: survives a process crash; a power loss may lose the last commits.
        case normal
        /// `synchronous=FULL`: every commit is fsynced before it is acknowledged.
        case full
    }

    public let path: String
    // A Mutex serialises use of the NOMUTEX connection across threads.
    private let reader: Mutex<SQLiteConnection?>

    /// Opens or creates the database at `path`.
    public init(path: String, durability: Durability = .normal) throws(SQLiteError) {
        self.path = path
        let connection = try SQLiteConnection(path: path)
        // https://sqlite.org/wal.html: readers never block the writer and the writer never blocks readers.
        _ = try connection.scalarText("PRAGMA journal_mode=WAL")
        try connection.execute("PRAGMA synchronous=\(durability == .full ? "FULL" : "NORMAL")")
        try connection.execute("PRAGMA foreign_keys=ON")
        reader = Mutex(connection)
    }

    /// True when the database answers a trivial query; backs `GET /api/public/ready`.
    public func isReady() -> Bool {
        reader.withLock { connection in
            guard let connection else { return false }
            return (try? connection.scalarText("SELECT 1")) == "1"
        }
    }

    /// Runs `PRAGMA integrity_check`; returns "ok" or SQLite's list of problems.
    public func integrityCheck() throws(SQLiteError) -> String {
        try reader.withLock { connection throws(SQLiteError) in
            guard let connection else { return "closed" }
            return try connection.scalarText("PRAGMA integrity_check") ?? "no result"
        }
    }

    /// Closes the connection; later calls report not ready.
    public func close() {
        reader.withLock { $0 = nil }
    }
}
