/// A trace as stored: the fold of its events. JSON-valued fields hold JSON text.
public struct TraceRecord: Sendable, Equatable {
    public var traceID: String
    public var timestampMillis: Int64
    public var name: String?
    public var userID: String?
    public var sessionID: String?
    public var release: String?
    public var version: String?
    public var input: String?
    public var output: String?
    /// A JSON object, or nil.
    public var metadata: String?
    /// Sorted, de-duplicated.
    public var tags: [String]
    public var isPublic: Bool
    public var environment: String
    /// Session-tracking attributes lifted from `metadata`.
    public var tracking = SessionTracking()
}

/// An observation (span, generation, event, agent, tool, …) as stored.
public struct ObservationRecord: Sendable, Equatable {
    public var observationID: String
    public var traceID: String?
    public var type: String
    public var parentObservationID: String?
    public var name: String?
    public var startTimeMillis: Int64
    public var endTimeMillis: Int64?
    public var completionStartTimeMillis: Int64?
    public var model: String?
    public var modelParameters: String?
    public var input: String?
    public var output: String?
    public var metadata: String?
    public var level: String
    public var statusMessage: String?
    public var version: String?
    public var environment: String
    /// `{"input": n, "output": n, "total": n, …}` as JSON, or nil when nothing was reported.
    public var usageDetails: String?
    /// `{"input": usd, "output": usd, "total": usd, …}` as JSON, or nil.
    public var costDetails: String?
    public var inputTokens: Int64?
    public var outputTokens: Int64?
    public var totalTokens: Int64?
    public var totalCost: Double?
    public var promptName: String?
    public var promptVersion: Int64?
    /// `given` when the client sent the cost, `inferred` when `CostInference` computed it, nil
    /// when there is none.
    public var costSource: String? = nil
    /// The model definition the observation's model matched (`ModelDefinition.id`), or nil.
    public var internalModelID: String? = nil
    /// The pricing tier an inferred cost used.
    public var pricingTierName: String? = nil
}

/// A score as stored.
public struct ScoreRecord: Sendable, Equatable {
    public var scoreID: String
    public var timestampMillis: Int64
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
}
