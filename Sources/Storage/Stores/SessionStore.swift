import Model
/// Native session lifecycle (`POST /api/public/sessions`, `POST /api/public/sessions/{id}/end`)
/// and trace deletion.
package enum SessionStore {
    /// Fields a client may set on a session; nil means "not given" and leaves the stored value.
    package struct Attributes: Sendable {
        package var userID: String?
        package var type: String?
        package var channel: String?
        package var clientVersion: String?
        package var locale: String?
        package var userTier: String?
        package var orgID: String?
        /// A JSON object, deep-merged by the caller; replaces the stored one when given.
        package var metadata: String?
        package var startTime: Int64?
        package var environment: String?

        package init() {}
    }

    /// Creates the session or updates the given fields (idempotent: the same call twice leaves
    /// the same row). Returns true when the session is new.
    @discardableResult
    package static func upsert(
        _ sessionID: String, _ attributes: Attributes, projectID: Int64, now: Int64, on db: SQLiteConnection
    ) throws -> Bool {
        let existed = try ReadStore.session(sessionID, projectID: projectID, on: db) != nil
        try db.statement("""
            INSERT INTO sessions (project_id, session_id, environment, user_id, type, channel, client_version,
                                  locale, user_tier, org_id, declared_type, declared_channel,
                                  declared_client_version, declared_locale, declared_user_tier, declared_org_id,
                                  metadata, start_time, created_at, updated_at)
            VALUES (?1, ?2, coalesce(?3, 'default'), ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?5, ?6, ?7, ?8, ?9, ?10,
                    coalesce(?11, '{}'), ?12, ?13, ?13)
            ON CONFLICT (project_id, session_id) DO UPDATE SET
                environment = coalesce(?3, sessions.environment), user_id = coalesce(?4, sessions.user_id),
                type = coalesce(?5, sessions.type), channel = coalesce(?6, sessions.channel),
                client_version = coalesce(?7, sessions.client_version), locale = coalesce(?8, sessions.locale),
                user_tier = coalesce(?9, sessions.user_tier), org_id = coalesce(?10, sessions.org_id),
                declared_type = coalesce(?5, declared_type), declared_channel = coalesce(?6, declared_channel),
                declared_client_version = coalesce(?7, declared_client_version),
                declared_locale = coalesce(?8, declared_locale), declared_user_tier = coalesce(?9, declared_user_tier),
                declared_org_id = coalesce(?10, declared_org_id),
                metadata = coalesce(?11, sessions.metadata), start_time = coalesce(?12, sessions.start_time),
                updated_at = ?13
            """).run([
                .integer(projectID), .text(sessionID), .optional(attributes.environment), .optional(attributes.userID),
                .optional(attributes.type), .optional(attributes.channel), .optional(attributes.clientVersion),
                .optional(attributes.locale), .optional(attributes.userTier), .optional(attributes.orgID),
                .optional(attributes.metadata), .optional(attributes.startTime), .integer(now),
            ])
        // Every change to a session is settled (and bumps its `settle_version`, which keys the
        // drill-down cache). A new one may also have session-level scores that arrived before
        // it (langfuse-api.md §7: a score can target any session id) to summarise.
        AggregateStore.markStale([sessionID], projectID: projectID, on: db)
        return !existed
    }

    /// Marks a session ended with `reason` at `endTime` (`endSource` `api`, which later turns
    /// never reopen); false when the session does not exist. Ending twice keeps the first end
    /// (idempotent). An end the sweeper or a turn's `session.end_reason` recorded is replaced.
    package static func end(
        _ sessionID: String, reason: String?, endTime: Int64, projectID: Int64, now: Int64, on db: SQLiteConnection
    ) throws -> Bool {
        try db.statement("""
            UPDATE sessions SET status = 'ended',
                end_reason = CASE WHEN end_source = 'api' THEN coalesce(end_reason, ?3) ELSE ?3 END,
                end_time = CASE WHEN end_source = 'api' THEN coalesce(end_time, ?4) ELSE ?4 END,
                end_source = 'api', ended_activity = NULL, idle_time_ms = NULL, updated_at = ?5
            WHERE project_id = ?1 AND session_id = ?2
            """).run([.integer(projectID), .text(sessionID), .optional(reason), .integer(endTime), .integer(now)])
        let found = db.changes > 0
        // Drop-off and the agent's last action are judged at the end.
        if found { AggregateStore.markStale([sessionID], projectID: projectID, on: db) }
        return found
    }

    /// Whether the project has a session `sweepInactive` would time out at `now` (a read, so an
    /// idle server's sweeps do not commit empty transactions).
    package static func hasInactive(projectID: Int64, now: Int64, timeoutMs: Int64, on db: SQLiteConnection) throws -> Bool {
        var found = false
        try db.statement("""
            SELECT 1 FROM sessions INDEXED BY sessions_idle
            WHERE project_id = ? AND status = 'active' AND coalesce(last_activity, created_at) < ? LIMIT 1
            """).query([.integer(projectID), .integer(now.subtractingSaturating(timeoutMs))]) { _ in found = true }
        return found
    }

    /// Times out the project's active sessions whose last activity is older than `timeoutMs` at
    /// `now`, at most `limit` per call; returns how many it marked. Call from a writer job; the
    /// caller repeats while it returns `limit`, so a backlog is worked off in bounded transactions.
    ///
    /// A timed-out session gets status `timed_out`, reason `inactive_timeout`, `end_time` = last
    /// activity + timeout (when it became inactive) and `idle_time_ms` = `now` − last activity.
    package static func sweepInactive(
        projectID: Int64, now: Int64, timeoutMs: Int64, limit: Int, on db: SQLiteConnection
    ) throws -> Int {
        var sessions: [String] = []
        try db.statement("""
            UPDATE sessions SET status = 'timed_out', end_reason = 'inactive_timeout', end_source = 'inactivity',
                end_time = coalesce(last_activity, created_at) + ?3, ended_activity = coalesce(last_activity, created_at),
                idle_time_ms = ?4 - coalesce(last_activity, created_at), updated_at = ?4
            WHERE id IN (
                SELECT id FROM sessions INDEXED BY sessions_idle
                WHERE project_id = ?1 AND status = 'active' AND coalesce(last_activity, created_at) < ?2
                ORDER BY coalesce(last_activity, created_at) LIMIT ?5)
            RETURNING session_id
            """).query([
                .integer(projectID), .integer(now.subtractingSaturating(timeoutMs)), .integer(timeoutMs), .integer(now),
                .integer(Int64(limit)),
            ]) { row in sessions.append(row.text(0) ?? "") }
        AggregateStore.markStale(sessions, projectID: projectID, on: db)
        return sessions.count
    }

    /// Deletes traces with their observations, scores and stored events, then refreshes the
    /// aggregates of the sessions they were in.
    package static func deleteTraces(_ traceIDs: [String], projectID: Int64, on db: SQLiteConnection) throws {
        var sessions: [String] = []
        var users: Set<String> = []
        for traceID in traceIDs {
            try db.statement("SELECT session_id, user_id FROM traces WHERE project_id = ? AND trace_id = ?")
                .query([.integer(projectID), .text(traceID)]) { row in
                    if let id = row.text(0) { sessions.append(id) }
                    if let user = row.text(1) { users.insert(user) }
                }
            let bound: [SQLiteValue] = [.integer(projectID), .text(traceID)]
            try db.statement("""
                DELETE FROM events WHERE project_id = ?1 AND entity_kind = 2 AND entity_id IN (
                    SELECT observation_id FROM observations WHERE project_id = ?1 AND trace_id = ?2)
                """).run(bound)
            try db.statement("""
                DELETE FROM events WHERE project_id = ?1 AND entity_kind = 3 AND entity_id IN (
                    SELECT score_id FROM scores WHERE project_id = ?1 AND trace_id = ?2)
                """).run(bound)
            try db.statement("DELETE FROM events WHERE project_id = ?1 AND entity_kind = 1 AND entity_id = ?2").run(bound)
            try db.statement("DELETE FROM observations WHERE project_id = ?1 AND trace_id = ?2").run(bound)
            try db.statement("DELETE FROM scores WHERE project_id = ?1 AND trace_id = ?2").run(bound)
            try db.statement("DELETE FROM traces WHERE project_id = ?1 AND trace_id = ?2").run(bound)
        }
        // A user's first and last seen follow their remaining traces; one with none is forgotten.
        for user in users { try IngestionStore.refreshUser(user, projectID: projectID, on: db) }
        AggregateStore.markStale(sessions, projectID: projectID, on: db)
    }

    /// Deletes one score by id; false when there is none.
    package static func deleteScore(_ scoreID: String, projectID: Int64, on db: SQLiteConnection) throws -> Bool {
        var traceID: String?
        var sessionID: String?
        try db.statement("SELECT trace_id, session_id FROM scores WHERE project_id = ? AND score_id = ?")
            .query([.integer(projectID), .text(scoreID)]) { row in
                traceID = row.text(0)
                sessionID = row.text(1)
            }
        try db.statement("DELETE FROM events WHERE project_id = ? AND entity_kind = 3 AND entity_id = ?")
            .run([.integer(projectID), .text(scoreID)])
        try db.statement("DELETE FROM scores WHERE project_id = ? AND score_id = ?").run([.integer(projectID), .text(scoreID)])
        let deleted = db.changes > 0
        if let traceID { AggregateStore.markTracesStale([traceID], projectID: projectID, on: db) }
        AggregateStore.markStale(sessionID.map { [$0] } ?? [], projectID: projectID, on: db)
        return deleted
    }
}
