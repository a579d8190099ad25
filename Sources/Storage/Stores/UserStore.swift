import Model

/// The users API (`GET /api/public/users`): one row per user id a trace named, with figures
/// from that user's traces and sessions. User ids are in their stored form (hashed unless the
/// project turned hashing off; docs/PRIVACY.md).
package enum UserStore {
    package struct UserRow: Sendable, Equatable {
        package let userID: String
        package let firstSeen: Int64
        package let lastSeen: Int64
        package let sessions: Int64
        package let traces: Int64
        package let meanTurns: Double?
        package let meanDurationMs: Double?
        package let totalTokens: Int64
        package let totalCost: Double
    }

    /// Sortable columns of the list, by API field name.
    package static let sortColumns: [String: String] = [
        "lastSeen": "u.last_seen", "firstSeen": "u.first_seen", "userId": "u.user_id",
        "sessions": "sessions", "traces": "traces", "totalTokens": "total_tokens", "totalCost": "total_cost",
    ]

    /// Per-user figures as correlated subqueries, each an index range of `traces_by_user` or
    /// `sessions_by_user`: a page costs its users' rows, not the project's.
    private static let columns = """
        u.user_id, u.first_seen, u.last_seen,
        (SELECT count(*) FROM sessions s WHERE s.project_id = u.project_id AND s.user_id = u.user_id) AS sessions,
        (SELECT count(*) FROM traces t WHERE t.project_id = u.project_id AND t.user_id = u.user_id) AS traces,
        (SELECT avg(turn_count) FROM sessions s WHERE s.project_id = u.project_id AND s.user_id = u.user_id) AS mean_turns,
        (SELECT avg(duration_ms) FROM sessions s WHERE s.project_id = u.project_id AND s.user_id = u.user_id) AS mean_duration,
        (SELECT \(SQLExpressions.saturatingSum("total_tokens")) FROM traces t WHERE t.project_id = u.project_id AND t.user_id = u.user_id) AS total_tokens,
        (SELECT coalesce(sum(total_cost), 0) FROM traces t WHERE t.project_id = u.project_id AND t.user_id = u.user_id) AS total_cost
        """

    /// A page of users. `sort` is a value of `sortColumns`.
    package static func users(
        projectID: Int64, sort: String, descending: Bool, limit: Int, offset: Int, on db: SQLiteConnection
    ) throws -> ReadStore.Page<UserRow> {
        let direction = descending ? "DESC" : "ASC"
        var rows: [UserRow] = []
        try db.statement("""
            SELECT \(columns) FROM users u WHERE u.project_id = ?
            ORDER BY \(sort) \(direction), u.id \(direction) LIMIT ? OFFSET ?
            """).query([.integer(projectID), .integer(Int64(limit)), .integer(Int64(offset))]) { rows.append(row($0)) }
        var total = 0
        try db.statement("SELECT count(*) FROM users WHERE project_id = ?").query([.integer(projectID)]) { total = Int($0.int(0)) }
        return ReadStore.Page(rows: rows, totalItems: total)
    }

    package static func user(_ userID: String, projectID: Int64, on db: SQLiteConnection) throws -> UserRow? {
        var found: UserRow?
        try db.statement("SELECT \(columns) FROM users u WHERE u.project_id = ? AND u.user_id = ?")
            .query([.integer(projectID), .text(userID)]) { found = row($0) }
        return found
    }

    /// The user's most recent sessions, newest first.
    package static func recentSessions(_ userID: String, projectID: Int64, limit: Int, on db: SQLiteConnection) throws -> [SessionRow] {
        var rows: [SessionRow] = []
        try db.statement("""
            SELECT \(SessionRow.columns) FROM sessions WHERE project_id = ? AND user_id = ?
            ORDER BY coalesce(last_activity, created_at) DESC, id DESC LIMIT ?
            """).query([.integer(projectID), .text(userID), .integer(Int64(limit))]) { rows.append(SessionRow($0)) }
        return rows
    }

    private static func row(_ row: Statement) -> UserRow {
        UserRow(
            userID: row.text(0) ?? "", firstSeen: row.int(1), lastSeen: row.int(2), sessions: row.int(3),
            traces: row.int(4), meanTurns: row.isNull(5) ? nil : row.double(5),
            meanDurationMs: row.isNull(6) ? nil : row.double(6), totalTokens: row.int(7), totalCost: row.double(8))
    }
}
