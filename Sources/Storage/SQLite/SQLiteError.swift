import CSQLite

/// A SQLite failure: the extended result code, `sqlite3_errmsg`, and the SQL text. Bound values
/// are never part of it, because traces hold user prompts.
package struct SQLiteError: Error, CustomStringConvertible, Sendable {
    package let code: Int32
    package let message: String
    package let sql: String?

    package var description: String {
        var text = "SQLite error \(code): \(message)"
        if let sql { text += " (in: \(sql))" }
        return text
    }

    /// UNIQUE, PRIMARY KEY, FOREIGN KEY, CHECK or NOT NULL failed (the primary code is 19).
    package var isConstraintViolation: Bool { code & 0xFF == SQLITE_CONSTRAINT }

    /// FULL: the disk (or `max_page_count`) has no room for the write. Retrying helps once
    /// space is freed; the transaction it broke was rolled back.
    package var isDiskFull: Bool { code & 0xFF == SQLITE_FULL }

    /// BUSY, LOCKED, FULL or IOERR: worth retrying later rather than reporting as a bug.
    package var isTransient: Bool {
        [SQLITE_BUSY, SQLITE_LOCKED, SQLITE_FULL, SQLITE_IOERR].contains(code & 0xFF)
    }

    init(code: Int32, connection: OpaquePointer?, sql: String? = nil) {
        self.code = code
        if let connection, let text = sqlite3_errmsg(connection) {
            message = String(cString: text)
        } else {
            message = String(cString: sqlite3_errstr(code))
        }
        self.sql = sql
    }
}
