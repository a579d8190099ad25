/// A trace as stored: the fold of its events. JSON-valued fields hold JSON text.
package struct TraceRecord: Sendable, Equatable {
    package var traceID: String
    package var timestampMillis: Int64
    package var name: String?
    package var userID: String?
    package var sessionID: String?
    package var release: String?
    package var version: String?
    package var input: String?
    package var output: String?
    /// A JSON object, or nil.
    package var metadata: String?
    /// Sorted, de-duplicated.
    package var tags: [String]
    package var isPublic: Bool
    package var environment: String
    /// Session-tracking attributes lifted from `metadata`.
    package var tracking = SessionTracking()
}

/// An observation (span, generation, event, agent, tool, …) as stored.
package struct ObservationRecord: Sendable, Equatable {
    package var observationID: String
    package var traceID: String?
    package var type: String
    package var parentObservationID: String?
    package var name: String?
    package var startTimeMillis: Int64
    package var endTimeMillis: Int64?
    package var completionStartTimeMillis: Int64?
    package var model: String?
    package var modelParameters: String?
    package var input: String?
    package var output: String?
    package var metadata: String?
    package var level: String
    package var statusMessage: String?
    package var version: String?
    package var environment: String
    /// `{"input": n, "output": n, "total": n, …}` as JSON, or nil when nothing was reported.
    package var usageDetails: String?
    /// `{"input": usd, "output": usd, "total": usd, …}` as JSON, or nil.
    package var costDetails: String?
    package var inputTokens: Int64?
    package var outputTokens: Int64?
    package var totalTokens: Int64?
    package var totalCost: Double?
    package var promptName: String?
    package var promptVersion: Int64?
    /// `given` when the client sent the cost, `inferred` when `CostInference` computed it, nil
    /// when there is none.
    package var costSource: String? = nil
    /// The model definition the observation's model matched (`ModelDefinition.id`), or nil.
    package var internalModelID: String? = nil
    /// The pricing tier an inferred cost used.
    package var pricingTierName: String? = nil
}

/// A score as stored.
package struct ScoreRecord: Sendable, Equatable {
    package var scoreID: String
    package var timestampMillis: Int64
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
}
