import Model

/// The queries behind `/api/public/analytics/*`. They read the per-session columns that
/// `AggregateStore` keeps on write, so an answer is one indexed pass over the matching sessions
/// (and, for a journey's stages, over its turns), never over observations.
package enum AnalyticsStore {
    // MARK: Drop-off

    /// What `GET /api/public/analytics/dropoff` groups by.
    package enum DropoffGrouping: String, Sendable, CaseIterable {
        case lastTurn, lastIntent, agentLastAction, channel, userTier

        var column: String {
            switch self {
            case .lastTurn: "last_turn_number"
            case .lastIntent: "last_intent"
            case .agentLastAction: "agent_last_action"
            case .channel: "channel"
            case .userTier: "user_tier"
            }
        }
    }

    package struct DropoffGroup: Sendable, Equatable {
        /// The group's value as text (a turn number is rendered as a number by the API); nil
        /// for sessions without one.
        package var key: String?
        /// Ended sessions in the group (by any means).
        package var ended: Int
        package var dropoffs: Int
        /// Up to three drop-off session ids, most recent activity first.
        package var examples: [String]
    }

    package struct DropoffReport: Sendable, Equatable {
        /// Sessions the filters match, active or not.
        package var sessions: Int
        package var ended: Int
        package var dropoffs: Int
        /// Groups with at least one drop-off, most drop-offs first.
        package var groups: [DropoffGroup]
    }

    package static func dropoff(
        _ conditions: ReadStore.Conditions, groupBy: DropoffGrouping, limit: Int, on db: SQLiteConnection
    ) throws -> DropoffReport {
        var report = DropoffReport(sessions: 0, ended: 0, dropoffs: 0, groups: [])
        try db.statement("""
            SELECT count(*), coalesce(sum(status != 'active'), 0), coalesce(sum(dropoff), 0)
            FROM sessions WHERE \(conditions.sql)
            """).query(conditions.values) { row in
                report.sessions = Int(row.int(0))
                report.ended = Int(row.int(1))
                report.dropoffs = Int(row.int(2))
            }
        let column = groupBy.column
        var index: [String: Int] = [:]
        try db.statement("""
            SELECT CAST(\(column) AS TEXT), count(*), sum(dropoff) FROM sessions
            WHERE \(conditions.sql) AND status != 'active'
            GROUP BY \(column) HAVING sum(dropoff) > 0 ORDER BY sum(dropoff) DESC, count(*) DESC, \(column) LIMIT ?
            """).query(conditions.values + [.integer(Int64(limit))]) { row in
                let key = row.text(0)
                index[key ?? "\u{0}"] = report.groups.count
                report.groups.append(DropoffGroup(key: key, ended: Int(row.int(1)), dropoffs: Int(row.int(2)), examples: []))
            }
        try db.statement("""
            SELECT key, session_id FROM (
                SELECT CAST(\(column) AS TEXT) AS key, session_id,
                       row_number() OVER (PARTITION BY \(column) ORDER BY last_activity DESC, session_id) AS rank
                FROM sessions WHERE \(conditions.sql) AND dropoff = 1)
            WHERE rank <= 3 ORDER BY key, rank
            """).query(conditions.values) { row in
                guard let at = index[row.text(0) ?? "\u{0}"] else { return }
                report.groups[at].examples.append(row.text(1) ?? "")
            }
        return report
    }

    // MARK: Session distributions

    /// The per-session figures whose distributions `GET /api/public/analytics/sessions` reports,
    /// each sorted ascending.
    package struct SessionFigures: Sendable, Equatable {
        package var count = 0
        package var durationMs: [Int64] = []
        package var turns: [Int64] = []
        package var totalTokens: [Int64] = []
        package var totalCost: [Double] = []
        /// Mean turn latency of each session that has one.
        package var turnLatencyMs: [Double] = []
        package var userSatisfaction: [Double] = []
    }

    package static func sessionFigures(_ conditions: ReadStore.Conditions, on db: SQLiteConnection) throws -> SessionFigures {
        var figures = SessionFigures()
        try db.statement("""
            SELECT duration_ms, turn_count, total_tokens, total_cost, latency_mean_ms, user_satisfaction
            FROM sessions WHERE \(conditions.sql)
            """).query(conditions.values) { row in
                figures.count += 1
                figures.durationMs.append(row.int(0))
                figures.turns.append(row.int(1))
                figures.totalTokens.append(row.int(2))
                figures.totalCost.append(row.double(3))
                if let latency = row.optionalDouble(4) { figures.turnLatencyMs.append(latency) }
                if let satisfaction = row.optionalDouble(5) { figures.userSatisfaction.append(satisfaction) }
            }
        figures.durationMs.sort()
        figures.turns.sort()
        figures.totalTokens.sort()
        figures.totalCost.sort()
        figures.turnLatencyMs.sort()
        figures.userSatisfaction.sort()
        return figures
    }

    // MARK: Journeys

    package struct JourneySummary: Sendable, Equatable {
        package var name: String
        package var sessions: Int
        package var converted: Int
        /// The earliest first activity (else creation time) of its sessions.
        package var firstSeen: Int64
        /// The latest last activity (else creation time) of its sessions.
        package var lastSeen: Int64?
    }

    /// Every journey whose sessions match `conditions`, most sessions first.
    package static func journeys(_ conditions: ReadStore.Conditions, on db: SQLiteConnection) throws -> [JourneySummary] {
        var journeys: [JourneySummary] = []
        try db.statement("""
            SELECT journey_name, count(*), sum(converted), min(coalesce(first_activity, created_at)),
                   max(coalesce(last_activity, created_at)) FROM sessions
            WHERE \(conditions.sql) AND journey_name IS NOT NULL GROUP BY journey_name ORDER BY count(*) DESC, journey_name
            """).query(conditions.values) { row in
                journeys.append(JourneySummary(
                    name: row.text(0) ?? "", sessions: Int(row.int(1)), converted: Int(row.int(2)),
                    firstSeen: row.int(3), lastSeen: row.optionalInt(4)))
            }
        return journeys
    }

    /// The sessions of journey `name` matching `conditions` with their stage paths, in session
    /// id order, for `JourneyFunnel`.
    package static func journey(
        _ name: String, _ conditions: ReadStore.Conditions, on db: SQLiteConnection
    ) throws -> [JourneyFunnel.SessionOutcome] {
        var outcomes: [JourneyFunnel.SessionOutcome] = []
        try db.statement("""
            SELECT session_id, last_activity, converted, conversion_turn, conversion_time_ms, journey_path FROM sessions
            WHERE \(conditions.sql) AND journey_name = ? ORDER BY session_id
            """).query(conditions.values + [.text(name)]) { row in
                outcomes.append(JourneyFunnel.SessionOutcome(
                    sessionID: row.text(0) ?? "", lastActivity: row.optionalInt(1), converted: row.int(2) != 0,
                    conversionTurn: row.optionalInt(3), conversionTimeMs: row.optionalInt(4),
                    path: StageEntry.parse(row.text(5))))
            }
        return outcomes
    }
}
