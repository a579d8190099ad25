/// The kind of entity an ingestion event writes; trace, observation and score ids live in
/// separate namespaces (langfuse-api.md §3.7).
package enum EntityKind: Int64, Sendable, Hashable {
    case trace = 1
    case observation = 2
    case score = 3
}

/// The `type` of a batch ingestion event (langfuse-api.md §3.2).
package enum IngestionEventType: String, Sendable, CaseIterable {
    case traceCreate = "trace-create"
    case spanCreate = "span-create"
    case spanUpdate = "span-update"
    case generationCreate = "generation-create"
    case generationUpdate = "generation-update"
    case eventCreate = "event-create"
    case scoreCreate = "score-create"
    case sdkLog = "sdk-log"
    case observationCreate = "observation-create"
    case observationUpdate = "observation-update"
    case agentCreate = "agent-create"
    case toolCreate = "tool-create"
    case chainCreate = "chain-create"
    case retrieverCreate = "retriever-create"
    case evaluatorCreate = "evaluator-create"
    case embeddingCreate = "embedding-create"
    case guardrailCreate = "guardrail-create"

    package var entityKind: EntityKind? {
        switch self {
        case .traceCreate: .trace
        case .scoreCreate: .score
        case .sdkLog: nil
        default: .observation
        }
    }

    /// Updates sort after creates that share their timestamp.
    package var isUpdate: Bool { rawValue.hasSuffix("-update") }

    /// The observation type this event sets, or nil for `observation-*` (the body says).
    package var observationType: String? {
        switch self {
        case .spanCreate, .spanUpdate: "SPAN"
        case .generationCreate, .generationUpdate: "GENERATION"
        case .eventCreate: "EVENT"
        case .agentCreate: "AGENT"
        case .toolCreate: "TOOL"
        case .chainCreate: "CHAIN"
        case .retrieverCreate: "RETRIEVER"
        case .evaluatorCreate: "EVALUATOR"
        case .embeddingCreate: "EMBEDDING"
        case .guardrailCreate: "GUARDRAIL"
        default: nil
        }
    }
}

/// One validated ingestion event: envelope plus its body, ready to store and merge.
package struct IngestionEvent: Sendable {
    /// The envelope id: unique per event, the key of idempotency.
    package let id: String
    package let type: IngestionEventType
    /// Envelope timestamp in microseconds since the epoch: the merge order.
    package let timestampMicros: Int64
    /// The event body, always a JSON object.
    package let body: JSONValue

    package init(id: String, type: IngestionEventType, timestampMicros: Int64, body: JSONValue) {
        self.id = id
        self.type = type
        self.timestampMicros = timestampMicros
        self.body = body
    }

    /// `body.id`: the trace, observation or score this event writes.
    package var entityID: String? { body["id"]?.stringValue }
}

/// An event as stored, re-read to merge an entity.
package struct StoredEvent: Sendable {
    package let type: IngestionEventType
    package let timestampMicros: Int64
    package let body: JSONValue

    package init(type: IngestionEventType, timestampMicros: Int64, body: JSONValue) {
        self.type = type
        self.timestampMicros = timestampMicros
        self.body = body
    }
}

/// The set of ObservationType values (reads and OTel).
package enum ObservationTypes {
    package static let all: Set<String> = [
        "SPAN", "GENERATION", "EVENT", "AGENT", "TOOL", "CHAIN", "RETRIEVER", "EVALUATOR", "EMBEDDING", "GUARDRAIL",
    ]
    package static let levels: Set<String> = ["DEBUG", "DEFAULT", "WARNING", "ERROR"]
}
