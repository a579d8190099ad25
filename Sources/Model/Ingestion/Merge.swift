/// Folds an entity's events into its stored record (langfuse-api.md §3.7).
///
/// The fold is a pure function of the set of events: they are sorted by envelope timestamp
/// (creates before updates on ties, then by body to break exact ties), so the result is the same
/// whatever order or how many times the events arrived.
package enum Merge {
    /// Events in merge order.
    package static func ordered(_ events: [StoredEvent]) -> [StoredEvent] {
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

    /// The first event that names an environment fixes it.
    static func firstEnvironment(_ current: inout String, set: inout Bool, _ body: JSONValue) {
        guard !set, let environment = body["environment"]?.stringValue else { return }
        current = EnvironmentName.normalise(environment)
        set = true
    }

    static func millis(_ body: JSONValue, _ key: String) -> Int64? {
        body[key]?.stringValue.flatMap(Timestamp.parseMillis)
    }

    // MARK: Whole folds (any order)

    /// The trace `traceID` after `events` (any order).
    package static func trace(id traceID: String, events: [StoredEvent]) -> TraceRecord {
        var fold = TraceFold(id: traceID)
        for event in ordered(events) { fold.apply(event) }
        return fold.record
    }

    package static func observation(id observationID: String, events: [StoredEvent]) -> ObservationRecord {
        var fold = ObservationFold(id: observationID)
        for event in ordered(events) { fold.apply(event) }
        return fold.record
    }

    /// The score after `events`; nil when no event carries the required fields (they were all
    /// validated, so this only happens for an empty list).
    package static func score(id scoreID: String, events: [StoredEvent]) -> ScoreRecord? {
        var fold = ScoreFold(id: scoreID)
        for event in ordered(events) { fold.apply(event) }
        return fold.record
    }
}

/// A score's value under Langfuse's data-type rules (langfuse-api.md §3.3).
package struct ScoreValue: Sendable, Equatable {
    package let value: Double?
    package let stringValue: String?
    package let dataType: String

    package static let dataTypes: Set<String> = ["NUMERIC", "BOOLEAN", "CATEGORICAL", "TEXT", "CORRECTION"]

    /// Nil when `value` is missing or does not fit the data type.
    package init?(body: JSONValue) {
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
