import Model
import Storage

/// Renders stored rows in Langfuse's read shapes (langfuse-api.md §5.0), emitting every key
/// (null, {} or [] rather than omitted), because the 4.x SDK parses strictly.
enum ReadJSON {
    static func time(_ millis: Int64?) -> JSONValue {
        millis.map { .string(Timestamp.iso8601(millis: $0)) } ?? .null
    }

    static func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }

    /// Stored JSON text as a value, passed through verbatim. Like Langfuse, a stored string that
    /// itself holds a JSON object or array is returned parsed.
    static func stored(_ text: String?) -> JSONValue {
        guard let text, !text.isEmpty else { return .null }
        let utf8 = text.utf8
        if utf8.first == UInt8(ascii: "\""), let second = utf8.dropFirst().first,
           second == UInt8(ascii: "{") || second == UInt8(ascii: "["),
           case .string(let inner)? = try? JSONParser.parse(text), let parsed = try? JSONParser.parse(inner) {
            return parsed
        }
        return .raw(text)
    }

    /// A stored JSON object passed through verbatim, or `{}`.
    static func object(_ text: String?) -> JSONValue {
        guard let text, text.utf8.first == UInt8(ascii: "{") else { return .object([]) }
        return .raw(text)
    }

    /// A stored JSON object parsed, for renderers that look inside it; `{}` otherwise.
    static func parsedObject(_ text: String?) -> JSONValue {
        guard let text, let value = try? JSONParser.parse(text), value.objectValue != nil else { return .object([]) }
        return value
    }

    static func array(_ text: String?) -> JSONValue {
        guard let text, text.utf8.first == UInt8(ascii: "[") else { return .array([]) }
        return .raw(text)
    }

    static func number(_ value: Double?) -> JSONValue { value.map(JSONValue.init) ?? .null }
    static func number(_ value: Int64?) -> JSONValue { value.map { JSONValue(Int($0)) } ?? .null }

    /// APITrace: the plain trace shape.
    static func trace(_ row: TraceRow, projectID: String) -> [(String, JSONValue)] {
        [
            ("id", .string(row.traceID)), ("externalId", .null), ("timestamp", time(row.timestamp)),
            ("name", text(row.name)), ("userId", text(row.userID)), ("metadata", object(row.metadata)),
            ("release", text(row.release)), ("version", text(row.version)), ("projectId", .string(projectID)),
            ("environment", .string(row.environment)), ("public", .bool(row.isPublic)), ("bookmarked", .bool(false)),
            ("tags", array(row.tags)), ("input", stored(row.input)), ("output", stored(row.output)),
            ("sessionId", text(row.sessionID)), ("createdAt", time(row.createdAt)), ("updatedAt", time(row.updatedAt)),
        ]
    }

    /// Parley's per-trace aggregates, added to trace objects.
    static func traceAggregates(_ row: TraceRow) -> [(String, JSONValue)] {
        [
            ("turnNumber", number(row.turnNumber)), ("latencyMs", JSONValue(Int(row.latencyMs))),
            ("observationCount", JSONValue(Int(row.observationCount))),
            ("inputTokens", JSONValue(Int(row.inputTokens))), ("outputTokens", JSONValue(Int(row.outputTokens))),
            ("totalTokens", JSONValue(Int(row.totalTokens))),
        ] + tracking(row.tracking)
    }

    /// The session-tracking attributes a turn sent (docs/DATA_MODEL.md), grouped as the
    /// attribute names are; every key present, null when not sent.
    static func tracking(_ t: SessionTracking) -> [(String, JSONValue)] {
        func flag(_ value: Bool?) -> JSONValue { value.map(JSONValue.bool) ?? .null }
        return [
            ("conversation", .object([
                ("id", text(t.conversationID)), ("topic", text(t.conversationTopic)),
                ("totalTurns", number(t.conversationTotalTurns)),
            ])),
            ("turn", .object([
                ("id", text(t.turnID)), ("number", number(t.turnNumber)), ("role", text(t.turnRole)),
                ("inputType", text(t.turnInputType)), ("outputType", text(t.turnOutputType)),
                ("reportedLatencyMs", number(t.turnLatencyMs)), ("toolCalls", number(t.turnToolCalls)),
            ])),
            ("context", .object([
                ("tokens", number(t.contextTokens)), ("limit", number(t.contextLimit)),
                ("windowPct", number(t.contextWindowPercent)), ("pruned", flag(t.contextPruned)),
                ("messagesPruned", number(t.contextMessagesPruned)),
            ])),
            ("journey", .object([
                ("name", text(t.journeyName)), ("stage", text(t.journeyStage)),
                ("stageNumber", number(t.journeyStageNumber)), ("totalStages", number(t.journeyTotalStages)),
                ("converted", flag(t.journeyConverted)), ("conversionTurn", number(t.journeyConversionTurn)),
                ("timeInStageMs", number(t.journeyTimeInStageMs)),
            ])),
            ("dropoff", .object([
                ("lastIntent", text(t.dropoffLastIntent)), ("agentLastAction", text(t.dropoffAgentLastAction)),
            ])),
            ("sessionAttributes", .object([
                ("type", text(t.sessionType)), ("channel", text(t.sessionChannel)),
                ("clientVersion", text(t.sessionClientVersion)), ("locale", text(t.sessionLocale)),
                ("endReason", text(t.sessionEndReason)), ("userTier", text(t.userTier)), ("orgId", text(t.userOrgID)),
            ])),
        ]
    }

    /// Observation (APIObservation / ObservationsView) with Langfuse's derived usage fields.
    static func observation(_ row: ObservationRow, projectID: String) -> [(String, JSONValue)] {
        let usage = parsedObject(row.usageDetails)
        let cost = parsedObject(row.costDetails)
        func sum(_ details: JSONValue, containing key: String) -> Double? {
            let values = (details.objectValue ?? []).filter { $0.0.contains(key) }.compactMap { $0.1.doubleValue }
            return values.isEmpty ? nil : values.reduce(0, +)
        }
        let input = Int(sum(usage, containing: "input") ?? 0)
        let output = Int(sum(usage, containing: "output") ?? 0)
        let total = Int(usage["total"]?.doubleValue ?? 0)
        let latency: JSONValue = row.endTime.map { JSONValue(Double($0 - row.startTime) / 1000) } ?? .null
        let firstToken: JSONValue = row.completionStartTime.map { JSONValue(Double($0 - row.startTime) / 1000) } ?? .null
        return [
            ("id", .string(row.observationID)), ("projectId", .string(projectID)), ("traceId", text(row.traceID)),
            ("parentObservationId", text(row.parentObservationID)), ("type", .string(row.type)),
            ("name", text(row.name)), ("environment", .string(row.environment)), ("startTime", time(row.startTime)),
            ("endTime", time(row.endTime)), ("completionStartTime", time(row.completionStartTime)),
            ("version", text(row.version)), ("level", .string(row.level)), ("statusMessage", text(row.statusMessage)),
            ("createdAt", time(row.createdAt)), ("updatedAt", time(row.updatedAt)),
            ("input", stored(row.input)), ("output", stored(row.output)), ("metadata", object(row.metadata)),
            ("model", text(row.model)), ("modelParameters", object(row.modelParameters)),
            ("promptId", .null), ("promptName", text(row.promptName)), ("promptVersion", number(row.promptVersion)),
            ("usageDetails", usage), ("costDetails", cost),
            ("usage", .object([("unit", .string("TOKENS")), ("input", JSONValue(input)), ("output", JSONValue(output)), ("total", JSONValue(total))])),
            ("unit", .string("TOKENS")), ("promptTokens", JSONValue(input)), ("completionTokens", JSONValue(output)),
            ("totalTokens", JSONValue(total)), ("usagePricingTierId", .null), ("usagePricingTierName", .null),
            ("modelId", .null), ("inputPrice", .null), ("outputPrice", .null), ("totalPrice", .null),
            ("calculatedInputCost", number(sum(cost, containing: "input"))),
            ("calculatedOutputCost", number(sum(cost, containing: "output"))),
            ("calculatedTotalCost", JSONValue(cost["total"]?.doubleValue ?? 0)),
            ("latency", latency), ("timeToFirstToken", firstToken),
        ]
    }

    /// ScoreV1 (and the v2 fields `sessionId`, `datasetRunId`).
    static func score(_ row: ScoreRow, projectID: String) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("id", .string(row.scoreID)), ("projectId", .string(projectID)), ("environment", .string(row.environment)),
            ("name", .string(row.name)),
        ]
        if row.dataType != "TEXT" { members.append(("value", number(row.value))) }
        members += [
            ("stringValue", text(row.stringValue)), ("dataType", .string(row.dataType)), ("source", .string(row.source)),
            ("authorUserId", .null), ("comment", text(row.comment)), ("metadata", object(row.metadata)),
            ("configId", text(row.configID)), ("queueId", text(row.queueID)), ("executionTraceId", .null),
            ("traceId", text(row.traceID)), ("observationId", text(row.observationID)),
            ("sessionId", text(row.sessionID)), ("datasetRunId", text(row.datasetRunID)),
            ("timestamp", time(row.timestamp)), ("createdAt", time(row.createdAt)), ("updatedAt", time(row.updatedAt)),
        ]
        return .object(members)
    }

    /// A session: Langfuse's four keys, then Parley's lifecycle fields and aggregates.
    static func session(_ row: SessionRow, projectID: String) -> [(String, JSONValue)] {
        [
            ("id", .string(row.sessionID)), ("createdAt", time(row.createdAt)), ("projectId", .string(projectID)),
            ("environment", .string(row.environment)),
            ("userId", text(row.userID)), ("status", .string(row.status)), ("endReason", text(row.endReason)),
            ("type", text(row.type)), ("channel", text(row.channel)), ("clientVersion", text(row.clientVersion)),
            ("locale", text(row.locale)), ("userTier", text(row.userTier)), ("orgId", text(row.orgID)),
            ("metadata", object(row.metadata)), ("tags", array(row.tags)),
            ("startTime", time(row.startTime)), ("endTime", time(row.endTime)),
            ("firstActivity", time(row.firstActivity)), ("lastActivity", time(row.lastActivity)),
            ("durationMs", JSONValue(Int(row.durationMs))), ("turnCount", JSONValue(Int(row.turnCount))),
            ("observationCount", JSONValue(Int(row.observationCount))),
            ("generationCount", JSONValue(Int(row.generationCount))), ("toolCallCount", JSONValue(Int(row.toolCount))),
            ("errorCount", JSONValue(Int(row.errorCount))), ("inputTokens", JSONValue(Int(row.inputTokens))),
            ("outputTokens", JSONValue(Int(row.outputTokens))), ("totalTokens", JSONValue(Int(row.totalTokens))),
            ("totalCost", JSONValue(row.totalCost)), ("meanTurnLatencyMs", number(row.latencyMeanMs)),
            ("p95TurnLatencyMs", number(row.latencyP95Ms)), ("scores", object(row.scores)),
            ("updatedAt", time(row.updatedAt)),
        ]
    }

    /// Observations as a forest by `parentObservationId`; each node gets `children`. An
    /// observation whose parent is missing becomes a root.
    static func tree(_ rows: [ObservationRow], projectID: String) -> [JSONValue] {
        let ids = Set(rows.map(\.observationID))
        var children: [String: [ObservationRow]] = [:]
        var roots: [ObservationRow] = []
        for row in rows {
            if let parent = row.parentObservationID, ids.contains(parent), parent != row.observationID {
                children[parent, default: []].append(row)
            } else {
                roots.append(row)
            }
        }
        var visited = Set<String>()
        func node(_ row: ObservationRow, depth: Int) -> JSONValue {
            visited.insert(row.observationID)
            // Cycles (a parent loop in bad input) and absurd depth stop here instead of recursing forever.
            let kids = depth > 200 ? [] : (children[row.observationID] ?? []).filter { !visited.contains($0.observationID) }
            return .object(observation(row, projectID: projectID) + [("children", .array(kids.map { node($0, depth: depth + 1) }))])
        }
        var result = roots.map { node($0, depth: 0) }
        // Rows only reachable through a cycle would be lost; show them as roots.
        for row in rows where !visited.contains(row.observationID) { result.append(node(row, depth: 0)) }
        return result
    }
}
