import Foundation

/// Read queries for the API. Every query is scoped by project and uses an index named in
/// docs/DATA_MODEL.md; statements are cached per reader connection by their SQL text (which
/// varies only with the set of filters given, so the cache stays small).
package enum ReadStore {
    /// WHERE clauses and their bound values, built up filter by filter.
    package struct Conditions: Sendable {
        var clauses: [String] = []
        var values: [SQLiteValue] = []

        package init(projectID: Int64, column: String = "project_id") {
            add("\(column) = ?", .integer(projectID))
        }

        package mutating func add(_ clause: String, _ bound: SQLiteValue...) {
            clauses.append(clause)
            values.append(contentsOf: bound)
        }

        /// A clause with a list of bound values, in the order of its `?`s.
        package mutating func add(_ clause: String, values bound: [SQLiteValue]) {
            clauses.append(clause)
            values.append(contentsOf: bound)
        }

        /// `column IN (?, ?, …)`, skipped when `options` is empty.
        package mutating func any(_ column: String, _ options: [String]) {
            guard !options.isEmpty else { return }
            add("\(column) IN (\(Array(repeating: "?", count: options.count).joined(separator: ", ")))")
            values.append(contentsOf: options.map(SQLiteValue.text))
        }

        var sql: String { clauses.joined(separator: " AND ") }
    }

    /// A page of rows plus the total the filters match.
    package struct Page<Row: Sendable>: Sendable {
        package let rows: [Row]
        package let totalItems: Int
    }

    // MARK: Sessions

    /// Sortable session columns (`orderBy` values of `GET /api/public/sessions`).
    package enum SessionSort: String, Sendable, CaseIterable {
        case createdAt, lastActivity, duration, cost, turns

        var column: String {
            switch self {
            case .createdAt: "created_at"
            case .lastActivity: "last_activity"
            case .duration: "duration_ms"
            case .cost: "total_cost"
            case .turns: "turn_count"
            }
        }
    }

    package static func sessions(
        _ conditions: Conditions, sort: SessionSort, descending: Bool, limit: Int, offset: Int, on db: SQLiteConnection
    ) throws -> Page<SessionRow> {
        let direction = descending ? "DESC" : "ASC"
        var rows: [SessionRow] = []
        try db.statement("""
            SELECT \(SessionRow.columns) FROM sessions WHERE \(conditions.sql)
            ORDER BY \(sort.column) \(direction), id \(direction) LIMIT ? OFFSET ?
            """).query(conditions.values + [.integer(Int64(limit)), .integer(Int64(offset))]) { rows.append(SessionRow($0)) }
        return Page(rows: rows, totalItems: try count("sessions", conditions, on: db))
    }

    package static func session(_ sessionID: String, projectID: Int64, on db: SQLiteConnection) throws -> SessionRow? {
        var found: SessionRow?
        try db.statement("SELECT \(SessionRow.columns) FROM sessions WHERE project_id = ? AND session_id = ?")
            .query([.integer(projectID), .text(sessionID)]) { found = SessionRow($0) }
        return found
    }

    /// The session's `settle_version` (bumped whenever anything in it changed and was settled),
    /// or nil when it does not exist: what a cached drill-down is checked against.
    package static func sessionVersion(_ sessionID: String, projectID: Int64, on db: SQLiteConnection) throws -> Int64? {
        var version: Int64?
        try db.statement("SELECT settle_version FROM sessions WHERE project_id = ? AND session_id = ?")
            .query([.integer(projectID), .text(sessionID)]) { version = $0.int(0) }
        return version
    }

    /// Every trace of a session, in turn order: by the turn number Parley uses (sent, else
    /// derived from start time; docs/ANALYTICS.md), then start time.
    package static func traces(inSession sessionID: String, projectID: Int64, on db: SQLiteConnection) throws -> [TraceRow] {
        var rows: [TraceRow] = []
        try db.statement("""
            SELECT \(TraceRow.columns) FROM traces WHERE project_id = ? AND session_id = ?
            ORDER BY coalesce(turn_seq, turn_number) IS NULL, coalesce(turn_seq, turn_number), timestamp, trace_id
            """).query([.integer(projectID), .text(sessionID)]) { rows.append(TraceRow($0)) }
        return rows
    }

    /// One page of a session's traces in the drill-down's turn order (as `traces(inSession:)`),
    /// with how many traces the session has: the console reads a long session this way.
    package static func traces(
        inSession sessionID: String, projectID: Int64, limit: Int, offset: Int, on db: SQLiteConnection
    ) throws -> Page<TraceRow> {
        var rows: [TraceRow] = []
        try db.statement("""
            SELECT \(TraceRow.columns) FROM traces WHERE project_id = ? AND session_id = ?
            ORDER BY coalesce(turn_seq, turn_number) IS NULL, coalesce(turn_seq, turn_number), timestamp, trace_id
            LIMIT ? OFFSET ?
            """).query([.integer(projectID), .text(sessionID), .integer(Int64(limit)), .integer(Int64(offset))]) {
                rows.append(TraceRow($0))
            }
        var total = 0
        try db.statement("SELECT count(*) FROM traces WHERE project_id = ? AND session_id = ?")
            .query([.integer(projectID), .text(sessionID)]) { total = Int($0.int(0)) }
        return Page(rows: rows, totalItems: total)
    }

    /// Up to `limit` sessions matching `conditions` stored after row `rowID`, in row order, with
    /// the last row id: one batch of an export, read by key so each costs the same.
    package static func sessions(_ conditions: Conditions, afterRow rowID: Int64, limit: Int, on db: SQLiteConnection) throws -> (rows: [SessionRow], last: Int64?) {
        try batch("sessions", SessionRow.columns, conditions, after: rowID, limit: limit, on: db, SessionRow.init)
    }

    /// Traces as `sessions(_:afterRow:limit:on:)` gives sessions.
    package static func traces(_ conditions: Conditions, afterRow rowID: Int64, limit: Int, on db: SQLiteConnection) throws -> (rows: [TraceRow], last: Int64?) {
        try batch("traces", TraceRow.columns, conditions, after: rowID, limit: limit, on: db, TraceRow.init)
    }

    /// The row ids first (by the primary key, after `rowID`), then their rows.
    private static func batch<Row>(
        _ table: String, _ columns: String, _ conditions: Conditions, after rowID: Int64, limit: Int,
        on db: SQLiteConnection, _ make: (Statement) -> Row
    ) throws -> (rows: [Row], last: Int64?) {
        var ids: [Int64] = []
        try db.statement("SELECT id FROM \(table) WHERE \(conditions.sql) AND id > ? ORDER BY id LIMIT ?")
            .query(conditions.values + [.integer(rowID), .integer(Int64(limit))]) { ids.append($0.int(0)) }
        var rows: [Row] = []
        if !ids.isEmpty {
            try db.statement("SELECT \(columns) FROM \(table) WHERE id IN (\(placeholders(ids.count))) ORDER BY id")
                .query(ids.map(SQLiteValue.integer)) { rows.append(make($0)) }
        }
        return (rows, ids.last)
    }

    private static func placeholders(_ count: Int) -> String {
        Array(repeating: "?", count: count).joined(separator: ", ")
    }

    // MARK: Traces

    /// Sortable trace columns (`orderBy` of `GET /api/public/traces`).
    package static let traceSortColumns: [String: String] = [
        "id": "trace_id", "timestamp": "timestamp", "name": "name", "userId": "user_id", "release": "release",
        "version": "version", "public": "public", "sessionId": "session_id", "bookmarked": "timestamp",
    ]

    package static func traces(
        _ conditions: Conditions, sortColumn: String, descending: Bool, limit: Int, offset: Int, on db: SQLiteConnection
    ) throws -> Page<TraceRow> {
        let direction = descending ? "DESC" : "ASC"
        var rows: [TraceRow] = []
        try db.statement("""
            SELECT \(TraceRow.columns) FROM traces WHERE \(conditions.sql)
            ORDER BY \(sortColumn) \(direction), id \(direction) LIMIT ? OFFSET ?
            """).query(conditions.values + [.integer(Int64(limit)), .integer(Int64(offset))]) { rows.append(TraceRow($0)) }
        return Page(rows: rows, totalItems: try count("traces", conditions, on: db))
    }

    package static func trace(_ traceID: String, projectID: Int64, on db: SQLiteConnection) throws -> TraceRow? {
        var found: TraceRow?
        try db.statement("SELECT \(TraceRow.columns) FROM traces WHERE project_id = ? AND trace_id = ?")
            .query([.integer(projectID), .text(traceID)]) { found = TraceRow($0) }
        return found
    }

    // MARK: Observations

    /// The observations of each trace, by start time.
    package static func observations(ofTraces traceIDs: [String], projectID: Int64, on db: SQLiteConnection) throws -> [String: [ObservationRow]] {
        var result: [String: [ObservationRow]] = [:]
        let statement = try db.statement("""
            SELECT \(ObservationRow.columns) FROM observations WHERE project_id = ? AND trace_id = ?
            ORDER BY start_time, observation_id
            """)
        for traceID in traceIDs {
            var rows: [ObservationRow] = []
            try statement.query([.integer(projectID), .text(traceID)]) { rows.append(ObservationRow($0)) }
            result[traceID] = rows
        }
        return result
    }

    /// Only the ids of each trace's observations, by start time: what a trace-list item shows.
    /// Reading whole rows there (inputs, outputs, metadata) was most of a list request.
    package static func observationIDs(ofTraces traceIDs: [String], projectID: Int64, on db: SQLiteConnection) throws -> [String: [String]] {
        try childIDs(ofTraces: traceIDs, projectID: projectID, sql: """
            SELECT observation_id FROM observations WHERE project_id = ? AND trace_id = ?
            ORDER BY start_time, observation_id
            """, on: db)
    }

    /// Only the ids of each trace's scores, by time.
    package static func scoreIDs(ofTraces traceIDs: [String], projectID: Int64, on db: SQLiteConnection) throws -> [String: [String]] {
        try childIDs(ofTraces: traceIDs, projectID: projectID, sql: """
            SELECT score_id FROM scores WHERE project_id = ? AND trace_id = ? ORDER BY timestamp, score_id
            """, on: db)
    }

    private static func childIDs(ofTraces traceIDs: [String], projectID: Int64, sql: String, on db: SQLiteConnection) throws -> [String: [String]] {
        var result: [String: [String]] = [:]
        let statement = try db.statement(sql)
        for traceID in traceIDs {
            var ids: [String] = []
            try statement.query([.integer(projectID), .text(traceID)]) { ids.append($0.text(0) ?? "") }
            result[traceID] = ids
        }
        return result
    }

    /// Every observation of every trace in a session, grouped by trace.
    package static func observations(inSession sessionID: String, projectID: Int64, on db: SQLiteConnection) throws -> [String: [ObservationRow]] {
        try rowsOfSessionTraces(
            sessionID, projectID: projectID, table: "observations", columns: ObservationRow.columns,
            orderBy: "start_time, observation_id", on: db, make: ObservationRow.init, traceID: \.traceID)
    }

    /// Scores of the traces in a session, grouped by trace.
    package static func traceScores(inSession sessionID: String, projectID: Int64, on db: SQLiteConnection) throws -> [String: [ScoreRow]] {
        try rowsOfSessionTraces(
            sessionID, projectID: projectID, table: "scores", columns: ScoreRow.columns,
            orderBy: "timestamp, score_id", on: db, make: ScoreRow.init, traceID: \.traceID)
    }

    /// Rows of `table` that belong to the traces of a session, grouped by trace id: one query,
    /// driven by the session's traces index and then `table`'s by-trace index. CROSS JOIN fixes
    /// that loop order (https://sqlite.org/optoverview.html#manual_control_of_query_plans_using_cross_join):
    /// without statistics the planner otherwise scans every row of the project in `table`.
    private static func rowsOfSessionTraces<Row>(
        _ sessionID: String, projectID: Int64, table: String, columns: String, orderBy: String,
        on db: SQLiteConnection, make: (Statement) -> Row, traceID: (Row) -> String?
    ) throws -> [String: [Row]] {
        let qualified = columns.split(separator: ",").map { "x." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        let order = orderBy.split(separator: ",").map { "x." + $0.trimmingCharacters(in: .whitespaces) }
        var result: [String: [Row]] = [:]
        try db.statement("""
            SELECT \(qualified.joined(separator: ", ")) FROM traces t
            CROSS JOIN \(table) x ON x.project_id = t.project_id AND x.trace_id = t.trace_id
            WHERE t.project_id = ? AND t.session_id = ?
            ORDER BY \(order.joined(separator: ", "))
            """).query([.integer(projectID), .text(sessionID)]) { statement in
                let row = make(statement)
                result[traceID(row) ?? "", default: []].append(row)
            }
        return result
    }

    package static func observation(_ observationID: String, projectID: Int64, on db: SQLiteConnection) throws -> ObservationRow? {
        var found: ObservationRow?
        try db.statement("SELECT \(ObservationRow.columns) FROM observations WHERE project_id = ? AND observation_id = ?")
            .query([.integer(projectID), .text(observationID)]) { found = ObservationRow($0) }
        return found
    }

    package static func observations(_ conditions: Conditions, limit: Int, offset: Int, on db: SQLiteConnection) throws -> Page<ObservationRow> {
        var rows: [ObservationRow] = []
        try db.statement("""
            SELECT \(ObservationRow.columns) FROM observations WHERE \(conditions.sql)
            ORDER BY start_time DESC, id DESC LIMIT ? OFFSET ?
            """).query(conditions.values + [.integer(Int64(limit)), .integer(Int64(offset))]) { rows.append(ObservationRow($0)) }
        return Page(rows: rows, totalItems: try count("observations", conditions, on: db))
    }

    /// A keyset page of observations, newest start first: rows strictly before `after`
    /// (start time, row id) when given. Returns each row with its row id for the next cursor.
    package static func observationsPage(
        _ conditions: Conditions, after: (Int64, Int64)?, limit: Int, on db: SQLiteConnection
    ) throws -> [(Int64, ObservationRow)] {
        var conditions = conditions
        if let after { conditions.add("(start_time < ? OR (start_time = ? AND id < ?))", .integer(after.0), .integer(after.0), .integer(after.1)) }
        var rows: [(Int64, ObservationRow)] = []
        try db.statement("""
            SELECT \(ObservationRow.columns), id FROM observations WHERE \(conditions.sql)
            ORDER BY start_time DESC, id DESC LIMIT ?
            """).query(conditions.values + [.integer(Int64(limit))]) { rows.append(($0.int(27), ObservationRow($0))) }
        return rows
    }

    /// Trace rows by id (for observation and score context).
    package static func traces(ids: some Sequence<String>, projectID: Int64, on db: SQLiteConnection) throws -> [String: TraceRow] {
        var result: [String: TraceRow] = [:]
        let statement = try db.statement("SELECT \(TraceRow.columns) FROM traces WHERE project_id = ? AND trace_id = ?")
        for id in Set(ids) {
            try statement.query([.integer(projectID), .text(id)]) { result[id] = TraceRow($0) }
        }
        return result
    }

    /// Per UTC day (newest first): trace count, observation count, cost, and usage by model, for
    /// traces matching `conditions` (columns of `traces`).
    package struct DailyUsage: Sendable {
        package let model: String?
        package let inputUsage: Int64
        package let outputUsage: Int64
        package let totalUsage: Int64
        package let observations: Int64
        package let traces: Int64
        package let totalCost: Double
    }

    package struct DailyMetrics: Sendable {
        package let day: Int64
        package let traces: Int64
        package let observations: Int64
        package let totalCost: Double
        package var usage: [DailyUsage]
    }

    package static func dailyMetrics(_ conditions: Conditions, limit: Int, offset: Int, on db: SQLiteConnection) throws -> Page<DailyMetrics> {
        var days: [DailyMetrics] = []
        try db.statement("""
            SELECT timestamp / 86400000 AS day, count(*), coalesce(sum(observation_count), 0), coalesce(sum(total_cost), 0)
            FROM traces WHERE \(conditions.sql) GROUP BY day ORDER BY day DESC LIMIT ? OFFSET ?
            """).query(conditions.values + [.integer(Int64(limit)), .integer(Int64(offset))]) { row in
                days.append(DailyMetrics(day: row.int(0), traces: row.int(1), observations: row.int(2), totalCost: row.double(3), usage: []))
            }
        let usage = try db.statement("""
            SELECT o.model, \(SQLExpressions.saturatingSum("o.input_tokens")), \(SQLExpressions.saturatingSum("o.output_tokens")), \(SQLExpressions.saturatingSum("o.total_tokens")),
                   count(*), count(DISTINCT o.trace_id), coalesce(sum(o.total_cost), 0)
            FROM traces CROSS JOIN observations o ON o.project_id = traces.project_id AND o.trace_id = traces.trace_id
            WHERE \(conditions.sql) AND traces.timestamp >= ? AND traces.timestamp < ?
            GROUP BY o.model ORDER BY o.model
            """)
        for index in days.indices {
            let start = days[index].day * 86_400_000
            try usage.query(conditions.values + [.integer(start), .integer(start + 86_400_000)]) { row in
                days[index].usage.append(DailyUsage(
                    model: row.text(0), inputUsage: row.int(1), outputUsage: row.int(2), totalUsage: row.int(3),
                    observations: row.int(4), traces: row.int(5), totalCost: row.double(6)))
            }
        }
        var total = 0
        try db.statement("SELECT count(DISTINCT timestamp / 86400000) FROM traces WHERE \(conditions.sql)")
            .query(conditions.values) { total = Int($0.int(0)) }
        return Page(rows: days, totalItems: total)
    }

    /// A keyset page of scores, newest first, strictly before `after` (timestamp, row id).
    package static func scoresPage(
        _ conditions: Conditions, after: (Int64, Int64)?, limit: Int, on db: SQLiteConnection
    ) throws -> [(Int64, ScoreRow)] {
        var conditions = conditions
        if let after { conditions.add("(timestamp < ? OR (timestamp = ? AND id < ?))", .integer(after.0), .integer(after.0), .integer(after.1)) }
        var rows: [(Int64, ScoreRow)] = []
        try db.statement("""
            SELECT \(ScoreRow.columns), id FROM scores WHERE \(conditions.sql)
            ORDER BY timestamp DESC, id DESC LIMIT ?
            """).query(conditions.values + [.integer(Int64(limit))]) { rows.append(($0.int(18), ScoreRow($0))) }
        return rows
    }

    package static func score(_ scoreID: String, projectID: Int64, on db: SQLiteConnection) throws -> ScoreRow? {
        var found: ScoreRow?
        try db.statement("SELECT \(ScoreRow.columns) FROM scores WHERE project_id = ? AND score_id = ?")
            .query([.integer(projectID), .text(scoreID)]) { found = ScoreRow($0) }
        return found
    }

    // MARK: Scores

    package static func scores(ofTraces traceIDs: [String], projectID: Int64, on db: SQLiteConnection) throws -> [String: [ScoreRow]] {
        var result: [String: [ScoreRow]] = [:]
        let statement = try db.statement("""
            SELECT \(ScoreRow.columns) FROM scores WHERE project_id = ? AND trace_id = ? ORDER BY timestamp, score_id
            """)
        for traceID in traceIDs {
            var rows: [ScoreRow] = []
            try statement.query([.integer(projectID), .text(traceID)]) { rows.append(ScoreRow($0)) }
            result[traceID] = rows
        }
        return result
    }

    /// Scores attached to the session itself (not to its traces).
    package static func scores(ofSession sessionID: String, projectID: Int64, on db: SQLiteConnection) throws -> [ScoreRow] {
        var rows: [ScoreRow] = []
        try db.statement("""
            SELECT \(ScoreRow.columns) FROM scores WHERE project_id = ? AND session_id = ? ORDER BY timestamp, score_id
            """).query([.integer(projectID), .text(sessionID)]) { rows.append(ScoreRow($0)) }
        return rows
    }

    package static func scores(_ conditions: Conditions, limit: Int, offset: Int, on db: SQLiteConnection) throws -> Page<ScoreRow> {
        var rows: [ScoreRow] = []
        try db.statement("""
            SELECT \(ScoreRow.columns) FROM scores WHERE \(conditions.sql)
            ORDER BY timestamp DESC, id DESC LIMIT ? OFFSET ?
            """).query(conditions.values + [.integer(Int64(limit)), .integer(Int64(offset))]) { rows.append(ScoreRow($0)) }
        return Page(rows: rows, totalItems: try count("scores", conditions, on: db))
    }

    /// Rows matching `conditions`. With no filter but the project, sessions and traces are
    /// answered from `row_counts` (schema v5, kept by triggers) instead of counting.
    private static func count(_ table: String, _ conditions: Conditions, on db: SQLiteConnection) throws -> Int {
        var total = 0
        if conditions.clauses.count == 1, table == "sessions" || table == "traces" {
            try db.statement("SELECT n FROM row_counts WHERE project_id = ? AND table_name = ?")
                .query(conditions.values + [.text(table)]) { total = Int($0.int(0)) }
            return total
        }
        try db.statement("SELECT count(*) FROM \(table) WHERE \(conditions.sql)").query(conditions.values) { total = Int($0.int(0)) }
        return total
    }
}
