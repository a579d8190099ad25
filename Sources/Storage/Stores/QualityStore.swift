import Model

/// An event refused at ingestion, kept for the data-quality report. It holds the reason and the
/// client's event id, never the event body.
package struct RejectedEvent: Sendable, Equatable {
    /// `ingestion` (batch endpoint) or `otlp`.
    package var source: String
    package var eventID: String?
    package var eventType: String?
    package var status: Int
    package var error: String
    package var message: String

    package init(source: String, eventID: String?, eventType: String?, status: Int, error: String, message: String) {
        self.source = source
        self.eventID = eventID
        self.eventType = eventType
        self.status = status
        self.error = error
        self.message = message
    }
}

/// The data-quality report (`GET /api/public/quality`, docs/PRIVACY.md "Data quality"): what
/// instrumentation got wrong, counted and sampled, over traces whose timestamp is in a window.
package enum QualityStore {
    /// Rejected events kept per project; older ones are dropped as new ones arrive.
    package static let keptRejections = 10_000

    /// Records rejected events (in the writer transaction of the request that refused them).
    package static func record(_ events: [RejectedEvent], projectID: Int64, now: Int64, on db: SQLiteConnection) throws {
        let insert = try db.statement("""
            INSERT INTO rejected_events (project_id, received_at, source, event_id, event_type, status, error, message)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for event in events {
            try insert.run([
                .integer(projectID), .integer(now), .text(event.source), .optional(event.eventID.map { String($0.prefix(200)) }),
                .optional(event.eventType.map { String($0.prefix(100)) }), .integer(Int64(event.status)),
                .text(event.error), .text(String(event.message.prefix(500))),
            ])
        }
        try db.statement("""
            DELETE FROM rejected_events WHERE project_id = ?1 AND id <= (
                SELECT id FROM rejected_events WHERE project_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)
            """).run([.integer(projectID), .integer(Int64(keptRejections))])
    }

    /// One check of the report: how many, and the newest few.
    package struct Finding: Sendable {
        package var count: Int64 = 0
        package var samples: [[(String, JSONValue)]] = []
    }

    package struct Report: Sendable {
        package var orphanTraces = Finding()
        package var missingParents = Finding()
        package var tracesWithoutRoot = Finding()
        package var sessionsWithTurnIssues = Finding()
        package var rejectedEvents = Finding()
        /// Rejections grouped by source, error and message, most frequent first.
        package var rejectionReasons: [[(String, JSONValue)]] = []
    }

    /// The report for traces (and sessions, rejections) timed in `[from, to)`.
    package static func report(projectID: Int64, from: Int64, to: Int64, samples: Int, on db: SQLiteConnection) throws -> Report {
        var report = Report()
        let window: [SQLiteValue] = [.integer(projectID), .integer(from), .integer(to), .integer(Int64(samples))]
        func finding(_ countSQL: String, _ sampleSQL: String, _ sample: (Statement) -> [(String, JSONValue)]) throws -> Finding {
            var finding = Finding()
            try db.statement(countSQL).query(Array(window.prefix(3))) { finding.count = $0.int(0) }
            if finding.count > 0 {
                try db.statement(sampleSQL).query(window) { finding.samples.append(sample($0)) }
            }
            return finding
        }
        let tracesInWindow = "t.project_id = ?1 AND t.timestamp >= ?2 AND t.timestamp < ?3"

        let orphan = "FROM traces t WHERE \(tracesInWindow) AND t.session_id IS NULL"
        report.orphanTraces = try finding("SELECT count(*) \(orphan)",
            "SELECT t.trace_id, t.name, t.timestamp \(orphan) ORDER BY t.timestamp DESC LIMIT ?4") { row in
            [("traceId", text(row, 0)), ("name", text(row, 1)), ("timestamp", .string(Timestamp.iso8601(millis: row.int(2))))]
        }

        // Observations of the window's traces whose parent id names no observation.
        let missing = """
            FROM traces t JOIN observations o ON o.project_id = t.project_id AND o.trace_id = t.trace_id
            WHERE \(tracesInWindow) AND o.parent_observation_id IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM observations p WHERE p.project_id = o.project_id AND p.observation_id = o.parent_observation_id)
            """
        report.missingParents = try finding("SELECT count(*) \(missing)",
            "SELECT o.observation_id, o.trace_id, o.parent_observation_id, o.name \(missing) ORDER BY o.start_time DESC LIMIT ?4") { row in
            [("observationId", text(row, 0)), ("traceId", text(row, 1)), ("parentObservationId", text(row, 2)), ("name", text(row, 3))]
        }

        // Traces with observations, none of them top-level: the root span never arrived.
        let rootless = """
            FROM traces t WHERE \(tracesInWindow) AND t.observation_count > 0 AND NOT EXISTS (
                SELECT 1 FROM observations o WHERE o.project_id = t.project_id AND o.trace_id = t.trace_id
                AND o.parent_observation_id IS NULL)
            """
        report.tracesWithoutRoot = try finding("SELECT count(*) \(rootless)",
            "SELECT t.trace_id, t.name, t.timestamp, t.observation_count \(rootless) ORDER BY t.timestamp DESC LIMIT ?4") { row in
            [("traceId", text(row, 0)), ("name", text(row, 1)), ("timestamp", .string(Timestamp.iso8601(millis: row.int(2)))),
             ("observationCount", JSONValue(Int(row.int(3))))]
        }

        let issues = "FROM sessions s WHERE s.project_id = ?1 AND s.created_at >= ?2 AND s.created_at < ?3 AND s.has_turn_issues = 1"
        report.sessionsWithTurnIssues = try finding("SELECT count(*) \(issues)",
            "SELECT s.session_id, s.turn_issues, s.turn_number_source \(issues) ORDER BY s.created_at DESC LIMIT ?4") { row in
            [("sessionId", text(row, 0)), ("turnIssues", .raw(row.text(1) ?? "{}")), ("turnNumberSource", text(row, 2))]
        }

        let rejected = "FROM rejected_events r WHERE r.project_id = ?1 AND r.received_at >= ?2 AND r.received_at < ?3"
        report.rejectedEvents = try finding("SELECT count(*) \(rejected)", """
            SELECT r.received_at, r.source, r.event_id, r.event_type, r.status, r.error, r.message \(rejected)
            ORDER BY r.id DESC LIMIT ?4
            """) { row in
            [("receivedAt", .string(Timestamp.iso8601(millis: row.int(0)))), ("source", text(row, 1)), ("eventId", text(row, 2)),
             ("eventType", text(row, 3)), ("status", JSONValue(Int(row.int(4)))), ("error", text(row, 5)), ("message", text(row, 6))]
        }
        if report.rejectedEvents.count > 0 {
            try db.statement("""
                SELECT r.source, r.error, r.message, count(*) AS n \(rejected)
                GROUP BY r.source, r.error, r.message ORDER BY n DESC, r.error LIMIT 20
                """).query(Array(window.prefix(3))) { row in
                report.rejectionReasons.append([
                    ("source", text(row, 0)), ("error", text(row, 1)), ("message", text(row, 2)), ("count", JSONValue(Int(row.int(3)))),
                ])
            }
        }
        return report
    }

    private static func text(_ row: Statement, _ column: Int32) -> JSONValue {
        row.text(column).map(JSONValue.string) ?? .null
    }
}
