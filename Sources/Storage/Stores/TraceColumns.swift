import Model

/// The trace columns ingestion writes from a trace's fold, in one order, for its insert and its
/// update (`IngestionStore`). The aggregate columns are `AggregateStore`'s and
/// `SessionAggregates`'s.
enum TraceColumns {
    /// Written from the fold, after `project_id` and `trace_id` (the insert binds `created_at` last).
    static let names = [
        "timestamp", "name", "user_id", "session_id", "release", "version", "input", "output", "metadata", "tags",
        "public", "environment", "updated_at",
    ] + TrackingColumns.names

    /// `trace` as the values of `names`.
    static func values(_ trace: TraceRecord, now: Int64) -> [SQLiteValue] {
        [
            .integer(trace.timestampMillis), .optional(trace.name), .optional(trace.userID), .optional(trace.sessionID),
            .optional(trace.release), .optional(trace.version), .optional(trace.input), .optional(trace.output),
            .optional(trace.metadata), .text(JSONValue.array(trace.tags.map(JSONValue.string)).jsonText),
            .integer(trace.isPublic ? 1 : 0), .text(trace.environment), .integer(now),
        ] + TrackingColumns.values(trace.tracking)
    }

    /// Positions in `names` of the columns an index holds: `traces_by_time` (timestamp),
    /// `traces_by_user` (user_id, timestamp) and `traces_by_session` (session_id, timestamp).
    static let indexed = ["timestamp", "user_id", "session_id"].map { column in
        names.firstIndex(of: column)!
    }
    /// Positions in `indexed` of the user and the session id.
    static let userIndex = 1
    static let sessionIndex = 2

    /// The row id and the indexed columns (in `indexed` order) of one trace.
    static let selectIndexed = """
        SELECT id, timestamp, user_id, session_id FROM traces
        WHERE project_id = ? AND trace_id = ?
        """

    static let insert = """
        INSERT INTO traces (project_id, trace_id, \(names.joined(separator: ", ")), created_at)
        VALUES (\(Array(repeating: "?", count: names.count + 3).joined(separator: ", ")))
        """

    /// Positions in `names` an update sets when the indexed columns at `changed` (positions in
    /// `indexed`) changed: every column no index holds, and those. Made once per combination.
    static func updated(changing changed: [Int]) -> [Int] {
        updates[mask(changed)].columns
    }

    /// `UPDATE traces SET … WHERE id = ?` for `updated(changing: changed)`, from the 2^3 texts
    /// made once.
    static func update(changing changed: [Int]) -> String {
        updates[mask(changed)].sql
    }

    private static func mask(_ changed: [Int]) -> Int {
        changed.reduce(0) { $0 | 1 << $1 }
    }

    private static let updates: [(columns: [Int], sql: String)] = (0..<(1 << indexed.count)).map { mask in
        let skipped = Set(indexed.indices.filter { mask & (1 << $0) == 0 }.map { indexed[$0] })
        let columns = names.indices.filter { !skipped.contains($0) }
        return (columns, "UPDATE traces SET " + columns.map { "\(names[$0]) = ?" }.joined(separator: ", ") + " WHERE id = ?")
    }
}

extension SQLiteValue {
    /// The text, when the value is text.
    var text: String? {
        if case .text(let text) = self { return text }
        return nil
    }
}
