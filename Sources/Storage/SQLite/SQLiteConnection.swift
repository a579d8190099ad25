import CSQLite

/// One SQLite connection. Not thread-safe by itself: it is opened with `SQLITE_OPEN_NOMUTEX`
/// and each owner serialises access (a single writer thread, or one reader at a time from a pool).
package final class SQLiteConnection: @unchecked Sendable {
    // @unchecked: opened NOMUTEX, so it must never be used by two threads at once. Its only
    // owners guarantee that: each is owned by one `ConnectionThread` (the writer, the
    // checkpointer, each reader) and used on that thread alone. Sendable lets it move there.
    /// How a connection is opened.
    package enum Mode: Sendable {
        case readWrite
        case readOnly
    }

    let handle: OpaquePointer
    package let path: String
    /// Prepared statements by SQL text, kept for the life of the connection.
    private var statements: [String: Statement] = [:]
    /// Traces whose observations or scores the current transaction changed, by project;
    /// their aggregates are recomputed once just before COMMIT (`AggregateStore.flushStaleTraces`),
    /// however many requests of the transaction touched them. Writer thread only.
    var staleTraces: [Int64: Set<String>] = [:]
    /// Sessions whose aggregates the current transaction changed, by project; marked dirty once
    /// just before COMMIT (`AggregateStore.flushStaleSessions`). Writer thread only.
    var staleSessions: [Int64: Set<String>] = [:]
    /// Dirty sessions the current transaction settled (`AggregateStore.settle`). Writer thread only.
    var settledSessions: [Int64: Set<String>] = [:]
    /// Model price resolvers by project (`ModelStore.resolver`), for the connection's owner alone.
    let priceCache = PriceCache()
    /// Recent entity folds (`IngestionStore`), for the connection's owner alone: the writer.
    let foldCache = FoldCache()

    /// Opens (creating if needed, in read-write mode) the database at `path`.
    package init(path: String, mode: Mode = .readWrite, busyTimeoutMillis: Int32 = 5_000) throws(SQLiteError) {
        self.path = path
        var db: OpaquePointer?
        let flags = (mode == .readWrite ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY)
            | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &db, flags, nil)
        guard status == SQLITE_OK, let db else {
            let error = SQLiteError(code: status, connection: db)
            sqlite3_close_v2(db)
            throw error
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        // https://sqlite.org/c3ref/busy_timeout.html: wait up to this long for a lock, then
        // return SQLITE_BUSY; never an unbounded busy handler.
        sqlite3_busy_timeout(db, busyTimeoutMillis)
    }

    private var isClosed = false

    deinit {
        close()
    }

    /// Finalizes cached statements and closes the handle; the last connection to close
    /// checkpoints the WAL into the database file. Safe to call more than once.
    package func close() {
        guard !isClosed else { return }
        isClosed = true
        statements.removeAll()
        sqlite3_close_v2(handle)
    }

    /// The cached prepared statement for `sql`, preparing it on first use.
    package func statement(_ sql: String) throws(SQLiteError) -> Statement {
        if let cached = statements[sql] { return cached }
        let statement = try Statement(connection: self, sql: sql)
        statements[sql] = statement
        return statement
    }

    /// How `checkpoint(_:)` treats concurrent writers and readers
    /// (https://sqlite.org/c3ref/wal_checkpoint_v2.html).
    package enum CheckpointMode: Sendable {
        /// Copies what it can without waiting for any lock; writers carry on meanwhile.
        case passive
        /// Waits (up to the busy timeout) for the writer lock and for readers, copies everything,
        /// and makes the next writer start the WAL from its beginning.
        case restart

        var code: Int32 { self == .passive ? SQLITE_CHECKPOINT_PASSIVE : SQLITE_CHECKPOINT_RESTART }
    }

    /// Copies committed WAL frames into the database file; returns the frames in the WAL and
    /// how many of them are now in the database file.
    @discardableResult
    package func checkpoint(_ mode: CheckpointMode) throws(SQLiteError) -> (walFrames: Int, checkpointed: Int) {
        var frames: Int32 = 0
        var copied: Int32 = 0
        // A connection that has not read the database yet does not know it is in WAL mode, and
        // its checkpoint would do nothing (and report -1 frames): reading the header first
        // opens the WAL.
        _ = try scalarText("PRAGMA schema_version")
        let status = sqlite3_wal_checkpoint_v2(handle, nil, mode.code, &frames, &copied)
        // BUSY from a RESTART means the copy happened but readers kept the WAL from restarting.
        guard status == SQLITE_OK || (status == SQLITE_BUSY && mode == .restart) else {
            throw SQLiteError(code: status, connection: handle, sql: "wal_checkpoint")
        }
        return (Int(frames), Int(copied))
    }

    /// Calls `body` after every commit on this connection with the number of frames now in the
    /// WAL, instead of SQLite's automatic checkpoint on the committing thread
    /// (https://sqlite.org/c3ref/wal_hook.html). `body` runs on the committing thread and must
    /// be quick.
    package func onWALCommit(_ body: @escaping @Sendable (Int) -> Void) {
        let hook = WALHook(body)
        walHook = hook
        sqlite3_wal_hook(handle, { context, _, _, frames in
            guard let context else { return SQLITE_OK }
            Unmanaged<WALHook>.fromOpaque(context).takeUnretainedValue().body(Int(frames))
            return SQLITE_OK
        }, Unmanaged.passUnretained(hook).toOpaque())
    }

    /// Keeps the hook's closure alive as long as the connection that calls it.
    private var walHook: WALHook?

    /// Rowid of the last successful INSERT on this connection.
    package var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Rows changed by the last statement.
    package var changes: Int { Int(sqlite3_changes(handle)) }

    /// True inside BEGIN … COMMIT. False again after SQLite rolled a whole transaction back
    /// on its own, which it may do on SQLITE_FULL, IOERR, BUSY or NOMEM.
    package var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// Statements that have been stepped but not reset; must be 0 between operations (tests assert it).
    package var busyStatementCount: Int {
        var count = 0
        var statement = sqlite3_next_stmt(handle, nil)
        while let current = statement {
            if sqlite3_stmt_busy(current) != 0 { count += 1 }
            statement = sqlite3_next_stmt(handle, current)
        }
        return count
    }

    /// Runs one or more statements that return no rows.
    package func execute(_ sql: String) throws(SQLiteError) {
        let status = sqlite3_exec(handle, sql, nil, nil, nil)
        guard status == SQLITE_OK else { throw SQLiteError(code: status, connection: handle, sql: sql) }
    }

    /// Runs `sql` and returns the first column of the first row as text, or nil for no row.
    package func scalarText(_ sql: String) throws(SQLiteError) -> String? {
        var statement: OpaquePointer?
        var status = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
        guard status == SQLITE_OK, let statement else { throw SQLiteError(code: status, connection: handle, sql: sql) }
        defer { sqlite3_finalize(statement) }
        status = sqlite3_step(statement)
        switch status {
        case SQLITE_ROW:
            guard let text = sqlite3_column_text(statement, 0) else { return nil }
            let count = Int(sqlite3_column_bytes(statement, 0))
            return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
        case SQLITE_DONE:
            return nil
        default:
            throw SQLiteError(code: status, connection: handle, sql: sql)
        }
    }
}

/// The closure behind `onWALCommit`, passed to SQLite as an unretained context pointer; the
/// connection holds the only strong reference, and SQLite calls it only while the handle is open.
private final class WALHook: Sendable {
    let body: @Sendable (Int) -> Void
    init(_ body: @escaping @Sendable (Int) -> Void) { self.body = body }
}
