/// Folds an entity's events into its stored record (langfuse-api.md §3.7).
///
/// The fold is a pure function of the set of events: they are sorted by envelope timestamp
/// (creates before updates on ties, then by body to break exact ties), so the result is the same
/// whatever order or how many times the events arrived.
public enum Merge {
    /// Events in merge order.
    public static func ordered(_ events: [StoredEvent]) -> [StoredEvent] {
        events.sorted { a, b in
            if a.timestampMicros != b.timestampMicros { return a.timestampMicros < b.timestampMicros }
            if a.type.isUpdate != b.type.isUpdate { return !a.type.isUpdate }
            return a.body.jsonText < b.body.jsonText
        }
    }

    // MARK: Field rules

    /// Rule 1: a present key overwrites (explicit null clears); an absent key keeps the old value.
    static func overwrite(_ current: inout String?, _ body: JSONValue, _ key: String) {
        guard let value = body[key] else { return }
        current = value.stringValue ?? (value.isNull ? nil : scalarText(value))
    }

    /// Strings stay as they are; numbers and booleans (sent by loose clients) become their text.
    static func scalarText(_ value: JSONValue) -> String? {
        switch value {
        case .string(let text): text
        case .number(let text): text
        case .bool(let flag): flag ? "true" : "false"
        default: nil
        }
    }

    /// Rule 5: the last truthy value wins (empty string, 0, false and null are ignored).
    static func lastTruthy(_ current: inout String?, _ body: JSONValue, _ key: String) {
        guard let value = body[key], isTruthy(value) else { return }
        current = value.jsonText
    }

    static func isTruthy(_ value: JSONValue) -> Bool {
        switch value {
        case .null: false
        case .bool(let flag): flag
        case .number(let text): (Double(text) ?? 1) != 0
        case .string(let text): !text.isEmpty
        case .array, .object, .raw: true
        }
    }

    /// Rule 3: metadata is deep-merged, later keys winning; non-object metadata becomes
    /// `{"metadata": value}`.
    static func mergeMetadata(_ current: inout JSONValue?, _ body: JSONValue) {
        guard let value = body["metadata"], !value.isNull else { return }
        let incoming: JSONValue = value.objectValue != nil ? value : .object([("metadata", value)])
        current = current.map { deepMerge($0, incoming) } ?? incoming
    }

    static func deepMerge(_ base: JSONValue, _ overlay: JSONValue) -> JSONValue {
        guard case .object(var members) = base, case .object(let updates) = overlay else { return overlay }
        for (key, value) in updates {
            if let index = members.firstIndex(where: { $0.0 == key }) {
                members[index].1 = deepMerge(members[index].1, value)
            } else {
                members.append((key, value))
            }
        }
        return .object(members)
    }

    static func millis(_ body: JSONValue, _ key: String) -> Int64? {
        body[key]?.stringValue.flatMap(Timestamp.parseMicros).map { $0 / 1000 }
    }

    // MARK: Trace

    /// The trace `traceID` after `events` (any order).
    public static func trace(id traceID: String, events: [StoredEvent]) -> TraceRecord {
        let events = ordered(events)
        var record = TraceRecord(
            traceID: traceID, timestampMillis: 0, name: nil, userID: nil, sessionID: nil, release: nil,
            version: nil, input: nil, output: nil, metadata: nil, tags: [], isPublic: false,
            environment: EnvironmentName.fallback)
        var metadata: JSONValue?
        var tags = Set<String>()
        var environmentSet = false
        for (index, event) in events.enumerated() {
            let body = event.body
            if index == 0 {
                // Rule 8 + rule 2: the first event fixes the trace time.
                record.timestampMillis = millis(body, "timestamp") ?? event.timestampMicros / 1000
            }
            overwrite(&record.name, body, "name")
            overwrite(&record.userID, body, "userId")
            overwrite(&record.sessionID, body, "sessionId")
            overwrite(&record.release, body, "release")
            overwrite(&record.version, body, "version")
            lastTruthy(&record.input, body, "input")
            lastTruthy(&record.output, body, "output")
            mergeMetadata(&metadata, body)
            for tag in body["tags"]?.arrayValue ?? [] {
                if let text = tag.stringValue { tags.insert(text) }
            }
            // Rule 6: every trace event writes public (absent means false).
            record.isPublic = body["public"]?.boolValue ?? false
            if !environmentSet, let environment = body["environment"]?.stringValue {
                record.environment = EnvironmentName.normalise(environment)
                environmentSet = true
            }
        }
        record.metadata = metadata?.jsonText
        record.tracking = SessionTracking(metadata: metadata)
        record.tags = tags.sorted()
        return record
    }

    // MARK: Observation

    public static func observation(id observationID: String, events: [StoredEvent]) -> ObservationRecord {
        let events = ordered(events)
        var record = ObservationRecord(
            observationID: observationID, traceID: nil, type: "SPAN", parentObservationID: nil, name: nil,
            startTimeMillis: 0, endTimeMillis: nil, completionStartTimeMillis: nil, model: nil,
            modelParameters: nil, input: nil, output: nil, metadata: nil, level: "DEFAULT", statusMessage: nil,
            version: nil, environment: EnvironmentName.fallback, usageDetails: nil, costDetails: nil,
            inputTokens: nil, outputTokens: nil, totalTokens: nil, totalCost: nil, promptName: nil, promptVersion: nil)
        var metadata: JSONValue?
        var environmentSet = false
        var usage = UsageFold()
        for (index, event) in events.enumerated() {
            let body = event.body
            if index == 0 {
                record.startTimeMillis = millis(body, "startTime") ?? event.timestampMicros / 1000
            }
            if record.traceID == nil, let traceID = body["traceId"]?.stringValue {
                record.traceID = traceID  // first wins
            }
            if let type = event.type.observationType ?? body["type"]?.stringValue.map({ $0.uppercased() }),
               ObservationTypes.all.contains(type) {
                record.type = type  // rule 7: last event wins
            }
            overwrite(&record.parentObservationID, body, "parentObservationId")
            overwrite(&record.name, body, "name")
            if let value = body["endTime"] { record.endTimeMillis = value.isNull ? nil : millis(body, "endTime") }
            if let value = body["completionStartTime"] {
                record.completionStartTimeMillis = value.isNull ? nil : millis(body, "completionStartTime")
            }
            overwrite(&record.model, body, "model")
            if let value = body["modelParameters"] {
                record.modelParameters = value.isNull ? nil : value.jsonText
            }
            lastTruthy(&record.input, body, "input")
            lastTruthy(&record.output, body, "output")
            mergeMetadata(&metadata, body)
            if let level = body["level"] {
                record.level = level.stringValue.map { $0.uppercased() }.flatMap { ObservationTypes.levels.contains($0) ? $0 : nil } ?? "DEFAULT"
            }
            overwrite(&record.statusMessage, body, "statusMessage")
            overwrite(&record.version, body, "version")
            overwrite(&record.promptName, body, "promptName")
            if let value = body["promptVersion"] { record.promptVersion = value.intValue }
            if !environmentSet, let environment = body["environment"]?.stringValue {
                record.environment = EnvironmentName.normalise(environment)
                environmentSet = true
            }
            usage.add(body)
        }
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

    // MARK: Score

    /// The score after `events`; nil when no event carries the required fields (they were all
    /// validated, so this only happens for an empty list).
    public static func score(id scoreID: String, events: [StoredEvent]) -> ScoreRecord? {
        let events = ordered(events)
        guard let first = events.first else { return nil }
        var record = ScoreRecord(
            scoreID: scoreID, timestampMillis: millis(first.body, "timestamp") ?? first.timestampMicros / 1000, name: "", value: nil,
            stringValue: nil, dataType: "NUMERIC", source: "API", traceID: nil, observationID: nil,
            sessionID: nil, datasetRunID: nil, comment: nil, metadata: nil, configID: nil, queueID: nil,
            environment: EnvironmentName.fallback)
        var metadata: JSONValue?
        var environmentSet = false
        for event in events {
            let body = event.body
            if let name = body["name"]?.stringValue { record.name = name }
            if let scored = ScoreValue(body: body) {
                record.value = scored.value
                record.stringValue = scored.stringValue
                record.dataType = scored.dataType
            }
            if record.traceID == nil, let traceID = body["traceId"]?.stringValue { record.traceID = traceID }
            overwrite(&record.observationID, body, "observationId")
            overwrite(&record.sessionID, body, "sessionId")
            overwrite(&record.datasetRunID, body, "datasetRunId")
            overwrite(&record.comment, body, "comment")
            overwrite(&record.configID, body, "configId")
            overwrite(&record.queueID, body, "queueId")
            if let source = body["source"]?.stringValue { record.source = source.uppercased() }
            mergeMetadata(&metadata, body)
            if !environmentSet, let environment = body["environment"]?.stringValue {
                record.environment = EnvironmentName.normalise(environment)
                environmentSet = true
            }
        }
        record.metadata = metadata?.jsonText
        return record
    }
}

/// A score's value under Langfuse's data-type rules (langfuse-api.md §3.3).
public struct ScoreValue: Sendable, Equatable {
    public let value: Double?
    public let stringValue: String?
    public let dataType: String

    public static let dataTypes: Set<String> = ["NUMERIC", "BOOLEAN", "CATEGORICAL", "TEXT", "CORRECTION"]

    /// Nil when `value` is missing or does not fit the data type.
    public init?(body: JSONValue) {
        guard let raw = body["value"] else { return nil }
        let declared = body["dataType"]?.stringValue?.uppercased()
        switch (declared, raw) {
        case (nil, .number), ("NUMERIC", .number):
            guard let number = raw.doubleValue, number.isFinite else { return nil }
            (value, stringValue, dataType) = (number, nil, "NUMERIC")
        case ("BOOLEAN", .number), ("BOOLEAN", .bool):
            let number = raw.boolValue.map { $0 ? 1.0 : 0.0 } ?? raw.doubleValue
            guard number == 0 || number == 1 else { return nil }
            (value, stringValue, dataType) = (number, number == 1 ? "True" : "False", "BOOLEAN")
        case (nil, .string(let text)), ("CATEGORICAL", .string(let text)):
            (value, stringValue, dataType) = (0, text, "CATEGORICAL")
        case ("TEXT", .string(let text)):
            guard (1...500).contains(text.count) else { return nil }
            (value, stringValue, dataType) = (nil, text, "TEXT")
        case ("CORRECTION", .string(let text)):
            (value, stringValue, dataType) = (0, text, "CORRECTION")
        default:
            return nil
        }
    }
}
