import Foundation
import Model

/// Keeps per-trace and per-session aggregates current on write.
///
/// Each touched trace is recomputed from its observations (one indexed range) once per writer
/// transaction, just before its COMMIT, and each touched session from its traces' rows when it
/// is settled, so an aggregate is always a function of the stored rows: a re-sent event, which
/// changes no row, cannot count twice.
package enum AggregateStore {
    /// Recomputes `traceIDs`; returns the sessions they belong to. Writes note traces with
    /// `markTracesStale` instead, so each is recomputed once per transaction.
    static func refreshTraces(_ traceIDs: [String], projectID: Int64, on db: SQLiteConnection) throws -> [String] {
        let update = try db.statement(refreshTrace)
        var sessions: [String] = []
        for traceID in traceIDs {
            try update.query([.integer(projectID), .text(traceID)]) { row in
                if let session = row.text(0) { sessions.append(session) }
            }
        }
        return sessions
    }

    /// One trace's aggregate from its observations (`?1` project, `?2` trace id); returns its session.
    static let refreshTrace = """
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
            """

    /// Notes traces whose aggregates the transaction changed; `flushStaleTraces` recomputes each
    /// once, before COMMIT, and marks its session. A trace noted by a job that then rolls back
    /// is recomputed anyway, which changes nothing: the aggregate is a function of stored rows.
    static func markTracesStale(_ traceIDs: some Sequence<String>, projectID: Int64, on db: SQLiteConnection) {
        db.staleTraces[projectID, default: []].formUnion(traceIDs)
    }

    /// Recomputes the traces the transaction noted and marks their sessions stale; the writer
    /// calls it before COMMIT, before `flushStaleSessions`.
    package static func flushStaleTraces(on db: SQLiteConnection) throws {
        let stale = db.staleTraces
        db.staleTraces = [:]
        for (projectID, traceIDs) in stale {
            markStale(try refreshTraces(traceIDs.sorted(), projectID: projectID, on: db), projectID: projectID, on: db)
        }
    }

    /// Notes sessions whose aggregates the transaction changed. Recomputing a session costs a
    /// pass over its traces, so it is not done on the write path: before COMMIT the sessions are
    /// marked dirty (`flushStaleSessions`), and `settle` recomputes them later, once for however
    /// many transactions touched them, or before a read reaches them.
    static func markStale(_ sessionIDs: some Sequence<String>, projectID: Int64, on db: SQLiteConnection) {
        db.staleSessions[projectID, default: []].formUnion(sessionIDs)
    }

    /// Marks every session the transaction changed dirty, in the same transaction (so a crash
    /// cannot lose the mark); the writer calls it before COMMIT. One row per session, whatever
    /// its length: the write path no longer grows with the session.
    package static func flushStaleSessions(on db: SQLiteConnection) throws {
        let stale = db.staleSessions
        db.staleSessions = [:]
        guard !stale.isEmpty else { return }
        let now = WallClock.nowMillis()
        let mark = try db.statement("""
            INSERT INTO dirty_sessions (project_id, session_id, marked_at) VALUES (?, ?, ?)
            ON CONFLICT (project_id, session_id) DO NOTHING
            """)
        for (projectID, sessions) in stale {
            for sessionID in sessions { try mark.run([.integer(projectID), .text(sessionID), .integer(now)]) }
        }
    }

    /// A dirty session `settle` recomputed, and how long it had waited (ms).
    package struct Settled: Sendable {
        package let projectID: Int64
        package let sessionID: String
        package let waitedMs: Int64
    }

    /// Recomputes up to `limit` dirty sessions (of `projectID` only when given, else the ones
    /// marked first) from their traces and scores, and clears their marks; call from a writer
    /// job. The settled sessions are recorded on the connection for `DirtySessions`.
    package static func settle(projectID: Int64? = nil, sessions: [String]? = nil, limit: Int,
                              on db: SQLiteConnection) throws -> [Settled] {
        var rows: [(Int64, String, Int64)] = []
        if let projectID, let sessions {
            let find = try db.statement("SELECT marked_at FROM dirty_sessions WHERE project_id = ? AND session_id = ?")
            for sessionID in sessions.prefix(limit) {
                try find.query([.integer(projectID), .text(sessionID)]) { rows.append((projectID, sessionID, $0.int(0))) }
            }
        } else if let projectID {
            try db.statement("SELECT session_id, marked_at FROM dirty_sessions WHERE project_id = ? LIMIT ?")
                .query([.integer(projectID), .integer(Int64(limit))]) { rows.append((projectID, $0.text(0) ?? "", $0.int(1))) }
        } else {
            try db.statement("SELECT project_id, session_id, marked_at FROM dirty_sessions ORDER BY marked_at LIMIT ?")
                .query([.integer(Int64(limit))]) { rows.append(($0.int(0), $0.text(1) ?? "", $0.int(2))) }
        }
        guard !rows.isEmpty else { return [] }
        let clear = try db.statement("DELETE FROM dirty_sessions WHERE project_id = ? AND session_id = ?")
        for (projectID, group) in Dictionary(grouping: rows, by: \.0) {
            try refreshSessions(group.map(\.1), projectID: projectID, on: db)
            for (_, sessionID, _) in group { try clear.run([.integer(projectID), .text(sessionID)]) }
        }
        let now = WallClock.nowMillis()
        // Recorded last, once every statement above succeeded: a job that fails rolls back
        // to its savepoint and must leave the sessions dirty in memory as in the table.
        for (projectID, sessionID, _) in rows { db.settledSessions[projectID, default: []].insert(sessionID) }
        return rows.map { Settled(projectID: $0.0, sessionID: $0.1, waitedMs: max(0, now - $0.2)) }
    }

    /// Every dirty session, by project (the in-memory registry is loaded from this at start).
    static func dirtySessions(on db: SQLiteConnection) throws -> [Int64: Set<String>] {
        var dirty: [Int64: Set<String>] = [:]
        try db.statement("SELECT project_id, session_id FROM dirty_sessions").query { row in
            dirty[row.int(0), default: []].insert(row.text(1) ?? "")
        }
        return dirty
    }
}
