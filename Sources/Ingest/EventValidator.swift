import Model

/// Validates one batch event on its own (langfuse-api.md §3.1–3.3), so one bad event never sinks
/// the batch: it gets its own entry in `errors` and the rest are stored. Package-visible for the
/// ingestion fuzz target (Sources/ParleyFuzz), which runs it without a database.
package enum EventValidator {
    /// A per-event rejection, rendered into the 207 `errors` list.
    package struct Rejection: Error, Equatable {
        package let status: Int
        package let message: String
        package let error: String

        package init(status: Int, message: String, error: String) {
            self.status = status
            self.message = message
            self.error = error
        }

        package static func invalid(_ detail: String) -> Rejection {
            Rejection(status: 400, message: "Invalid request data", error: detail)
        }
    }

    /// The envelope id as it will be reported: the event's id when it is a string, else "unknown".
    package static func reportedID(_ event: JSONValue) -> String {
        guard let id = event["id"]?.stringValue, !id.isEmpty else { return "unknown" }
        return id
    }

    package static func validate(_ event: JSONValue) -> Result<IngestionEvent, Rejection> {
        do {
            return .success(try validateOrThrow(event))
        } catch let rejection as Rejection {
            return .failure(rejection)
        } catch {
            return .failure(.invalid("\(error)"))
        }
    }

    private static func validateOrThrow(_ event: JSONValue) throws -> IngestionEvent {
        guard event.objectValue != nil else { throw Rejection.invalid("event: expected an object") }
        let id = try identifier(event["id"], path: "id")
        guard let typeName = event["type"]?.stringValue else { throw Rejection.invalid("type: expected a string") }
        guard let type = IngestionEventType(rawValue: typeName) else {
            throw Rejection.invalid("type: unknown event type \"\(typeName)\"")
        }
        guard let timestampText = event["timestamp"]?.stringValue,
              let timestamp = Timestamp.parseMicros(timestampText) else {
            throw Rejection.invalid("timestamp: expected an ISO-8601 datetime with Z or an offset")
        }
        guard let body = event["body"], body.objectValue != nil else {
            throw Rejection.invalid("body: expected an object")
        }
        switch type.entityKind {
        case .trace:
            try validateTrace(body)
        case .observation:
            _ = try identifier(body["id"], path: "body.id")
            try validateObservation(body, legacy: type == .observationCreate || type == .observationUpdate)
        case .score:
            try validateScore(body)
        case nil:
            break  // sdk-log: anything goes, nothing is stored
        }
        return IngestionEvent(id: id, type: type, timestampMicros: timestamp, body: body)
    }

    /// Ids are 1…800 characters without a carriage return (§3.6).
    private static func identifier(_ value: JSONValue?, path: String) throws -> String {
        guard let text = value?.stringValue else { throw Rejection.invalid("\(path): expected a string") }
        if let problem = ValueBounds.identifierProblem(text) { throw Rejection.invalid("\(path): \(problem)") }
        return text
    }

    private static func optionalIdentifier(_ body: JSONValue, _ key: String) throws {
        guard let value = body[key], !value.isNull else { return }
        _ = try identifier(value, path: "body.\(key)")
    }

    private static func optionalString(_ body: JSONValue, _ keys: String...) throws {
        for key in keys {
            guard let value = body[key], !value.isNull else { continue }
            guard value.stringValue != nil else { throw Rejection.invalid("body.\(key): expected a string") }
        }
    }

    private static func optionalDatetime(_ body: JSONValue, _ keys: String...) throws {
        for key in keys {
            guard let value = body[key], !value.isNull else { continue }
            guard let text = value.stringValue, Timestamp.parseMicros(text) != nil else {
                throw Rejection.invalid("body.\(key): expected an ISO-8601 datetime with Z or an offset")
            }
        }
    }

    private static func optionalObject(_ body: JSONValue, _ keys: String...) throws {
        for key in keys {
            guard let value = body[key], !value.isNull else { continue }
            guard value.objectValue != nil else { throw Rejection.invalid("body.\(key): expected an object") }
        }
    }

    private static func validateTrace(_ body: JSONValue) throws {
        try optionalIdentifier(body, "id")
        try optionalString(body, "name", "userId", "release", "version", "environment", "externalId")
        // A user id names the user in reads, exports and erasure, like the ids above.
        if let userID = body["userId"]?.stringValue, userID.utf8.contains(0) {
            throw Rejection.invalid("body.userId: must not contain NUL")
        }
        try optionalIdentifier(body, "sessionId")
        try optionalDatetime(body, "timestamp")
        // TraceBody.name is at most 1000 characters (langfuse-api.md §3.3, §8).
        if let name = body["name"]?.stringValue, name.count > 1000 {
            throw Rejection.invalid("body.name: must be at most 1000 characters")
        }
        if let tags = body["tags"], !tags.isNull {
            guard let values = tags.arrayValue, values.allSatisfy({ $0.stringValue != nil }) else {
                throw Rejection.invalid("body.tags: expected an array of strings")
            }
        }
        if let flag = body["public"], !flag.isNull, flag.boolValue == nil {
            throw Rejection.invalid("body.public: expected a boolean")
        }
    }

    private static func validateObservation(_ body: JSONValue, legacy: Bool) throws {
        try optionalIdentifier(body, "traceId")
        try optionalIdentifier(body, "parentObservationId")
        try optionalString(body, "name", "statusMessage", "version", "environment", "model", "promptName")
        try optionalDatetime(body, "startTime", "endTime", "completionStartTime")
        try optionalObject(body, "modelParameters", "usage", "costDetails")
        if let level = body["level"], !level.isNull {
            guard let text = level.stringValue, ObservationTypes.levels.contains(text.uppercased()) else {
                throw Rejection.invalid("body.level: expected one of DEBUG, DEFAULT, WARNING, ERROR")
            }
        }
        if let details = body["usageDetails"], !details.isNull, details.objectValue == nil {
            throw Rejection.invalid("body.usageDetails: expected an object")
        }
        if let usage = body["usage"]?.objectValue {
            for (key, value) in usage where !value.isNull && key != "unit" {
                guard value.doubleValue != nil else { throw Rejection.invalid("body.usage.\(key): expected a number") }
            }
        }
        try checkUsageNumbers(body)
        if let version = body["promptVersion"], !version.isNull, version.intValue == nil {
            throw Rejection.invalid("body.promptVersion: expected an integer")
        }
        let hasName = body["promptName"].map { !$0.isNull } ?? false
        let hasVersion = body["promptVersion"].map { !$0.isNull } ?? false
        if hasName != hasVersion {
            throw Rejection.invalid("body: promptName and promptVersion must be given together")
        }
        if legacy {
            guard let type = body["type"]?.stringValue, ["GENERATION", "SPAN", "EVENT"].contains(type.uppercased()) else {
                throw Rejection.invalid("body.type: expected GENERATION, SPAN or EVENT")
            }
        }
    }

    /// Numbers in `usage`, `usageDetails` and `costDetails` must be finite, counts at most
    /// `ValueBounds.maxCount` and costs at most `ValueBounds.maxCost`: a number past its bound
    /// cannot be stored as sent (the sums over a session would overflow), so the event gets a
    /// clear 400 instead of a silently dropped value.
    private static func checkUsageNumbers(_ body: JSONValue) throws {
        func check(_ value: JSONValue, path: String, isCount: Bool) throws {
            switch value {
            case .number:
                guard let number = value.doubleValue, number.isFinite else {
                    throw Rejection.invalid("\(path): number out of range")
                }
                if isCount && abs(number) > Double(ValueBounds.maxCount) {
                    throw Rejection.invalid("\(path): count larger than \(ValueBounds.maxCount)")
                }
                if !isCount && abs(number) > ValueBounds.maxCost {
                    throw Rejection.invalid("\(path): cost larger than \(Int(ValueBounds.maxCost))")
                }
            case .object(let members):
                for (key, member) in members { try check(member, path: "\(path).\(key)", isCount: isCount) }
            default:
                break  // strings, null and the rest are checked (or dropped) elsewhere
            }
        }
        for (key, value) in body["usage"]?.objectValue ?? [] {
            try check(value, path: "body.usage.\(key)", isCount: !key.hasSuffix("Cost"))
        }
        if let details = body["usageDetails"] { try check(details, path: "body.usageDetails", isCount: true) }
        if let details = body["costDetails"] { try check(details, path: "body.costDetails", isCount: false) }
    }

    package static func validateScore(_ body: JSONValue) throws {
        try optionalIdentifier(body, "id")
        guard let name = body["name"]?.stringValue, !name.isEmpty else {
            throw Rejection.invalid("body.name: expected a non-empty string")
        }
        guard let value = body["value"], value.doubleValue != nil || value.stringValue != nil || value.boolValue != nil else {
            throw Rejection.invalid("body.value: expected a number or a string")
        }
        try optionalString(body, "comment", "environment", "configId", "queueId", "source")
        if let dataType = body["dataType"], !dataType.isNull {
            guard let text = dataType.stringValue, ScoreValue.dataTypes.contains(text.uppercased()) else {
                throw Rejection.invalid("body.dataType: expected NUMERIC, BOOLEAN, CATEGORICAL, TEXT or CORRECTION")
            }
        }
        // ScoreBody.source is an enum (langfuse-api.md §3.3): anything else is a 400, not stored as sent.
        if let source = body["source"]?.stringValue, !["API", "EVAL", "ANNOTATION"].contains(source.uppercased()) {
            throw Rejection.invalid("body.source: expected API, EVAL or ANNOTATION")
        }
        if ScoreValue(body: body) == nil {
            throw Rejection.invalid("body.value: does not match dataType")
        }
        if let number = body["value"]?.doubleValue, abs(number) > ValueBounds.maxScoreMagnitude {
            throw Rejection.invalid("body.value: must be within ±\(ValueBounds.maxScoreMagnitude)")
        }
        func present(_ key: String) -> Bool { body[key].map { !$0.isNull } ?? false }
        let targets = [present("traceId"), present("sessionId"), present("datasetRunId")].filter { $0 }.count
        if targets != 1 || (present("observationId") && !present("traceId")) {
            throw Rejection.invalid(
                "Provide exactly one of the following: traceId (with optional observationId), sessionId or datasetRunId. ObservationId requires traceId.")
        }
        for key in ["traceId", "observationId", "sessionId", "datasetRunId"] { try optionalIdentifier(body, key) }
    }
}
