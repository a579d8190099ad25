import Model
import Storage

/// Where a read shape puts its members: a member list (to nest in a `JSONValue`) or a
/// `JSONStream` (written straight out, for large responses). Each shape is defined once, over
/// this protocol, so both forms always agree.
protocol MemberSink {
    mutating func add(_ key: StaticString, _ value: JSONValue)
    /// A key computed at run time.
    mutating func addDynamic(_ key: String, _ value: JSONValue)
}

extension Array: MemberSink where Element == (String, JSONValue) {
    mutating func add(_ key: StaticString, _ value: JSONValue) { append((key.description, value)) }
    mutating func addDynamic(_ key: String, _ value: JSONValue) { append((key, value)) }
}

extension JSONStream: MemberSink {
    mutating func add(_ key: StaticString, _ value: JSONValue) { member(key, value) }
    mutating func addDynamic(_ key: String, _ value: JSONValue) { dynamicMember(key, value) }
}

/// Renders stored rows in Langfuse's read shapes (langfuse-api.md §5.0), emitting every key
/// (null, {} or [] rather than omitted), because the 4.x SDK parses strictly.
enum ReadJSON {
    /// A shape's members as a list, for nesting in a `JSONValue`.
    static func members(_ fill: (inout [(String, JSONValue)]) -> Void) -> [(String, JSONValue)] {
        var members: [(String, JSONValue)] = []
        members.reserveCapacity(48)
        fill(&members)
        return members
    }

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

    /// `value` rounded toward zero and clamped to `Int`: `Int(_:)` traps past the ends, and a
    /// stored usage map may add up to any Double.
    static func wholeNumber(_ value: Double) -> Int {
        guard value.isFinite else { return 0 }
        if value >= 0x1p63 { return .max }
        if value < -0x1p63 { return .min }
        return Int(value)
    }

    /// APITrace: the plain trace shape.
    static func trace(_ row: TraceRow, projectID: String) -> [(String, JSONValue)] {
        members { trace(row, projectID: projectID, into: &$0) }
    }

    static func trace(_ row: TraceRow, projectID: String, into out: inout some MemberSink) {
        out.add("id", .string(row.traceID))
        out.add("externalId", .null)
        out.add("timestamp", time(row.timestamp))
        out.add("name", text(row.name))
        out.add("userId", text(row.userID))
        out.add("metadata", object(row.metadata))
        out.add("release", text(row.release))
        out.add("version", text(row.version))
        out.add("projectId", .string(projectID))
        out.add("environment", .string(row.environment))
        out.add("public", .bool(row.isPublic))
        out.add("bookmarked", .bool(false))
        out.add("tags", array(row.tags))
        out.add("input", stored(row.input))
        out.add("output", stored(row.output))
        out.add("sessionId", text(row.sessionID))
        out.add("createdAt", time(row.createdAt))
        out.add("updatedAt", time(row.updatedAt))
    }

    /// Parley's per-trace aggregates, added to trace objects.
    static func traceAggregates(_ row: TraceRow) -> [(String, JSONValue)] {
        members { traceAggregates(row, into: &$0) }
    }

    /// The turn number Parley uses (sent, else derived) and where it came from; a trace outside
    /// any session, which no session refresh numbered, shows what it sent.
    static func turnNumber(_ row: TraceRow) -> (number: JSONValue, source: JSONValue) {
        if let derived = row.derivation { return (number(derived.number), .string(derived.source.rawValue)) }
        return (number(row.turnNumber), row.turnNumber == nil ? .null : .string(TurnNumberSource.sent.rawValue))
    }

    static func traceAggregates(_ row: TraceRow, into out: inout some MemberSink) {
        // The turn's number as Parley uses it: sent, else derived (docs/ANALYTICS.md); the sent
        // value stays in `turn.number`.
        let (turnNumber, source) = turnNumber(row)
        out.add("turnNumber", turnNumber)
        out.add("turnNumberSource", source)
        out.add("turnIssues", .array((row.derivation?.flags ?? []).map(JSONValue.string)))
        out.add("latencyMs", JSONValue(Int(row.latencyMs)))
        out.add("observationCount", JSONValue(Int(row.observationCount)))
        out.add("inputTokens", JSONValue(Int(row.inputTokens)))
        out.add("outputTokens", JSONValue(Int(row.outputTokens)))
        out.add("totalTokens", JSONValue(Int(row.totalTokens)))
        for (key, value) in tracking(row.tracking) { out.addDynamic(key, value) }
        // Derived by the session refresh; a trace outside any session shows what it sent.
        let sent = row.tracking
        let derived = row.derivation ?? TurnDerivation(
            number: 0, source: .sent, contextTokens: sent.contextTokens, contextLimit: sent.contextLimit,
            contextPercent: sent.contextWindowPercent,
            contextSource: sent.contextTokens == nil && sent.contextWindowPercent == nil ? nil : "sent")
        out.add("contextWindow", .object([
            ("tokens", number(derived.contextTokens)), ("limit", number(derived.contextLimit)),
            ("percent", number(derived.contextPercent)), ("source", text(derived.contextSource)),
            ("pruned", row.tracking.contextPruned.map(JSONValue.bool) ?? .null),
            ("messagesPruned", number(row.tracking.contextMessagesPruned)),
        ]))
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
        members { observation(row, projectID: projectID, into: &$0) }
    }

    static func observation(_ row: ObservationRow, projectID: String, into out: inout some MemberSink) {
        let usage = parsedObject(row.usageDetails)
        let cost = parsedObject(row.costDetails)
        func sum(_ details: JSONValue, containing key: String) -> Double? {
            let values = (details.objectValue ?? []).filter { $0.0.containsUTF8(key) }.compactMap { $0.1.doubleValue }
            return values.isEmpty ? nil : values.reduce(0, +)
        }
        let input = wholeNumber(sum(usage, containing: "input") ?? 0)
        let output = wholeNumber(sum(usage, containing: "output") ?? 0)
        let total = wholeNumber(usage["total"]?.doubleValue ?? 0)
        let latency: JSONValue = row.endTime.map { JSONValue(Timestamp.seconds(millis: $0 - row.startTime)) } ?? .null
        let firstToken: JSONValue = row.completionStartTime.map { JSONValue(Timestamp.seconds(millis: $0 - row.startTime)) } ?? .null
        out.add("id", .string(row.observationID))
        out.add("projectId", .string(projectID))
        out.add("traceId", text(row.traceID))
        out.add("parentObservationId", text(row.parentObservationID))
        out.add("type", .string(row.type))
        out.add("name", text(row.name))
        out.add("environment", .string(row.environment))
        out.add("startTime", time(row.startTime))
        out.add("endTime", time(row.endTime))
        out.add("completionStartTime", time(row.completionStartTime))
        out.add("version", text(row.version))
        out.add("level", .string(row.level))
        out.add("statusMessage", text(row.statusMessage))
        out.add("createdAt", time(row.createdAt))
        out.add("updatedAt", time(row.updatedAt))
        out.add("input", stored(row.input))
        out.add("output", stored(row.output))
        out.add("metadata", object(row.metadata))
        out.add("model", text(row.model))
        out.add("modelParameters", object(row.modelParameters))
        out.add("promptId", .null)
        out.add("promptName", text(row.promptName))
        out.add("promptVersion", number(row.promptVersion))
        out.add("usageDetails", usage)
        out.add("costDetails", cost)
        out.add("usage", .object([("unit", .string("TOKENS")), ("input", JSONValue(input)), ("output", JSONValue(output)), ("total", JSONValue(total))]))
        out.add("unit", .string("TOKENS"))
        out.add("promptTokens", JSONValue(input))
        out.add("completionTokens", JSONValue(output))
        out.add("totalTokens", JSONValue(total))
        out.add("usagePricingTierId", .null)
        out.add("usagePricingTierName", text(row.pricingTier))
        out.add("modelId", text(row.internalModelID))
        // Parley's: whether the cost was sent by the client or inferred from model prices.
        out.add("costSource", text(row.costSource))
        out.add("inputPrice", .null)
        out.add("outputPrice", .null)
        out.add("totalPrice", .null)
        out.add("calculatedInputCost", number(sum(cost, containing: "input")))
        out.add("calculatedOutputCost", number(sum(cost, containing: "output")))
        out.add("calculatedTotalCost", JSONValue(cost["total"]?.doubleValue ?? 0))
        out.add("latency", latency)
        out.add("timeToFirstToken", firstToken)
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
        ] + sessionAnalytics(row.analytics)
    }

    /// A session's conversation analytics (docs/ANALYTICS.md), every key present.
    static func sessionAnalytics(_ a: SessionAnalyticsRow) -> [(String, JSONValue)] {
        [
            ("endSource", text(a.endSource)), ("idleTimeMs", number(a.idleTimeMs)),
            ("resumptions", JSONValue(Int(a.resumptions))), ("conversationCount", JSONValue(Int(a.conversationCount))),
            ("lastTurnNumber", number(a.lastTurnNumber)), ("turnNumberSource", text(a.turnNumberSource)),
            ("turnIssues", a.turnIssues == "{}" ? TurnIssues().json : object(a.turnIssues)),
            ("completed", .bool(a.completed)),
            ("dropoff", .object([
                ("isDropoff", .bool(a.dropoff)), ("lastTurnNumber", number(a.dropoff ? a.lastTurnNumber : nil)),
                ("lastIntent", text(a.dropoff ? a.lastIntent : nil)),
                ("agentLastAction", text(a.dropoff ? a.agentLastAction : nil)),
                ("sinceLastTurnMs", number(a.dropoff ? a.sinceLastTurnMs : nil)),
            ])),
            ("journey", .object([
                ("name", text(a.journeyName)), ("stage", text(a.journeyStage)),
                ("stageNumber", number(a.journeyStageNumber)), ("totalStages", number(a.journeyTotalStages)),
                ("converted", .bool(a.converted)), ("conversionTurn", number(a.conversionTurn)),
                ("conversionTimeMs", number(a.conversionTimeMs)),
            ])),
            ("contextWindow", .object([
                ("maxPercent", number(a.contextMaxPercent)), ("maxTokens", number(a.contextMaxTokens)),
                ("firstTurnOver80Percent", number(a.contextFirstTurnOver80)),
            ])),
            ("userSatisfaction", number(a.userSatisfaction)),
        ]
    }

    /// The session's turns grouped by `conversation.id` (turns without one form a group with id
    /// null), each group in order of its first turn and each turn summarised for the drill-down.
    static func conversations(_ traces: [TraceRow]) -> JSONValue {
        var groups: [(id: String?, turns: [TraceRow])] = []
        var index: [String: Int] = [:]
        for trace in traces {
            let key = trace.tracking.conversationID ?? ""
            if let at = index[key] {
                groups[at].turns.append(trace)
            } else {
                index[key] = groups.count
                groups.append((trace.tracking.conversationID, [trace]))
            }
        }
        return .array(groups.map { group in
            let topic = group.turns.last { $0.tracking.conversationTopic != nil }?.tracking.conversationTopic
            return .object([
                ("id", text(group.id)), ("topic", text(topic)), ("turnCount", JSONValue(group.turns.count)),
                ("turns", .array(group.turns.map(turnSummary))),
            ])
        })
    }

    /// One turn as the drill-down's conversation view shows it. Lengths are UTF-8 bytes of the
    /// stored input and output (JSON text; a plain string without its quotes).
    static func turnSummary(_ row: TraceRow) -> JSONValue {
        func length(_ stored: String?) -> JSONValue {
            guard let stored else { return .null }
            let bytes = stored.utf8.count
            let quoted = stored.utf8.first == UInt8(ascii: "\"") && bytes >= 2
            return JSONValue(quoted ? bytes - 2 : bytes)
        }
        let t = row.tracking
        return .object([
            ("traceId", .string(row.traceID)), ("name", text(row.name)), ("startTime", time(row.timestamp)),
            ("turnNumber", turnNumber(row).number), ("turnNumberSource", turnNumber(row).source),
            ("turnIssues", .array((row.derivation?.flags ?? []).map(JSONValue.string))),
            ("role", text(t.turnRole)), ("inputType", text(t.turnInputType)), ("outputType", text(t.turnOutputType)),
            ("inputLength", length(row.input)), ("outputLength", length(row.output)),
            ("agentRuns", JSONValue(Int(row.agentCount))), ("toolCalls", JSONValue(Int(t.turnToolCalls ?? row.toolCount))),
            ("latencyMs", JSONValue(Int(t.turnLatencyMs ?? row.latencyMs))),
            ("contextPercent", number(row.derivation?.contextPercent)),
        ])
    }

    /// Writes observations as a forest by `parentObservationId` (a JSON array; each node gets
    /// `children`) into `stream`. An observation whose parent is missing becomes a root.
    static func writeTree(_ rows: [ObservationRow], projectID: String, into stream: inout JSONStream) {
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
        func node(_ row: ObservationRow, depth: Int) {
            visited.insert(row.observationID)
            // Cycles (a parent loop in bad input) and absurd depth stop here instead of recursing forever.
            let kids = depth > 200 ? [] : (children[row.observationID] ?? []).filter { !visited.contains($0.observationID) }
            stream.beginObject()
            observation(row, projectID: projectID, into: &stream)
            stream.key("children")
            stream.beginArray()
            for kid in kids where !visited.contains(kid.observationID) { node(kid, depth: depth + 1) }
            stream.endArray()
            stream.endObject()
        }
        stream.beginArray()
        for root in roots { node(root, depth: 0) }
        // Rows only reachable through a cycle would be lost; show them as roots.
        for row in rows where !visited.contains(row.observationID) { node(row, depth: 0) }
        stream.endArray()
    }
}
