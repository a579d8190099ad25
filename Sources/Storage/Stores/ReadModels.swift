import Model

/// Rows as the read API needs them. JSON-valued columns stay JSON text; the API renders them.

/// A session with its lifecycle fields and aggregates.
public struct SessionRow: Sendable, Equatable {
    public var sessionID: String
    public var createdAt: Int64
    public var updatedAt: Int64
    public var environment: String
    public var userID: String?
    public var type: String?
    public var channel: String?
    public var clientVersion: String?
    public var locale: String?
    public var userTier: String?
    public var orgID: String?
    public var metadata: String
    public var startTime: Int64?
    public var endTime: Int64?
    public var status: String
    public var endReason: String?
    public var firstActivity: Int64?
    public var lastActivity: Int64?
    public var durationMs: Int64
    public var turnCount: Int64
    public var observationCount: Int64
    public var generationCount: Int64
    public var toolCount: Int64
    public var errorCount: Int64
    public var inputTokens: Int64
    public var outputTokens: Int64
    public var totalTokens: Int64
    public var totalCost: Double
    public var latencyMeanMs: Double?
    public var latencyP95Ms: Double?
    public var scores: String
    public var tags: String

    static let columns = """
        session_id, created_at, updated_at, environment, user_id, type, channel, client_version, locale,
        user_tier, org_id, metadata, start_time, end_time, status, end_reason, first_activity, last_activity,
        duration_ms, turn_count, observation_count, generation_count, tool_count, error_count, input_tokens,
        output_tokens, total_tokens, total_cost, latency_mean_ms, latency_p95_ms, scores, tags
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
    }
}

/// A trace with its aggregates.
public struct TraceRow: Sendable, Equatable {
    public var traceID: String
    public var timestamp: Int64
    public var name: String?
    public var userID: String?
    public var sessionID: String?
    public var release: String?
    public var version: String?
    public var input: String?
    public var output: String?
    public var metadata: String?
    public var tags: String
    public var isPublic: Bool
    public var environment: String
    public var createdAt: Int64
    public var updatedAt: Int64
    public var turnNumber: Int64?
    public var observationCount: Int64
    public var inputTokens: Int64
    public var outputTokens: Int64
    public var totalTokens: Int64
    public var totalCost: Double
    public var latencyMs: Int64
    /// The session-tracking columns; `turnNumber` above is the same as `tracking.turnNumber`.
    public var tracking: SessionTracking

    static let columns = """
        trace_id, timestamp, name, user_id, session_id, release, version, input, output, metadata, tags,
        public, environment, created_at, updated_at, turn_number, observation_count, input_tokens,
        output_tokens, total_tokens, total_cost, latency_ms, \(TrackingColumns.names.joined(separator: ", "))
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
    }
}

/// An observation as stored.
public struct ObservationRow: Sendable, Equatable {
    public var observationID: String
    public var traceID: String?
    public var type: String
    public var parentObservationID: String?
    public var name: String?
    public var startTime: Int64
    public var endTime: Int64?
    public var completionStartTime: Int64?
    public var model: String?
    public var modelParameters: String?
    public var input: String?
    public var output: String?
    public var metadata: String?
    public var level: String
    public var statusMessage: String?
    public var version: String?
    public var environment: String
    public var usageDetails: String?
    public var costDetails: String?
    public var totalCost: Double?
    public var promptName: String?
    public var promptVersion: Int64?
    public var createdAt: Int64
    public var updatedAt: Int64

    static let columns = """
        observation_id, trace_id, type, parent_observation_id, name, start_time, end_time,
        completion_start_time, model, model_parameters, input, output, metadata, level, status_message,
        version, environment, usage_details, cost_details, total_cost, prompt_name, prompt_version,
        created_at, updated_at
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
    }
}

/// A score as stored.
public struct ScoreRow: Sendable, Equatable {
    public var scoreID: String
    public var timestamp: Int64
    public var name: String
    public var value: Double?
    public var stringValue: String?
    public var dataType: String
    public var source: String
    public var traceID: String?
    public var observationID: String?
    public var sessionID: String?
    public var datasetRunID: String?
    public var comment: String?
    public var metadata: String?
    public var configID: String?
    public var queueID: String?
    public var environment: String
    public var createdAt: Int64
    public var updatedAt: Int64

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
