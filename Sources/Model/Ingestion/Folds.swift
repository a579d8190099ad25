/// An entity's fold in progress: the state after some events in merge order
/// (`Merge.ordered`), to which one more event can be applied as a single step.
///
/// `Merge.trace(id:events:)` and its siblings are these folds run over every event in merge
/// order. The writer keeps recent folds (`FoldCache` in Storage): an event that sorts after
/// every event a fold has seen (`acceptsNext`) is then applied on it with no re-read of the
/// entity's stored events, and the result is the same as the whole fold over all of them,
/// because the whole fold is exactly this sequence of steps. Anything else (an event that
/// sorts before or beside the last one) re-folds from the stored events.
package protocol EntityFold: Sendable {
    init(id: String)
    /// Events applied so far.
    var eventCount: Int { get }
    /// The merge key of the last event applied (nil before the first).
    var lastKey: MergeKey? { get }
    /// Applies the next event in merge order.
    mutating func apply(_ event: StoredEvent)
}

extension EntityFold {
    /// True when `event` sorts strictly after every event applied so far, so that applying it
    /// now gives the same state as folding all of them in merge order. Events with the same
    /// timestamp and kind as the last one are ordered by their body text, which a fold does not
    /// keep: they answer false (and are re-folded), which is rare and always correct.
    package func acceptsNext(_ event: StoredEvent) -> Bool {
        guard let lastKey else { return true }
        return lastKey < MergeKey(event)
    }
}

/// The part of `Merge.ordered`'s order a fold remembers: timestamp, then creates before updates.
package struct MergeKey: Sendable, Equatable, Comparable {
    package let timestampMicros: Int64
    package let isUpdate: Bool

    package init(_ event: StoredEvent) {
        timestampMicros = event.timestampMicros
        isUpdate = event.type.isUpdate
    }

    package static func < (a: MergeKey, b: MergeKey) -> Bool {
        if a.timestampMicros != b.timestampMicros { return a.timestampMicros < b.timestampMicros }
        return !a.isUpdate && b.isUpdate
    }
}

// MARK: Trace

/// A trace's fold (langfuse-api.md §3.7).
package struct TraceFold: EntityFold {
    private var state: TraceRecord
    private var metadata: JSONValue?
    private var tags = Set<String>()
    private var environmentSet = false
    package private(set) var eventCount = 0
    package private(set) var lastKey: MergeKey?

    package init(id traceID: String) {
        state = TraceRecord(
            traceID: traceID, timestampMillis: 0, name: nil, userID: nil, sessionID: nil, release: nil,
            version: nil, input: nil, output: nil, metadata: nil, tags: [], isPublic: false,
            environment: EnvironmentName.fallback)
    }

    package mutating func apply(_ event: StoredEvent) {
        let body = event.body
        if eventCount == 0 {
            // Rule 8 + rule 2: the first event fixes the trace time.
            state.timestampMillis = Merge.millis(body, "timestamp") ?? Timestamp.millis(micros: event.timestampMicros)
        }
        Merge.overwrite(&state.name, body, "name")
        Merge.overwrite(&state.userID, body, "userId")
        Merge.overwrite(&state.sessionID, body, "sessionId")
        Merge.overwrite(&state.release, body, "release")
        Merge.overwrite(&state.version, body, "version")
        Merge.lastTruthy(&state.input, body, "input")
        Merge.lastTruthy(&state.output, body, "output")
        Merge.mergeMetadata(&metadata, body)
        for tag in body["tags"]?.arrayValue ?? [] {
            if let text = tag.stringValue { tags.insert(text) }
        }
        // Rule 6: every trace event writes public (absent means false).
        state.isPublic = body["public"]?.boolValue ?? false
        Merge.firstEnvironment(&state.environment, set: &environmentSet, body)
        eventCount += 1
        lastKey = MergeKey(event)
    }

    /// The trace as stored after the events applied so far.
    package var record: TraceRecord {
        var record = state
        record.metadata = metadata?.jsonText
        record.tracking = SessionTracking(metadata: metadata)
        record.tags = tags.sorted()
        return record
    }
}

// MARK: Observation

/// An observation's fold (langfuse-api.md §3.7), usage and cost included (§3.4).
package struct ObservationFold: EntityFold {
    private var state: ObservationRecord
    private var metadata: JSONValue?
    private var environmentSet = false
    private var usage = UsageFold()
    package private(set) var eventCount = 0
    package private(set) var lastKey: MergeKey?

    package init(id observationID: String) {
        state = ObservationRecord(
            observationID: observationID, traceID: nil, type: "SPAN", parentObservationID: nil, name: nil,
            startTimeMillis: 0, endTimeMillis: nil, completionStartTimeMillis: nil, model: nil,
            modelParameters: nil, input: nil, output: nil, metadata: nil, level: "DEFAULT", statusMessage: nil,
            version: nil, environment: EnvironmentName.fallback, usageDetails: nil, costDetails: nil,
            inputTokens: nil, outputTokens: nil, totalTokens: nil, totalCost: nil, promptName: nil, promptVersion: nil)
    }

    package mutating func apply(_ event: StoredEvent) {
        let body = event.body
        if eventCount == 0 {
            state.startTimeMillis = Merge.millis(body, "startTime") ?? Timestamp.millis(micros: event.timestampMicros)
        }
        if state.traceID == nil, let traceID = body["traceId"]?.stringValue {
            state.traceID = traceID  // first wins
        }
        if let type = event.type.observationType ?? body["type"]?.stringValue.map({ $0.uppercased() }),
           ObservationTypes.all.contains(type) {
            state.type = type  // rule 7: last event wins
        }
        Merge.overwrite(&state.parentObservationID, body, "parentObservationId")
        Merge.overwrite(&state.name, body, "name")
        if let value = body["endTime"] { state.endTimeMillis = value.isNull ? nil : Merge.millis(body, "endTime") }
        if let value = body["completionStartTime"] {
            state.completionStartTimeMillis = value.isNull ? nil : Merge.millis(body, "completionStartTime")
        }
        Merge.overwrite(&state.model, body, "model")
        if let value = body["modelParameters"] {
            state.modelParameters = value.isNull ? nil : value.jsonText
        }
        Merge.lastTruthy(&state.input, body, "input")
        Merge.lastTruthy(&state.output, body, "output")
        Merge.mergeMetadata(&metadata, body)
        if let level = body["level"] {
            state.level = level.stringValue.map { $0.uppercased() }.flatMap { ObservationTypes.levels.contains($0) ? $0 : nil } ?? "DEFAULT"
        }
        Merge.overwrite(&state.statusMessage, body, "statusMessage")
        Merge.overwrite(&state.version, body, "version")
        Merge.overwrite(&state.promptName, body, "promptName")
        if let value = body["promptVersion"] { state.promptVersion = value.intValue }
        Merge.firstEnvironment(&state.environment, set: &environmentSet, body)
        usage.add(body)
        eventCount += 1
        lastKey = MergeKey(event)
    }

    /// The trace the observation belongs to so far (what `record` would say, without building it).
    package var traceID: String? { state.traceID }

    /// The observation as stored after the events applied so far (before cost inference).
    package var record: ObservationRecord {
        var record = state
        if let end = record.endTimeMillis, end < record.startTimeMillis {
            record.endTimeMillis = record.startTimeMillis  // rule 7
        }
        record.metadata = metadata?.jsonText
        let (usageDetails, costDetails) = usage.result()
        if !usageDetails.isEmpty {
            record.usageDetails = JSONValue.object(usageDetails.map { ($0.0, JSONValue(Int($0.1))) }).jsonText
            record.inputTokens = usageDetails.first { $0.0 == "input" }?.1
            record.outputTokens = usageDetails.first { $0.0 == "output" }?.1
            record.totalTokens = usageDetails.first { $0.0 == "total" }?.1
        }
        if !costDetails.isEmpty {
            record.costDetails = JSONValue.object(costDetails.map { ($0.0, JSONValue($0.1)) }).jsonText
            record.totalCost = costDetails.first { $0.0 == "total" }?.1
        }
        return record
    }
}

// MARK: Score

/// A score's fold (langfuse-api.md §3.3).
package struct ScoreFold: EntityFold {
    private var state: ScoreRecord
    private var metadata: JSONValue?
    private var environmentSet = false
    package private(set) var eventCount = 0
    package private(set) var lastKey: MergeKey?

    package init(id scoreID: String) {
        state = ScoreRecord(
            scoreID: scoreID, timestampMillis: 0, name: "", value: nil, stringValue: nil, dataType: "NUMERIC",
            source: "API", traceID: nil, observationID: nil, sessionID: nil, datasetRunID: nil, comment: nil,
            metadata: nil, configID: nil, queueID: nil, environment: EnvironmentName.fallback)
    }

    package mutating func apply(_ event: StoredEvent) {
        let body = event.body
        if eventCount == 0 {
            state.timestampMillis = Merge.millis(body, "timestamp") ?? Timestamp.millis(micros: event.timestampMicros)
        }
        if let name = body["name"]?.stringValue { state.name = name }
        if let scored = ScoreValue(body: body) {
            state.value = scored.value
            state.stringValue = scored.stringValue
            state.dataType = scored.dataType
        }
        if state.traceID == nil, let traceID = body["traceId"]?.stringValue { state.traceID = traceID }
        Merge.overwrite(&state.observationID, body, "observationId")
        Merge.overwrite(&state.sessionID, body, "sessionId")
        Merge.overwrite(&state.datasetRunID, body, "datasetRunId")
        Merge.overwrite(&state.comment, body, "comment")
        Merge.overwrite(&state.configID, body, "configId")
        Merge.overwrite(&state.queueID, body, "queueId")
        if let source = body["source"]?.stringValue { state.source = source.uppercased() }
        Merge.mergeMetadata(&metadata, body)
        Merge.firstEnvironment(&state.environment, set: &environmentSet, body)
        eventCount += 1
        lastKey = MergeKey(event)
    }

    /// The trace and the session the score belongs to so far.
    package var traceID: String? { state.traceID }
    package var sessionID: String? { state.sessionID }

    /// The score as stored after the events applied so far; nil before the first.
    package var record: ScoreRecord? {
        guard eventCount > 0 else { return nil }
        var record = state
        record.metadata = metadata?.jsonText
        return record
    }
}
