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
                last_end = a.last_end, latency_ms = coalesce(a.last_end - a.first_start, 0),
                agent_count = a.agents, peak_input_tokens = a.peak_input,
                peak_model = CASE WHEN a.peak_input IS NULL THEN NULL ELSE (
                    SELECT model FROM observations WHERE project_id = ?1 AND trace_id = ?2 AND type = 'GENERATION'
                    AND input_tokens IS NOT NULL ORDER BY input_tokens DESC, start_time LIMIT 1) END
            FROM (
                SELECT count(*) AS n,
                       coalesce(sum(type = 'GENERATION'), 0) AS generations,
                       coalesce(sum(type = 'TOOL' OR lower(name) LIKE 'tool%'), 0) AS tools,
                       coalesce(sum(level = 'ERROR'), 0) AS errors,
                       coalesce(sum(type = 'AGENT'), 0) AS agents,
                       max(CASE WHEN type = 'GENERATION' THEN input_tokens END) AS peak_input,
                       \(SQLExpressions.saturatingSum("input_tokens")) AS input_tokens,
                       \(SQLExpressions.saturatingSum("output_tokens")) AS output_tokens,
                       \(SQLExpressions.saturatingSum("total_tokens")) AS total_tokens,
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
}
