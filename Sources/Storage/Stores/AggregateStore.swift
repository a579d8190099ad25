import Model

/// Keeps per-trace and per-session aggregates current on write.
///
/// Called in the same writer transaction as the events it reflects, after the entity rows are
/// merged. Each touched trace is recomputed from its observations (one indexed range), and each
/// touched session from its traces' rows, so an aggregate is always a function of the stored
/// rows: a re-sent event, which changes no row, cannot count twice.
public enum AggregateStore {
    /// Recomputes `traceIDs`; returns the sessions they belong to.
    static func refreshTraces(_ traceIDs: [String], projectID: Int64, on db: SQLiteConnection) throws -> [String] {
        let update = try db.statement("""
            UPDATE traces SET
                observation_count = a.n, generation_count = a.generations, tool_count = a.tools,
                error_count = a.errors, input_tokens = a.input_tokens, output_tokens = a.output_tokens,
                total_tokens = a.total_tokens, total_cost = a.total_cost, first_start = a.first_start,
                last_end = a.last_end, latency_ms = coalesce(a.last_end - a.first_start, 0)
            FROM (
                SELECT count(*) AS n,
                       coalesce(sum(type = 'GENERATION'), 0) AS generations,
                       coalesce(sum(type = 'TOOL' OR lower(name) LIKE 'tool%'), 0) AS tools,
                       coalesce(sum(level = 'ERROR'), 0) AS errors,
                       coalesce(sum(input_tokens), 0) AS input_tokens,
                       coalesce(sum(output_tokens), 0) AS output_tokens,
                       coalesce(sum(total_tokens), 0) AS total_tokens,
                       coalesce(sum(total_cost), 0) AS total_cost,
                       min(start_time) AS first_start,
                       max(coalesce(end_time, start_time)) AS last_end
                FROM observations WHERE project_id = ?1 AND trace_id = ?2
            ) AS a
            WHERE traces.project_id = ?1 AND traces.trace_id = ?2
            RETURNING traces.session_id
            """)
        var sessions: [String] = []
        for traceID in traceIDs {
            try update.query([.integer(projectID), .text(traceID)]) { row in
                if let session = row.text(0) { sessions.append(session) }
            }
        }
        return sessions
    }

    /// Notes sessions to refresh before the transaction commits. Recomputing a session costs a
    /// pass over its traces, so it is done once per group transaction, however many requests in
    /// it touched the session.
    static func markStale(_ sessionIDs: some Sequence<String>, projectID: Int64, on db: SQLiteConnection) {
        db.staleSessions[projectID, default: []].formUnion(sessionIDs)
    }

    /// Refreshes every session marked stale in this transaction; the writer calls it before COMMIT.
    public static func flushStaleSessions(on db: SQLiteConnection) throws {
        let stale = db.staleSessions
        db.staleSessions = [:]
        for (projectID, sessions) in stale {
            try refreshSessions(sessions, projectID: projectID, on: db)
        }
    }

    /// Recomputes each session's aggregates from its traces and scores.
    static func refreshSessions(_ sessionIDs: some Sequence<String>, projectID: Int64, on db: SQLiteConnection) throws {
        // One pass over the session's turns, in time order: latencies, and the latest value of
        // each session-level attribute a turn sent.
        let turns = try db.statement("""
            SELECT observation_count > 0, latency_ms, session_type, session_channel, session_client_version,
                   session_locale, user_tier, user_org_id
            FROM traces WHERE project_id = ? AND session_id = ? ORDER BY timestamp, trace_id
            """)
        let scores = try db.statement("""
            SELECT name, count(*), avg(CASE WHEN data_type IN ('NUMERIC', 'BOOLEAN') THEN value END) FROM scores
            WHERE project_id = ?1 AND (session_id = ?2 OR trace_id IN (
                SELECT trace_id FROM traces WHERE project_id = ?1 AND session_id = ?2))
            GROUP BY name ORDER BY name
            """)
        let update = try db.statement("""
            UPDATE sessions SET
                turn_count = a.n, observation_count = a.observations, generation_count = a.generations,
                tool_count = a.tools, error_count = a.errors, input_tokens = a.input_tokens,
                output_tokens = a.output_tokens, total_tokens = a.total_tokens, total_cost = a.total_cost,
                first_activity = a.first_activity, last_activity = a.last_activity,
                duration_ms = coalesce(a.last_activity - a.first_activity, 0),
                user_id = coalesce(sessions.user_id, (
                    SELECT user_id FROM traces WHERE project_id = ?1 AND session_id = ?2 AND user_id IS NOT NULL
                    ORDER BY timestamp LIMIT 1)),
                environment = CASE WHEN sessions.environment = 'default' THEN coalesce((
                    SELECT environment FROM traces WHERE project_id = ?1 AND session_id = ?2
                    ORDER BY timestamp LIMIT 1), 'default') ELSE sessions.environment END,
                type = coalesce(declared_type, ?6), channel = coalesce(declared_channel, ?7),
                client_version = coalesce(declared_client_version, ?8), locale = coalesce(declared_locale, ?9),
                user_tier = coalesce(declared_user_tier, ?10), org_id = coalesce(declared_org_id, ?11),
                tags = coalesce((
                    SELECT json_group_array(value) FROM (
                        SELECT DISTINCT j.value FROM traces t, json_each(t.tags) j
                        WHERE t.project_id = ?1 AND t.session_id = ?2 ORDER BY j.value)), '[]'),
                latency_mean_ms = ?3, latency_p95_ms = ?4, scores = ?5
            FROM (
                SELECT count(*) AS n,
                       coalesce(sum(observation_count), 0) AS observations,
                       coalesce(sum(generation_count), 0) AS generations,
                       coalesce(sum(tool_count), 0) AS tools,
                       coalesce(sum(error_count), 0) AS errors,
                       coalesce(sum(input_tokens), 0) AS input_tokens,
                       coalesce(sum(output_tokens), 0) AS output_tokens,
                       coalesce(sum(total_tokens), 0) AS total_tokens,
                       coalesce(sum(total_cost), 0) AS total_cost,
                       min(min(timestamp, coalesce(first_start, timestamp))) AS first_activity,
                       max(max(timestamp, coalesce(last_end, timestamp))) AS last_activity
                FROM traces WHERE project_id = ?1 AND session_id = ?2
            ) AS a
            WHERE sessions.project_id = ?1 AND sessions.session_id = ?2
            """)
        for sessionID in Set(sessionIDs) {
            var values: [Int64] = []
            var attributes = [String?](repeating: nil, count: 6)
            try turns.query([.integer(projectID), .text(sessionID)]) { row in
                if row.int(0) != 0 { values.append(row.int(1)) }
                for index in attributes.indices { if let value = row.text(2 + Int32(index)) { attributes[index] = value } }
            }
            let (mean, p95) = summary(values)
            var summaries: [(String, JSONValue)] = []
            try scores.query([.integer(projectID), .text(sessionID)]) { row in
                let average: JSONValue = row.isNull(2) ? .null : JSONValue(row.double(2))
                summaries.append((row.text(0) ?? "", .object([("count", JSONValue(Int(row.int(1)))), ("mean", average)])))
            }
            try update.run([
                .integer(projectID), .text(sessionID), mean.map(SQLiteValue.real) ?? .null,
                p95.map(SQLiteValue.real) ?? .null, .text(JSONValue.object(summaries).jsonText),
            ] + attributes.map(SQLiteValue.optional))
        }
    }

    /// Mean and nearest-rank 95th percentile, or nils for no values.
    static func summary(_ values: [Int64]) -> (Double?, Double?) {
        guard !values.isEmpty else { return (nil, nil) }
        let sorted = values.sorted()
        let mean = Double(sorted.reduce(0, +)) / Double(sorted.count)
        let rank = Int((0.95 * Double(sorted.count)).rounded(.up))
        return (mean, Double(sorted[max(0, rank - 1)]))
    }
}
