import Model

/// The typed trace columns that hold `SessionTracking` (schema v4), in one place so the
/// upsert, the migration backfill and the reads agree on names and order.
enum TrackingColumns {
    static let names = [
        "session_type", "session_channel", "session_client_version", "session_locale", "session_end_reason",
        "conversation_id", "conversation_topic", "conversation_total_turns",
        "turn_number", "turn_id", "turn_role", "turn_input_type", "turn_output_type", "turn_latency_ms", "turn_tool_calls",
        "context_tokens", "context_limit", "context_window_pct", "context_pruned", "context_messages_pruned",
        "user_tier", "user_org_id",
        "journey_name", "journey_stage", "journey_stage_number", "journey_total_stages", "journey_converted",
        "journey_conversion_turn", "journey_time_in_stage_ms",
        "dropoff_last_intent", "dropoff_agent_last_action",
    ]

    static func values(_ t: SessionTracking) -> [SQLiteValue] {
        [
            .optional(t.sessionType), .optional(t.sessionChannel), .optional(t.sessionClientVersion),
            .optional(t.sessionLocale), .optional(t.sessionEndReason),
            .optional(t.conversationID), .optional(t.conversationTopic), .optional(t.conversationTotalTurns),
            .optional(t.turnNumber), .optional(t.turnID), .optional(t.turnRole), .optional(t.turnInputType),
            .optional(t.turnOutputType), .optional(t.turnLatencyMs), .optional(t.turnToolCalls),
            .optional(t.contextTokens), .optional(t.contextLimit), .optional(t.contextWindowPercent),
            .optional(t.contextPruned), .optional(t.contextMessagesPruned),
            .optional(t.userTier), .optional(t.userOrgID),
            .optional(t.journeyName), .optional(t.journeyStage), .optional(t.journeyStageNumber),
            .optional(t.journeyTotalStages), .optional(t.journeyConverted), .optional(t.journeyConversionTurn),
            .optional(t.journeyTimeInStageMs),
            .optional(t.dropoffLastIntent), .optional(t.dropoffAgentLastAction),
        ]
    }

    /// Reads the columns, selected in `names` order starting at `first`.
    static func read(_ row: Statement, from first: Int32) -> SessionTracking {
        var index = first
        func text() -> String? { defer { index += 1 }; return row.text(index) }
        func int() -> Int64? { defer { index += 1 }; return row.optionalInt(index) }
        func real() -> Double? { defer { index += 1 }; return row.isNull(index) ? nil : row.double(index) }
        func flag() -> Bool? { int().map { $0 != 0 } }
        var t = SessionTracking()
        t.sessionType = text(); t.sessionChannel = text(); t.sessionClientVersion = text()
        t.sessionLocale = text(); t.sessionEndReason = text()
        t.conversationID = text(); t.conversationTopic = text(); t.conversationTotalTurns = int()
        t.turnNumber = int(); t.turnID = text(); t.turnRole = text(); t.turnInputType = text()
        t.turnOutputType = text(); t.turnLatencyMs = int(); t.turnToolCalls = int()
        t.contextTokens = int(); t.contextLimit = int(); t.contextWindowPercent = real()
        t.contextPruned = flag(); t.contextMessagesPruned = int()
        t.userTier = text(); t.userOrgID = text()
        t.journeyName = text(); t.journeyStage = text(); t.journeyStageNumber = int()
        t.journeyTotalStages = int(); t.journeyConverted = flag(); t.journeyConversionTurn = int()
        t.journeyTimeInStageMs = int()
        t.dropoffLastIntent = text(); t.dropoffAgentLastAction = text()
        return t
    }

    /// `UPDATE traces SET session_type = ?, … WHERE id = ?` (the row key binds last).
    static let updateByRowID = "UPDATE traces SET "
        + names.map { "\($0) = ?" }.joined(separator: ", ") + " WHERE id = ?"

    /// Derivation 1 (`Derivations`): lifts the attributes of every trace stored before v4 from its
    /// metadata, with the same rules as ingestion.
    static func backfill(on db: SQLiteConnection) throws {
        var rows: [(Int64, String)] = []
        try db.statement("SELECT id, metadata FROM traces WHERE metadata IS NOT NULL").query { row in
            rows.append((row.int(0), row.text(1) ?? "{}"))
        }
        let update = try db.statement(updateByRowID)
        for (rowID, metadata) in rows {
            let tracking = SessionTracking(metadata: try? JSONParser.parse(metadata))
            guard tracking != SessionTracking() else { continue }
            try update.run(values(tracking) + [.integer(rowID)])
        }
    }
}

extension SQLiteValue {
    static func optional(_ flag: Bool?) -> SQLiteValue { flag.map { .integer($0 ? 1 : 0) } ?? .null }
}
