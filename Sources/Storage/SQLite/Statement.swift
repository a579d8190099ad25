import CSQLite

/// A value SQLite can bind or return.
package enum SQLiteValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

/// One prepared statement, owned by one connection. Finalized in `deinit`.
package final class Statement {
    let handle: OpaquePointer
    private unowned let connection: SQLiteConnection
    package let sql: String

    init(connection: SQLiteConnection, sql: String) throws(SQLiteError) {
        var statement: OpaquePointer?
        let status = sqlite3_prepare_v3(connection.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard status == SQLITE_OK, let statement else {
            throw SQLiteError(code: status, connection: connection.handle, sql: sql)
        }
        handle = statement
        self.connection = connection
        self.sql = sql
    }

    deinit {
        sqlite3_finalize(handle)
    }

    /// How many times the statement has run to completion or to a row since it was prepared
    /// (`SQLITE_STMTSTATUS_RUN`): lets a test count how often a write path ran a statement.
    var runCount: Int {
        Int(sqlite3_stmt_status(handle, SQLITE_STMTSTATUS_RUN, 0))
    }

    /// Resets the statement and clears its bindings, ready for the next use.
    package func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Binds `values` to parameters 1...n.
    package func bind(_ values: [SQLiteValue]) throws(SQLiteError) {
        for (offset, value) in values.enumerated() {
            try bind(value, at: Int32(offset + 1))
        }
    }

    package func bind(_ value: SQLiteValue, at index: Int32) throws(SQLiteError) {
        let status: Int32
        switch value {
        case .null:
            status = sqlite3_bind_null(handle, index)
        case .integer(let number):
            status = sqlite3_bind_int64(handle, index, number)
        case .real(let number):
            status = sqlite3_bind_double(handle, index, number)
        case .text(let text):
            // Bound by UTF-8 byte count, so text with NUL bytes survives intact.
            var text = text
            status = text.withUTF8 { bytes in
                sqlite3_bind_text(handle, index, UnsafeRawPointer(bytes.baseAddress)?.assumingMemoryBound(to: CChar.self),
                                  Int32(bytes.count), csqlite_transient())
            }
        case .blob(let bytes):
            status = bytes.withUnsafeBytes { raw in
                sqlite3_bind_blob(handle, index, raw.baseAddress, Int32(raw.count), csqlite_transient())
            }
        }
        guard status == SQLITE_OK else { throw SQLiteError(code: status, connection: connection.handle, sql: sql) }
    }

    /// Steps once; true when a row is available.
    @discardableResult
    package func step() throws(SQLiteError) -> Bool {
        let status = sqlite3_step(handle)
        switch status {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw SQLiteError(code: status, connection: connection.handle, sql: sql)
        }
    }

    /// Runs the statement to completion with `values` bound, then resets it.
    package func run(_ values: [SQLiteValue] = []) throws(SQLiteError) {
        defer { reset() }
        try bind(values)
        while try step() {}
    }

    /// Runs the statement with `values` bound, calling `row` for each result row, then resets it.
    package func query(_ values: [SQLiteValue] = [], row: (Statement) throws -> Void) throws {
        defer { reset() }
        try bind(values)
        while try step() { try row(self) }
    }

    // MARK: Columns (valid after `step()` returned true)

    package func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(handle, column) == SQLITE_NULL
    }

    package func int(_ column: Int32) -> Int64 {
        sqlite3_column_int64(handle, column)
    }

    package func double(_ column: Int32) -> Double {
        sqlite3_column_double(handle, column)
    }

    /// Text read by byte length (https://sqlite.org/c3ref/column_blob.html: call _text, then _bytes),
    /// so embedded NULs are kept.
    package func text(_ column: Int32) -> String? {
        guard let pointer = sqlite3_column_text(handle, column) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    /// The column as whatever type SQLite holds it in.
    package func value(_ column: Int32) -> SQLiteValue {
        switch sqlite3_column_type(handle, column) {
        case SQLITE_INTEGER: .integer(int(column))
        case SQLITE_FLOAT: .real(double(column))
        case SQLITE_TEXT: text(column).map(SQLiteValue.text) ?? .null
        case SQLITE_BLOB: .blob(blob(column) ?? [])
        default: .null
        }
    }

    package func blob(_ column: Int32) -> [UInt8]? {
        guard let pointer = sqlite3_column_blob(handle, column) else { return isNull(column) ? nil : [] }
        let count = Int(sqlite3_column_bytes(handle, column))
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}
