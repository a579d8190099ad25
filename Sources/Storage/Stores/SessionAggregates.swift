import Model

/// Recomputing a session from its stored turns: counts and sums, latency, the attributes its
/// turns sent, turn numbers, context use, journey progress, satisfaction, and its lifecycle
/// (end, reopening, drop-off). Every figure is a function of the stored rows
/// (`SessionAnalysis`, `SessionLifecycle`), so arrival order and re-delivery never change it.
extension AggregateStore {
    /// Recomputes each session's aggregates from its traces and scores.
    static func refreshSessions(_ sessionIDs: some Sequence<String>, projectID: Int64, on db: SQLiteConnection) throws {
        let windows = try ProjectSettingsStore.settings(projectID: projectID, on: db).windows
        for sessionID in Set(sessionIDs) {
            try refreshSession(sessionID, projectID: projectID, windows: windows, on: db)
        }
    }

    /// Recomputes every session of every project (`Derivations`, version 2, which fills the
    /// v6 and v7 columns).
    static func refreshEverySession(on db: SQLiteConnection) throws {
        for (projectID, _) in try ProjectSettingsStore.all(on: db) {
            var after: Int64 = 0
            while let last = try refreshSessions(ofProject: projectID, after: after, limit: 500, on: db) { after = last }
        }
    }

    /// Recomputes up to `limit` sessions of a project whose row id is above `after`, in row-id
    /// order; returns the last row id done, or nil when there were none left. Callers loop, one
    /// writer job per batch, so a project of any size never holds the writer for long.
    package static func refreshSessions(ofProject projectID: Int64, after: Int64, limit: Int, on db: SQLiteConnection) throws -> Int64? {
        var batch: [(Int64, String)] = []
        try db.statement("SELECT id, session_id FROM sessions WHERE project_id = ? AND id > ? ORDER BY id LIMIT ?")
            .query([.integer(projectID), .integer(after), .integer(Int64(limit))]) { batch.append(($0.int(0), $0.text(1) ?? "")) }
        guard let last = batch.last?.0 else { return nil }
        try refreshSessions(batch.map(\.1), projectID: projectID, on: db)
        return last
    }

    /// The columns the turn pass reads: activity, latency, the peak generation, what was derived
    /// last time (`TurnDerivation`, from column 9), then the tracking columns (from column 16).
    private static let turnColumns = """
        id, trace_id, timestamp, min(timestamp, coalesce(first_start, timestamp)),
        max(timestamp, coalesce(last_end, timestamp)), observation_count > 0, latency_ms, peak_input_tokens, peak_model,
        turn_seq, turn_source, turn_flags, context_used_tokens, context_window, context_used_pct, context_source,
        \(TrackingColumns.names.joined(separator: ", "))
        """

    private static func refreshSession(_ sessionID: String, projectID: Int64, windows: ContextWindows, on db: SQLiteConnection) throws {
        let key: [SQLiteValue] = [.integer(projectID), .text(sessionID)]
        guard var lifecycle = try lifecycle(sessionID, projectID: projectID, on: db) else { return }

        // One pass over the session's turns, in time order.
        var facts: [TurnFacts] = []
        var stored: [(rowID: Int64, derivation: TurnDerivation?)] = []
        var latencies: [Int64] = []
        var attributes = [String?](repeating: nil, count: 6)
        var firstActivity: Int64?
        var lastActivity: Int64?
        try db.statement("SELECT \(turnColumns) FROM traces WHERE project_id = ? AND session_id = ? ORDER BY timestamp, trace_id")
            .query(key) { row in
                let start = row.int(3), end = row.int(4)
                firstActivity = min(firstActivity ?? start, start)
                lastActivity = max(lastActivity ?? end, end)
                if row.int(5) != 0 { latencies.append(row.int(6)) }
                var turn = TurnFacts(
                    traceID: row.text(1) ?? "", timestamp: row.int(2), lastEnd: end, tracking: TrackingColumns.read(row, from: 16))
                turn.peakInputTokens = row.optionalInt(7)
                turn.peakModel = row.text(8)
                let t = turn.tracking
                for (index, value) in [t.sessionType, t.sessionChannel, t.sessionClientVersion, t.sessionLocale, t.userTier,
                                       t.userOrgID].enumerated() where value != nil {
                    attributes[index] = value
                }
                facts.append(turn)
                stored.append((row.int(0), TurnDerivation(row, from: 9)))
            }
        let analysis = SessionAnalysis.analyse(facts, windows: windows)

        // Only turns whose derived values changed are written: appending a turn writes one row.
        let updateTurn = try db.statement("""
            UPDATE traces SET turn_seq = ?, turn_source = ?, turn_flags = ?, context_used_tokens = ?,
                context_window = ?, context_used_pct = ?, context_source = ? WHERE id = ?
            """)
        for (derived, old) in zip(analysis.turns, stored) where derived != old.derivation {
            try updateTurn.run([
                .integer(derived.number), .text(derived.source.rawValue), .text(derived.flags.joined(separator: ",")),
                .optional(derived.contextTokens), .optional(derived.contextLimit), .optional(derived.contextPercent),
                .optional(derived.contextSource), .integer(old.rowID),
            ])
        }

        let (summaries, satisfaction) = try scoreSummaries(key, on: db)
        lifecycle = lifecycle.resolved(with: analysis, lastActivity: lastActivity)
        var agentLastAction = analysis.agentLastAction
        var sinceLastTurn: Int64?
        if lifecycle.status != SessionLifecycle.Status.active {
            if agentLastAction == nil, let last = facts.last {
                agentLastAction = try lastAction(ofTrace: last.traceID, projectID: projectID, on: db)
            }
            if lifecycle.status == SessionLifecycle.Status.timedOut {
                sinceLastTurn = lifecycle.idleTimeMs
            } else if let end = lifecycle.endTime, let lastActivity {
                sinceLastTurn = max(0, end.subtractingSaturating(lastActivity))
            }
        }
        let (mean, p95) = summary(latencies)
        let journey = analysis.journey
        func flag(_ value: Bool) -> SQLiteValue { .integer(value ? 1 : 0) }
        try db.statement(updateSession).run(key + [
            .optional(mean), .optional(p95), .text(JSONValue.object(summaries).jsonText),
        ] + attributes.map(SQLiteValue.optional) + [
            .optional(firstActivity), .optional(lastActivity),
            .text(lifecycle.status), .optional(lifecycle.endReason), .optional(lifecycle.endTime),
            .optional(lifecycle.endSource), .optional(lifecycle.endedActivity), .optional(lifecycle.idleTimeMs),
            .integer(lifecycle.resumptions),
            .optional(analysis.numberSource), .text(analysis.issues.isEmpty ? "{}" : analysis.issues.json.jsonText),
            flag(!analysis.issues.isEmpty), .integer(Int64(analysis.conversationCount)),
            .optional(analysis.lastTurnNumber), .optional(analysis.lastIntent), .optional(agentLastAction),
            .optional(sinceLastTurn), flag(lifecycle.isDropoff(analysis)), flag(lifecycle.isCompleted(analysis)),
            .optional(journey.name), .optional(journey.stage), .optional(journey.stageNumber),
            .optional(journey.totalStages), flag(journey.converted), .optional(journey.conversionTurn),
            .optional(journey.conversionTimeMs), .optional(analysis.contextMaxPercent),
            .optional(analysis.contextMaxTokens), .optional(analysis.contextFirstTurnOver80), .optional(satisfaction),
            .optional(StageEntry.json(analysis.journeyPath)),
        ])
    }

    private static let updateSession = """
        UPDATE sessions SET
            turn_count = a.n, observation_count = a.observations, generation_count = a.generations,
            tool_count = a.tools, error_count = a.errors, input_tokens = a.input_tokens,
            output_tokens = a.output_tokens, total_tokens = a.total_tokens, total_cost = a.total_cost,
            first_activity = ?12, last_activity = ?13, duration_ms = coalesce(?13 - ?12, 0),
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
            latency_mean_ms = ?3, latency_p95_ms = ?4, scores = ?5,
            status = ?14, end_reason = ?15, end_time = ?16, end_source = ?17, ended_activity = ?18,
            idle_time_ms = ?19, resumptions = ?20, turn_number_source = ?21, turn_issues = ?22,
            has_turn_issues = ?23, conversation_count = ?24, last_turn_number = ?25, last_intent = ?26,
            agent_last_action = ?27, since_last_turn_ms = ?28, dropoff = ?29, completed = ?30,
            journey_name = ?31, journey_stage = ?32, journey_stage_number = ?33, journey_total_stages = ?34,
            converted = ?35, conversion_turn = ?36, conversion_time_ms = ?37, context_max_pct = ?38,
            context_max_tokens = ?39, context_over80_turn = ?40, user_satisfaction = ?41, journey_path = ?42,
            settle_version = settle_version + 1
        FROM (
            SELECT count(*) AS n,
                   coalesce(sum(observation_count), 0) AS observations,
                   coalesce(sum(generation_count), 0) AS generations,
                   coalesce(sum(tool_count), 0) AS tools,
                   coalesce(sum(error_count), 0) AS errors,
                   \(SQLExpressions.saturatingSum("input_tokens")) AS input_tokens,
                   \(SQLExpressions.saturatingSum("output_tokens")) AS output_tokens,
                   \(SQLExpressions.saturatingSum("total_tokens")) AS total_tokens,
                   coalesce(sum(total_cost), 0) AS total_cost
            FROM traces WHERE project_id = ?1 AND session_id = ?2
        ) AS a
        WHERE sessions.project_id = ?1 AND sessions.session_id = ?2
        """

    /// The stored lifecycle of a session, or nil when it does not exist.
    private static func lifecycle(_ sessionID: String, projectID: Int64, on db: SQLiteConnection) throws -> SessionLifecycle? {
        var found: SessionLifecycle?
        try db.statement("""
            SELECT status, end_reason, end_time, end_source, ended_activity, idle_time_ms, resumptions
            FROM sessions WHERE project_id = ? AND session_id = ?
            """).query([.integer(projectID), .text(sessionID)]) { row in
                var lifecycle = SessionLifecycle()
                lifecycle.status = row.text(0) ?? SessionLifecycle.Status.active
                lifecycle.endReason = row.text(1)
                lifecycle.endTime = row.optionalInt(2)
                lifecycle.endSource = row.text(3)
                lifecycle.endedActivity = row.optionalInt(4)
                lifecycle.idleTimeMs = row.optionalInt(5)
                lifecycle.resumptions = row.int(6)
                found = lifecycle
            }
        return found
    }

    /// `{name: {count, mean}}` over the session's own and its turns' scores, and the session's
    /// user satisfaction: the mean of its session-level satisfaction scores, else of its turns'.
    private static func scoreSummaries(_ key: [SQLiteValue], on db: SQLiteConnection) throws -> ([(String, JSONValue)], Double?) {
        var summaries: [(String, JSONValue)] = []
        var sessionLevel: (sum: Double, count: Double) = (0, 0)
        var turnLevel: (sum: Double, count: Double) = (0, 0)
        var current: (name: String, count: Int64, sum: Double, numeric: Int64)?
        func close() {
            guard let current else { return }
            let mean: JSONValue = current.numeric == 0 ? .null : JSONValue(current.sum / Double(current.numeric))
            summaries.append((current.name, .object([("count", JSONValue(Int(current.count))), ("mean", mean)])))
        }
        try db.statement(scoreSummarySQL).query(key) { row in
                let name = row.text(0) ?? ""
                let sum = row.isNull(3) ? 0 : row.double(3)
                let numeric = row.int(4)
                if current?.name != name {
                    close()
                    current = (name, 0, 0, 0)
                }
                current?.count += row.int(2)
                current?.sum += sum
                current?.numeric += numeric
                if SessionAnalysis.isSatisfactionScore(name), numeric > 0 {
                    if row.int(1) != 0 {
                        sessionLevel.sum += sum
                        sessionLevel.count += Double(numeric)
                    } else {
                        turnLevel.sum += sum
                        turnLevel.count += Double(numeric)
                    }
                }
            }
        close()
        let satisfaction = sessionLevel.count > 0 ? sessionLevel.sum / sessionLevel.count
            : turnLevel.count > 0 ? turnLevel.sum / turnLevel.count : nil
        return (summaries, satisfaction)
    }

    /// Per score name and level (session or turn): count, sum and count of the numeric values,
    /// over the session's own scores and then its traces' scores (not counted twice), each read
    /// through its index: an `OR` of the two made SQLite read every score of the project.
    /// CROSS JOIN keeps the session's traces as the outer loop whatever the statistics say.
    static let scoreSummarySQL = """
        SELECT name, is_session, count(*), sum(CASE WHEN data_type IN ('NUMERIC', 'BOOLEAN') THEN value END),
               count(CASE WHEN data_type IN ('NUMERIC', 'BOOLEAN') THEN value END)
        FROM (
            SELECT name, trace_id IS NULL AS is_session, data_type, value FROM scores
            WHERE project_id = ?1 AND session_id = ?2
            UNION ALL
            SELECT s.name, 0, s.data_type, s.value FROM traces t CROSS JOIN scores s
                ON s.project_id = t.project_id AND s.trace_id = t.trace_id
            WHERE t.project_id = ?1 AND t.session_id = ?2 AND (s.session_id IS NULL OR s.session_id <> ?2))
        GROUP BY name, is_session ORDER BY name
        """

    /// The agent's last action in a turn: its last observation to start, as `type:name`. (Not
    /// the last to finish: that is the turn's root span, which encloses every action.)
    private static func lastAction(ofTrace traceID: String, projectID: Int64, on db: SQLiteConnection) throws -> String? {
        var action: String?
        try db.statement("""
            SELECT type, name FROM observations WHERE project_id = ? AND trace_id = ?
            ORDER BY start_time DESC, coalesce(end_time, start_time) DESC, id DESC LIMIT 1
            """).query([.integer(projectID), .text(traceID)]) { row in
                let type = (row.text(0) ?? "SPAN").lowercased()
                action = row.text(1).map { "\(type):\($0)" } ?? type
            }
        return action
    }

    /// Mean and nearest-rank 95th percentile, or nils for no values.
    static func summary(_ values: [Int64]) -> (Double?, Double?) {
        guard !values.isEmpty else { return (nil, nil) }
        let sorted = values.sorted()
        // Added as Doubles: an Int64 sum of stored latencies may overflow.
        let mean = sorted.reduce(0.0) { $0 + Double($1) } / Double(sorted.count)
        return (mean, Percentiles.nearestRank(sorted, 95).map(Double.init))
    }
}

extension Statement {
    func optionalDouble(_ column: Int32) -> Double? { isNull(column) ? nil : double(column) }
}

extension TurnDerivation {
    /// Reads `turn_seq, turn_source, turn_flags, context_used_tokens, context_window,
    /// context_used_pct, context_source` from `first`; nil before a session refresh set them.
    init?(_ row: Statement, from first: Int32) {
        guard let number = row.optionalInt(first), let source = row.text(first + 1).flatMap(TurnNumberSource.init) else {
            return nil
        }
        let flags = row.text(first + 2) ?? ""
        self.init(
            number: number, source: source,
            flags: flags.isEmpty ? [] : flags.split(separator: ",").map(String.init),
            contextTokens: row.optionalInt(first + 3), contextLimit: row.optionalInt(first + 4),
            contextPercent: row.optionalDouble(first + 5), contextSource: row.text(first + 6))
    }
}
