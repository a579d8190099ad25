/// Deletion that must not hold the writer for long: erasing a user or a session, and expiring
/// data past a project's retention. Each call does one bounded step in the caller's writer
/// transaction and says whether anything is left, so other writes run between steps
/// (docs/PRIVACY.md, "Deletion" and "Retention").
package enum DeletionStore {
    package enum Target: Sendable, Equatable {
        /// A session with every trace in it.
        case session(String)
        /// Everything of one user (the id in its stored form): their traces, their sessions with
        /// every trace in them, and their `users` row.
        case user(String)
    }

    /// What one step removed.
    package struct Step: Sendable, Equatable {
        package var traces = 0
        package var sessions = 0
        /// Nothing of the target is left.
        package var done = false
    }

    /// Deletes at most `limit` traces (or one session, once the traces are gone) of `target`.
    package static func step(_ target: Target, projectID: Int64, limit: Int, on db: SQLiteConnection) throws -> Step {
        switch target {
        case .session(let sessionID):
            let traces = try deleteTraces(whereColumn: "session_id", is: sessionID, projectID: projectID, limit: limit, on: db)
            if traces > 0 { return Step(traces: traces) }
            let deleted = try deleteSessionRow(sessionID, projectID: projectID, on: db)
            return Step(sessions: deleted ? 1 : 0, done: true)
        case .user(let userID):
            let traces = try deleteTraces(whereColumn: "user_id", is: userID, projectID: projectID, limit: limit, on: db)
            if traces > 0 { return Step(traces: traces) }
            // Their sessions, with any trace in them that named no user.
            if let session = try ids("SELECT session_id FROM sessions WHERE project_id = ? AND user_id = ? LIMIT ?",
                                     projectID, .text(userID), 1, on: db).first {
                var step = try self.step(.session(session), projectID: projectID, limit: limit, on: db)
                step.done = false
                return step
            }
            try db.statement("DELETE FROM users WHERE project_id = ? AND user_id = ?").run([.integer(projectID), .text(userID)])
            return Step(done: true)
        }
    }

    /// Deletes at most `limit` traces whose `column` (`session_id` or `user_id`) is `value`;
    /// returns how many.
    private static func deleteTraces(
        whereColumn column: String, is value: String, projectID: Int64, limit: Int, on db: SQLiteConnection
    ) throws -> Int {
        let traces = try ids("SELECT trace_id FROM traces WHERE project_id = ? AND \(column) = ? LIMIT ?",
                             projectID, .text(value), limit, on: db)
        if !traces.isEmpty { try SessionStore.deleteTraces(traces, projectID: projectID, on: db) }
        return traces.count
    }

    /// Whether anything of `target` exists.
    package static func exists(_ target: Target, projectID: Int64, on db: SQLiteConnection) throws -> Bool {
        var found = false
        let sql = switch target {
        case .session: "SELECT 1 FROM sessions WHERE project_id = ?1 AND session_id = ?2 UNION ALL SELECT 1 FROM traces WHERE project_id = ?1 AND session_id = ?2 LIMIT 1"
        case .user: "SELECT 1 FROM users WHERE project_id = ?1 AND user_id = ?2 UNION ALL SELECT 1 FROM sessions WHERE project_id = ?1 AND user_id = ?2 LIMIT 1"
        }
        let id = switch target { case .session(let id), .user(let id): id }
        try db.statement(sql).query([.integer(projectID), .text(id)]) { _ in found = true }
        return found
    }

    /// Deletes the session row and the scores attached to the session itself.
    private static func deleteSessionRow(_ sessionID: String, projectID: Int64, on db: SQLiteConnection) throws -> Bool {
        let bound: [SQLiteValue] = [.integer(projectID), .text(sessionID)]
        try db.statement("""
            DELETE FROM events WHERE project_id = ?1 AND entity_kind = 3 AND entity_id IN (
                SELECT score_id FROM scores WHERE project_id = ?1 AND session_id = ?2)
            """).run(bound)
        try db.statement("DELETE FROM scores WHERE project_id = ?1 AND session_id = ?2").run(bound)
        try db.statement("DELETE FROM sessions WHERE project_id = ?1 AND session_id = ?2").run(bound)
        return db.changes > 0
    }

    // MARK: Jobs

    /// A deletion recorded in `deletion_jobs`: done at once when small, else finished in the
    /// background by the API's `DeletionWorker`, which also resumes it after a restart.
    package struct Job: Sendable, Equatable {
        package let jobID: String
        package let projectID: Int64
        /// `session` or `user`.
        package let kind: String
        /// The session id or stored user id; emptied once the job is done, so a finished erasure
        /// leaves no trace of whom it erased.
        package let target: String
        /// `running` or `done`.
        package let status: String
        package let requestedAt: Int64
        package let finishedAt: Int64?
        package let traces: Int64
        package let sessions: Int64

        package var deletionTarget: Target { kind == "user" ? .user(target) : .session(target) }
    }

    package static func createJob(
        jobID: String, target: Target, projectID: Int64, now: Int64, on db: SQLiteConnection
    ) throws {
        let (kind, id) = switch target {
        case .session(let id): ("session", id)
        case .user(let id): ("user", id)
        }
        try db.statement("""
            INSERT INTO deletion_jobs (project_id, job_id, kind, target, status, requested_at) VALUES (?, ?, ?, ?, 'running', ?)
            """).run([.integer(projectID), .text(jobID), .text(kind), .text(id), .integer(now)])
    }

    /// Adds a step's counts to the job; with `finishedAt`, marks it done and forgets its target.
    package static func record(_ step: Step, jobID: String, finishedAt: Int64?, on db: SQLiteConnection) throws {
        let finished = finishedAt.map(SQLiteValue.integer) ?? .null
        try db.statement("""
            UPDATE deletion_jobs SET traces = traces + ?1, sessions = sessions + ?2, finished_at = ?3,
                status = CASE WHEN ?3 IS NULL THEN status ELSE 'done' END,
                target = CASE WHEN ?3 IS NULL THEN target ELSE '' END
            WHERE job_id = ?4
            """).run([.integer(Int64(step.traces)), .integer(Int64(step.sessions)), finished, .text(jobID)])
    }

    package static func job(_ jobID: String, projectID: Int64, on db: SQLiteConnection) throws -> Job? {
        var found: Job?
        try db.statement(jobSelect + " WHERE project_id = ? AND job_id = ?")
            .query([.integer(projectID), .text(jobID)]) { found = job($0) }
        return found
    }

    /// Jobs not finished, oldest first.
    package static func unfinishedJobs(on db: SQLiteConnection) throws -> [Job] {
        var jobs: [Job] = []
        try db.statement(jobSelect + " WHERE status <> 'done' ORDER BY id").query { jobs.append(job($0)) }
        return jobs
    }

    private static let jobSelect = """
        SELECT job_id, project_id, kind, target, status, requested_at, finished_at, traces, sessions FROM deletion_jobs
        """

    private static func job(_ row: Statement) -> Job {
        Job(jobID: row.text(0) ?? "", projectID: row.int(1), kind: row.text(2) ?? "", target: row.text(3) ?? "",
            status: row.text(4) ?? "", requestedAt: row.int(5), finishedAt: row.isNull(6) ? nil : row.int(6),
            traces: row.int(7), sessions: row.int(8))
    }

    // MARK: Retention

    /// Deletes at most `limit` rows older than `cutoff` (ms): traces timed before it with
    /// everything in them (and the sessions that leaves empty), then scores timed before it,
    /// observations without a trace, sessions that never had a trace and were created before it,
    /// and rejected-event records.
    /// Returns how many it deleted; 0 means nothing older is left.
    package static func expire(projectID: Int64, before cutoff: Int64, limit: Int, on db: SQLiteConnection) throws -> Int {
        var traces: [String] = []
        var sessions = Set<String>()
        try db.statement("SELECT trace_id, session_id FROM traces WHERE project_id = ? AND timestamp < ? ORDER BY timestamp LIMIT ?")
            .query([.integer(projectID), .integer(cutoff), .integer(Int64(limit))]) { row in
                traces.append(row.text(0) ?? "")
                if let session = row.text(1) { sessions.insert(session) }
            }
        if !traces.isEmpty {
            try SessionStore.deleteTraces(traces, projectID: projectID, on: db)
            // A session these deletions emptied goes too: everything in it was older.
            var emptied = 0
            for session in sessions.sorted() {
                var left = false
                try db.statement("SELECT 1 FROM traces WHERE project_id = ? AND session_id = ? LIMIT 1")
                    .query([.integer(projectID), .text(session)]) { _ in left = true }
                if !left, try deleteSessionRow(session, projectID: projectID, on: db) { emptied += 1 }
            }
            return traces.count + emptied
        }
        let scores = try ids("SELECT score_id FROM scores WHERE project_id = ? AND timestamp < ? LIMIT ?", projectID, .integer(cutoff), limit, on: db)
        for score in scores { _ = try SessionStore.deleteScore(score, projectID: projectID, on: db) }
        if !scores.isEmpty { return scores.count }

        let observations = try ids("""
            SELECT observation_id FROM observations WHERE project_id = ? AND trace_id IS NULL AND start_time < ? LIMIT ?
            """, projectID, .integer(cutoff), limit, on: db)
        for observation in observations {
            let bound: [SQLiteValue] = [.integer(projectID), .text(observation)]
            try db.statement("DELETE FROM events WHERE project_id = ?1 AND entity_kind = 2 AND entity_id = ?2").run(bound)
            try db.statement("DELETE FROM observations WHERE project_id = ?1 AND observation_id = ?2").run(bound)
        }
        if !observations.isEmpty { return observations.count }

        // Sessions that never had a trace (created through `POST /sessions`), by their own clock.
        let untraced = try ids("""
            SELECT session_id FROM sessions s WHERE project_id = ?1 AND last_activity IS NULL AND created_at < ?2
            AND NOT EXISTS (SELECT 1 FROM traces t WHERE t.project_id = s.project_id AND t.session_id = s.session_id)
            LIMIT ?3
            """, projectID, .integer(cutoff), limit, on: db)
        for session in untraced { _ = try deleteSessionRow(session, projectID: projectID, on: db) }
        if !untraced.isEmpty { return untraced.count }

        try db.statement("""
            DELETE FROM rejected_events WHERE id IN (
                SELECT id FROM rejected_events WHERE project_id = ? AND received_at < ? LIMIT ?)
            """).run([.integer(projectID), .integer(cutoff), .integer(Int64(limit))])
        return db.changes
    }

    /// The first column of `sql`'s rows, bound to the project, `key` and `limit` in that order.
    private static func ids(
        _ sql: String, _ projectID: Int64, _ key: SQLiteValue, _ limit: Int, on db: SQLiteConnection
    ) throws -> [String] {
        var ids: [String] = []
        try db.statement(sql).query([.integer(projectID), key, .integer(Int64(limit))]) { row in
            if let id = row.text(0) { ids.append(id) }
        }
        return ids
    }
}
