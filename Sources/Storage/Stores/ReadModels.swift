import Model

/// Rows as the read API needs them. JSON-valued columns stay JSON text; the API renders them.

/// A session with its lifecycle fields and aggregates.
package struct SessionRow: Sendable, Equatable {
    package var sessionID: String
    package var createdAt: Int64
    package var updatedAt: Int64
    package var environment: String
    package var userID: String?
    package var type: String?
    package var channel: String?
    package var clientVersion: String?
    package var locale: String?
    package var userTier: String?
    package var orgID: String?
    package var metadata: String
    package var startTime: Int64?
    package var endTime: Int64?
    package var status: String
    package var endReason: String?
    package var firstActivity: Int64?
    package var lastActivity: Int64?
    package var durationMs: Int64
    package var turnCount: Int64
    package var observationCount: Int64
    package var generationCount: Int64
    package var toolCount: Int64
    package var errorCount: Int64
    package var inputTokens: Int64
    package var outputTokens: Int64
    package var totalTokens: Int64
    package var totalCost: Double
    package var latencyMeanMs: Double?
    package var latencyP95Ms: Double?
    package var scores: String
    package var tags: String
    /// Conversation analytics (schema v6, docs/ANALYTICS.md).
    package var analytics: SessionAnalyticsRow

    static let columns = """
        session_id, created_at, updated_at, environment, user_id, type, channel, client_version, locale,
        user_tier, org_id, metadata, start_time, end_time, status, end_reason, first_activity, last_activity,
        duration_ms, turn_count, observation_count, generation_count, tool_count, error_count, input_tokens,
        output_tokens, total_tokens, total_cost, latency_mean_ms, latency_p95_ms, scores, tags,
        \(SessionAnalyticsRow.columns)
        """

    init(_ row: Statement) {
        sessionID = row.text(0) ?? ""
        createdAt = row.int(1)
        updatedAt = row.int(2)
        environment = row.text(3) ?? "default"
        userID = row.text(4)
        type = row.text(5)
        channel = row.text(6)
        clientVersion = row.text(7)
        locale = row.text(8)
        userTier = row.text(9)
        orgID = row.text(10)
        metadata = row.text(11) ?? "{}"
        startTime = row.optionalInt(12)
        endTime = row.optionalInt(13)
        status = row.text(14) ?? "active"
        endReason = row.text(15)
        firstActivity = row.optionalInt(16)
        lastActivity = row.optionalInt(17)
        durationMs = row.int(18)
        turnCount = row.int(19)
        observationCount = row.int(20)
        generationCount = row.int(21)
        toolCount = row.int(22)
        errorCount = row.int(23)
        inputTokens = row.int(24)
        outputTokens = row.int(25)
        totalTokens = row.int(26)
        totalCost = row.double(27)
        latencyMeanMs = row.isNull(28) ? nil : row.double(28)
        latencyP95Ms = row.isNull(29) ? nil : row.double(29)
        scores = row.text(30) ?? "{}"
        tags = row.text(31) ?? "[]"
        analytics = SessionAnalyticsRow(row, from: 32)
    }
}

/// A session's conversation-analytics columns.
package struct SessionAnalyticsRow: Sendable, Equatable {
    package var endSource: String?
    package var idleTimeMs: Int64?
    package var resumptions: Int64
    package var turnNumberSource: String?
    /// JSON object (`TurnIssues.json`), `{}` when there are none.
    package var turnIssues: String
    package var conversationCount: Int64
    package var lastTurnNumber: Int64?
    package var lastIntent: String?
    package var agentLastAction: String?
    package var sinceLastTurnMs: Int64?
    package var dropoff: Bool
    package var completed: Bool
    package var journeyName: String?
    package var journeyStage: String?
    package var journeyStageNumber: Int64?
    package var journeyTotalStages: Int64?
    package var converted: Bool
    package var conversionTurn: Int64?
    package var conversionTimeMs: Int64?
    package var contextMaxPercent: Double?
    package var contextMaxTokens: Int64?
    package var contextFirstTurnOver80: Int64?
    package var userSatisfaction: Double?

    static let columns = """
        end_source, idle_time_ms, resumptions, turn_number_source, turn_issues, conversation_count,
        last_turn_number, last_intent, agent_last_action, since_last_turn_ms, dropoff, completed, journey_name,
        journey_stage, journey_stage_number, journey_total_stages, converted, conversion_turn, conversion_time_ms,
        context_max_pct, context_max_tokens, context_over80_turn, user_satisfaction
        """

    init(_ row: Statement, from first: Int32) {
        var index = first
        func next() -> Int32 { defer { index += 1 }; return index }
        endSource = row.text(next())
        idleTimeMs = row.optionalInt(next())
        resumptions = row.int(next())
        turnNumberSource = row.text(next())
        turnIssues = row.text(next()) ?? "{}"
        conversationCount = row.int(next())
        lastTurnNumber = row.optionalInt(next())
        lastIntent = row.text(next())
        agentLastAction = row.text(next())
        sinceLastTurnMs = row.optionalInt(next())
        dropoff = row.int(next()) != 0
        completed = row.int(next()) != 0
        journeyName = row.text(next())
        journeyStage = row.text(next())
        journeyStageNumber = row.optionalInt(next())
        journeyTotalStages = row.optionalInt(next())
        converted = row.int(next()) != 0
        conversionTurn = row.optionalInt(next())
        conversionTimeMs = row.optionalInt(next())
        contextMaxPercent = row.optionalDouble(next())
        contextMaxTokens = row.optionalInt(next())
        contextFirstTurnOver80 = row.optionalInt(next())
        userSatisfaction = row.optionalDouble(next())
    }
}

/// A trace with its aggregates.
package struct TraceRow: Sendable, Equatable {
    package var traceID: String
    package var timestamp: Int64
    package var name: String?
    package var userID: String?
    package var sessionID: String?
    package var release: String?
    package var version: String?
    package var input: String?
    package var output: String?
    package var metadata: String?
    package var tags: String
    package var isPublic: Bool
    package var environment: String
    package var createdAt: Int64
    package var updatedAt: Int64
    package var turnNumber: Int64?
    package var observationCount: Int64
    package var inputTokens: Int64
    package var outputTokens: Int64
    package var totalTokens: Int64
    package var totalCost: Double
    package var latencyMs: Int64
    /// The session-tracking columns; `turnNumber` above is the same as `tracking.turnNumber`.
    package var tracking: SessionTracking
    package var toolCount: Int64
    package var agentCount: Int64
    /// What Parley derived for the turn (schema v6); nil outside a session.
    package var derivation: TurnDerivation?

    static let columns = """
        trace_id, timestamp, name, user_id, session_id, release, version, input, output, metadata, tags,
        public, environment, created_at, updated_at, turn_number, observation_count, input_tokens,
        output_tokens, total_tokens, total_cost, latency_ms, \(TrackingColumns.names.joined(separator: ", ")),
        tool_count, agent_count, turn_seq, turn_source, turn_flags, context_used_tokens, context_window,
        context_used_pct, context_source
        """

    init(_ row: Statement) {
        traceID = row.text(0) ?? ""
        timestamp = row.int(1)
        name = row.text(2)
        userID = row.text(3)
        sessionID = row.text(4)
        release = row.text(5)
        version = row.text(6)
        input = row.text(7)
        output = row.text(8)
        metadata = row.text(9)
        tags = row.text(10) ?? "[]"
        isPublic = row.int(11) != 0
        environment = row.text(12) ?? "default"
        createdAt = row.int(13)
        updatedAt = row.int(14)
        turnNumber = row.optionalInt(15)
        observationCount = row.int(16)
        inputTokens = row.int(17)
        outputTokens = row.int(18)
        totalTokens = row.int(19)
        totalCost = row.double(20)
        latencyMs = row.int(21)
        tracking = TrackingColumns.read(row, from: 22)
        let next = 22 + Int32(TrackingColumns.names.count)
        toolCount = row.int(next)
        agentCount = row.int(next + 1)
        derivation = TurnDerivation(row, from: next + 2)
    }
}

/// An observation as stored.
package struct ObservationRow: Sendable, Equatable {
    package var observationID: String
    package var traceID: String?
    package var type: String
    package var parentObservationID: String?
    package var name: String?
    package var startTime: Int64
    package var endTime: Int64?
    package var completionStartTime: Int64?
    package var model: String?
    package var modelParameters: String?
    package var input: String?
    package var output: String?
    package var metadata: String?
    package var level: String
    package var statusMessage: String?
    package var version: String?
    package var environment: String
    package var usageDetails: String?
    package var costDetails: String?
    package var totalCost: Double?
    package var promptName: String?
    package var promptVersion: Int64?
    package var createdAt: Int64
    package var updatedAt: Int64
    /// `given` or `inferred` (docs/DATA_MODEL.md, "Model prices and cost inference"), or nil.
    package var costSource: String?
    /// The model definition the model matched.
    package var internalModelID: String?
    /// The pricing tier an inferred cost used.
    package var pricingTier: String?

    static let columns = """
        observation_id, trace_id, type, parent_observation_id, name, start_time, end_time,
        completion_start_time, model, model_parameters, input, output, metadata, level, status_message,
        version, environment, usage_details, cost_details, total_cost, prompt_name, prompt_version,
        created_at, updated_at, cost_source, internal_model_id, pricing_tier
        """

    init(_ row: Statement) {
        observationID = row.text(0) ?? ""
        traceID = row.text(1)
        type = row.text(2) ?? "SPAN"
        parentObservationID = row.text(3)
        name = row.text(4)
        startTime = row.int(5)
        endTime = row.optionalInt(6)
        completionStartTime = row.optionalInt(7)
        model = row.text(8)
        modelParameters = row.text(9)
        input = row.text(10)
        output = row.text(11)
        metadata = row.text(12)
        level = row.text(13) ?? "DEFAULT"
        statusMessage = row.text(14)
        version = row.text(15)
        environment = row.text(16) ?? "default"
        usageDetails = row.text(17)
        costDetails = row.text(18)
        totalCost = row.isNull(19) ? nil : row.double(19)
        promptName = row.text(20)
        promptVersion = row.optionalInt(21)
        createdAt = row.int(22)
        updatedAt = row.int(23)
        costSource = row.text(24)
        internalModelID = row.text(25)
        pricingTier = row.text(26)
    }
}

/// A score as stored.
package struct ScoreRow: Sendable, Equatable {
    package var scoreID: String
    package var timestamp: Int64
    package var name: String
    package var value: Double?
    package var stringValue: String?
    package var dataType: String
    package var source: String
    package var traceID: String?
    package var observationID: String?
    package var sessionID: String?
    package var datasetRunID: String?
    package var comment: String?
    package var metadata: String?
    package var configID: String?
    package var queueID: String?
    package var environment: String
    package var createdAt: Int64
    package var updatedAt: Int64

    static let columns = """
        score_id, timestamp, name, value, string_value, data_type, source, trace_id, observation_id,
        session_id, dataset_run_id, comment, metadata, config_id, queue_id, environment, created_at, updated_at
        """

    init(_ row: Statement) {
        scoreID = row.text(0) ?? ""
        timestamp = row.int(1)
        name = row.text(2) ?? ""
        value = row.isNull(3) ? nil : row.double(3)
        stringValue = row.text(4)
        dataType = row.text(5) ?? "NUMERIC"
        source = row.text(6) ?? "API"
        traceID = row.text(7)
        observationID = row.text(8)
        sessionID = row.text(9)
        datasetRunID = row.text(10)
        comment = row.text(11)
        metadata = row.text(12)
        configID = row.text(13)
        queueID = row.text(14)
        environment = row.text(15) ?? "default"
        createdAt = row.int(16)
        updatedAt = row.int(17)
    }
}

extension Statement {
    func optionalInt(_ column: Int32) -> Int64? { isNull(column) ? nil : int(column) }
}
