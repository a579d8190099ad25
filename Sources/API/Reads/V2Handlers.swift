import Foundation
import Model
import Storage
import Transport

/// The cursor-paged reads SDK 5.x uses (`/v2/observations`, `/v3/scores`), the v2 score reads
/// and `/metrics/daily` (langfuse-api.md §5.6, §6.4, §6.5).
enum V2Handlers {
    /// An opaque keyset cursor: base64url of `"<sort key>:<row id>"`.
    enum Cursor {
        static func encode(_ key: Int64, _ rowID: Int64) -> String {
            Data("\(key):\(rowID)".utf8).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
        }

        static func decode(_ text: String?) throws -> (Int64, Int64)? {
            guard let text else { return nil }
            var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            while base64.count % 4 != 0 { base64 += "=" }
            guard let data = Data(base64Encoded: base64), let plain = String(data: data, encoding: .utf8) else {
                throw APIError.badRequest("Invalid request data: cursor is not one this server issued")
            }
            let parts = plain.split(separator: ":")
            guard parts.count == 2, let key = Int64(parts[0]), let row = Int64(parts[1]) else {
                throw APIError.badRequest("Invalid request data: cursor is not one this server issued")
            }
            return (key, row)
        }
    }

    static let observationFieldGroups: Set<String> = ["core", "basic", "time", "io", "metadata", "model", "usage", "prompt", "metrics", "trace_context"]

    /// operationId `observationsV2List`: `GET /api/public/v2/observations`.
    static func observations(database: Database, authenticator: Authenticator) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false)
            let query = request.query
            if query["parseIoAsJson"] == "true" {
                throw APIError.badRequest("Invalid request data: parseIoAsJson is not supported; input and output are raw strings")
            }
            let limitText = query["limit"] ?? "50"
            guard let limit = Int(limitText), (1...1000).contains(limit) else {
                throw APIError.badRequest("Invalid request data: limit must be an integer in 1...1000")
            }
            let groups = Set((query["fields"] ?? "core,basic").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            guard groups.isSubset(of: observationFieldGroups) else {
                throw APIError.badRequest("Invalid request data: fields must be a comma list of \(observationFieldGroups.sorted().joined(separator: ", "))")
            }
            var conditions = ReadStore.Conditions(projectID: auth.project.rowID)
            if let filter = query["filter"], !filter.isEmpty {
                // Langfuse's JSON filter, with the same columns as the v1 list; never ignored.
                try JSONFilter.apply(filter, target: .observations, privacy: auth.privacy, to: &conditions)
            }
            for (parameter, column) in [("name", "name"), ("traceId", "trace_id"), ("level", "level"),
                                        ("parentObservationId", "parent_observation_id"), ("version", "version"), ("type", "type")] {
                if let value = query[parameter] { conditions.add("\(column) = ?", .text(value)) }
            }
            if let userID = query.userID(auth.privacy) {
                conditions.add("trace_id IN (SELECT trace_id FROM traces WHERE project_id = observations.project_id AND user_id = ?)", .text(userID))
            }
            if let sessionID = query["sessionId"] {
                conditions.add("trace_id IN (SELECT trace_id FROM traces WHERE project_id = observations.project_id AND session_id = ?)", .text(sessionID))
            }
            switch query["isRootObservation"] {
            case nil: break
            case "true": conditions.add("parent_observation_id IS NULL")
            case "false": conditions.add("parent_observation_id IS NOT NULL")
            default: throw APIError.badRequest("Invalid request data: isRootObservation must be true or false")
            }
            conditions.any("environment", try query.list("environment"))
            if let from = try query.millis("fromStartTime") { conditions.add("start_time >= ?", .integer(from)) }
            if let to = try query.millis("toStartTime") { conditions.add("start_time < ?", .integer(to)) }
            let after = try Cursor.decode(query["cursor"])
            let projectID = auth.project.rowID
            let frozen = conditions
            let wantsModels = groups.contains("model")
            let (rows, traces, models) = try await database.read { db in
                let rows = try ReadStore.observationsPage(frozen, after: after, limit: limit + 1, on: db)
                let traces = try ReadStore.traces(ids: rows.compactMap { $0.1.traceID }, projectID: projectID, on: db)
                // The price definitions the page's observations matched (a few distinct ids).
                var models: [String: ModelDefinition] = [:]
                for id in Set(rows.compactMap { $0.1.internalModelID }) where wantsModels {
                    models[id] = try ModelStore.definition(id: id, projectID: projectID, on: db)
                }
                return (rows, traces, models)
            }
            let page = Array(rows.prefix(limit))
            let publicID = auth.project.publicID
            let data: [JSONValue] = page.map { _, row in
                .object(observationV2(row, trace: row.traceID.flatMap { traces[$0] }, groups: groups, projectID: publicID,
                                      model: row.internalModelID.flatMap { models[$0] }))
            }
            var meta: [(String, JSONValue)] = []
            if rows.count > limit, let last = page.last {
                meta.append(("cursor", .string(Cursor.encode(last.1.startTime, last.0))))
            }
            return jsonResponse(.object([("data", .array(data)), ("meta", .object(meta))]))
        }
    }

    static func observationV2(
        _ row: ObservationRow, trace: TraceRow?, groups: Set<String>, projectID: String, model: ModelDefinition? = nil
    ) -> [(String, JSONValue)] {
        let full = Dictionary(ReadJSON.observation(row, projectID: projectID), uniquingKeysWith: { a, _ in a })
        // The matched model and its default tier's prices, as decimal strings (langfuse-api.md
        // §5.6), with the `model` group only.
        let priced = groups.contains("model") ? model : nil
        func price(_ usageType: String) -> JSONValue {
            priced?.defaultTier?.price(usageType).map { .string(decimalText($0)) } ?? .null
        }
        var members: [(String, JSONValue)] = [
            ("id", .string(row.observationID)), ("traceId", ReadJSON.text(row.traceID)),
            ("startTime", ReadJSON.time(row.startTime)), ("endTime", ReadJSON.time(row.endTime)),
            ("projectId", .string(projectID)), ("parentObservationId", ReadJSON.text(row.parentObservationID)),
            ("type", .string(row.type)), ("modelId", priced.map { .string($0.id) } ?? .null),
            ("inputPrice", price("input")), ("outputPrice", price("output")), ("totalPrice", price("total")),
        ]
        if groups.contains("basic") {
            members += [
                ("name", ReadJSON.text(row.name)), ("level", .string(row.level)), ("statusMessage", ReadJSON.text(row.statusMessage)),
                ("version", ReadJSON.text(row.version)), ("environment", .string(row.environment)), ("bookmarked", .bool(false)),
                ("public", .bool(trace?.isPublic ?? false)), ("userId", ReadJSON.text(trace?.userID)),
                ("sessionId", ReadJSON.text(trace?.sessionID)), ("isRootObservation", .bool(row.parentObservationID == nil)),
            ]
        }
        if groups.contains("time") {
            members += [("completionStartTime", ReadJSON.time(row.completionStartTime)), ("createdAt", ReadJSON.time(row.createdAt)),
                        ("updatedAt", ReadJSON.time(row.updatedAt))]
        }
        if groups.contains("io") {
            // Raw strings, never parsed (§5.6).
            members += [("input", row.input.map(rawText) ?? .null), ("output", row.output.map(rawText) ?? .null)]
        }
        if groups.contains("metadata") { members.append(("metadata", ReadJSON.object(row.metadata))) }
        if groups.contains("model") {
            members += [("providedModelName", ReadJSON.text(row.model)), ("internalModelId", ReadJSON.text(row.internalModelID)),
                        ("modelParameters", ReadJSON.object(row.modelParameters))]
        }
        if groups.contains("usage") {
            members += [("usageDetails", ReadJSON.object(row.usageDetails)), ("costDetails", ReadJSON.object(row.costDetails)),
                        ("totalCost", ReadJSON.number(row.totalCost)), ("usagePricingTierName", ReadJSON.text(row.pricingTier))]
        }
        if groups.contains("prompt") {
            members += [("promptId", .null), ("promptName", ReadJSON.text(row.promptName)), ("promptVersion", ReadJSON.number(row.promptVersion))]
        }
        if groups.contains("metrics") {
            members += [("latency", full["latency"] ?? .null), ("timeToFirstToken", full["timeToFirstToken"] ?? .null)]
        }
        if groups.contains("trace_context") {
            members += [("traceName", ReadJSON.text(trace?.name)), ("tags", ReadJSON.array(trace?.tags)), ("release", ReadJSON.text(trace?.release))]
        }
        return members
    }

    /// Stored JSON text as the raw string a client sent: strings unwrapped, anything else as JSON text.
    private static func rawText(_ stored: String) -> JSONValue {
        if let value = try? JSONParser.parse(stored), case .string(let text) = value { return .string(text) }
        return .string(stored)
    }

    /// Score filters shared by the v2 and v3 score lists.
    static func scoreConditions(_ query: QueryParameters, auth: AuthContext) throws -> ReadStore.Conditions {
        var conditions = ReadStore.Conditions(projectID: auth.project.rowID)
        for (parameter, column) in [("name", "name"), ("source", "source"), ("dataType", "data_type"), ("configId", "config_id"),
                                    ("queueId", "queue_id"), ("sessionId", "session_id"), ("traceId", "trace_id"),
                                    ("datasetRunId", "dataset_run_id"), ("id", "score_id")] {
            let values = try query.list(parameter)
            conditions.any(column, values)
        }
        conditions.any("score_id", try query.list("scoreIds"))
        conditions.any("observation_id", try query.list("observationId"))
        conditions.any("environment", try query.list("environment"))
        if let userID = query.userID(auth.privacy) {
            conditions.add("trace_id IN (SELECT trace_id FROM traces WHERE project_id = scores.project_id AND user_id = ?)", .text(userID))
        }
        if let from = try query.millis("fromTimestamp") { conditions.add("timestamp >= ?", .integer(from)) }
        if let to = try query.millis("toTimestamp") { conditions.add("timestamp < ?", .integer(to)) }
        if let value = try query.finiteNumber("valueMin") { conditions.add("value >= ?", .real(value)) }
        if let value = try query.finiteNumber("valueMax") { conditions.add("value <= ?", .real(value)) }
        return conditions
    }

    /// operationId `scoresV2List`: page-based, Score v2 items with a `trace` context object.
    static func scoresV2(database: Database, authenticator: Authenticator) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false)
            let query = request.query
            let paging = try Paging(query)
            if query["filter"] != nil {
                // Rather than answer every score: Langfuse's JSON filter is not implemented here.
                throw APIError.badRequest("Invalid filter: the JSON filter is not supported on /api/public/v2/scores; use its query parameters (name, userId, traceId, …)")
            }
            let conditions = try scoreConditions(query, auth: auth)
            let projectID = auth.project.rowID
            let (page, traces) = try await database.read { db in
                let page = try ReadStore.scores(conditions, limit: paging.limit, offset: paging.offset, on: db)
                return (page, try ReadStore.traces(ids: page.rows.compactMap(\.traceID), projectID: projectID, on: db))
            }
            let publicID = auth.project.publicID
            let items: [JSONValue] = page.rows.map { score in
                var object = ReadJSON.score(score, projectID: publicID).objectValue ?? []
                let trace = score.traceID.flatMap { traces[$0] }
                object.append(("trace", trace.map { trace in
                    .object([("userId", ReadJSON.text(trace.userID)), ("tags", ReadJSON.array(trace.tags)),
                             ("environment", .string(trace.environment)), ("sessionId", ReadJSON.text(trace.sessionID))])
                } ?? .null))
                return .object(object)
            }
            return jsonResponse(paging.response(items, totalItems: page.totalItems))
        }
    }

    /// operationId `scoreV2Get`.
    static func scoreV2(database: Database, authenticator: Authenticator) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false)
            let id = request.parameters["id"] ?? ""
            let projectID = auth.project.rowID
            guard let row = try await database.read({ try ReadStore.score(id, projectID: projectID, on: $0) }) else {
                throw APIError.notFound("Score not found")
            }
            return jsonResponse(ReadJSON.score(row, projectID: auth.project.publicID))
        }
    }

    static let scoreV3FieldGroups: Set<String> = ["details", "subject", "annotation"]

    /// operationId `scoresV3List`: cursor-paged scores with typed values and a `subject`.
    static func scoresV3(database: Database, authenticator: Authenticator) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false)
            let query = request.query
            guard let limit = Int(query["limit"] ?? "50"), (1...100).contains(limit) else {
                throw APIError.badRequest("Invalid request data: limit must be an integer in 1...100")
            }
            let groups = Set((query["fields"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            guard groups.isSubset(of: scoreV3FieldGroups) else {
                throw APIError.badRequest("Invalid request data: fields must be a comma list of details, subject, annotation")
            }
            if query["observationId"] != nil && query["traceId"] == nil {
                throw APIError.badRequest("Invalid request data: observationId requires traceId")
            }
            let conditions = try scoreConditions(query, auth: auth)
            let after = try Cursor.decode(query["cursor"])
            let rows = try await database.read { try ReadStore.scoresPage(conditions, after: after, limit: limit + 1, on: $0) }
            let page = Array(rows.prefix(limit))
            let publicID = auth.project.publicID
            let data: [JSONValue] = page.map { _, score in
                let value: JSONValue = switch score.dataType {
                case "BOOLEAN": .bool(score.value == 1)
                case "CATEGORICAL", "TEXT", "CORRECTION": ReadJSON.text(score.stringValue)
                default: ReadJSON.number(score.value)
                }
                var members: [(String, JSONValue)] = [
                    ("id", .string(score.scoreID)), ("projectId", .string(publicID)), ("name", .string(score.name)),
                    ("value", value), ("dataType", .string(score.dataType)), ("source", .string(score.source)),
                    ("timestamp", ReadJSON.time(score.timestamp)), ("environment", .string(score.environment)),
                    ("createdAt", ReadJSON.time(score.createdAt)), ("updatedAt", ReadJSON.time(score.updatedAt)),
                ]
                if groups.contains("details") {
                    members += [("comment", ReadJSON.text(score.comment)), ("configId", ReadJSON.text(score.configID)),
                                ("metadata", ReadJSON.object(score.metadata))]
                }
                if groups.contains("annotation") {
                    members += [("authorUserId", .null), ("queueId", ReadJSON.text(score.queueID))]
                }
                if groups.contains("subject") {
                    let subject: JSONValue
                    if let observationID = score.observationID {
                        subject = .object([("kind", .string("observation")), ("id", .string(observationID)), ("traceId", ReadJSON.text(score.traceID))])
                    } else if let traceID = score.traceID {
                        subject = .object([("kind", .string("trace")), ("id", .string(traceID))])
                    } else if let sessionID = score.sessionID {
                        subject = .object([("kind", .string("session")), ("id", .string(sessionID))])
                    } else {
                        subject = .object([("kind", .string("experiment")), ("id", ReadJSON.text(score.datasetRunID))])
                    }
                    members.append(("subject", subject))
                }
                return .object(members)
            }
            var meta: [(String, JSONValue)] = [("limit", JSONValue(limit))]
            if rows.count > limit, let last = page.last {
                meta.append(("cursor", .string(Cursor.encode(last.1.timestamp, last.0))))
            }
            return jsonResponse(.object([("data", .array(data)), ("meta", .object(meta))]))
        }
    }

    /// operationId `metricsDaily`: one row per UTC day, newest first, with usage by model.
    static func metricsDaily(database: Database, authenticator: Authenticator) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false)
            let query = request.query
            let paging = try Paging(query)
            var conditions = ReadStore.Conditions(projectID: auth.project.rowID, column: "traces.project_id")
            if let name = query["traceName"] { conditions.add("traces.name = ?", .text(name)) }
            if let userID = query.userID(auth.privacy) { conditions.add("traces.user_id = ?", .text(userID)) }
            for tag in try query.list("tags") {
                conditions.add("EXISTS (SELECT 1 FROM json_each(traces.tags) WHERE value = ?)", .text(tag))
            }
            conditions.any("traces.environment", try query.list("environment"))
            if let from = try query.millis("fromTimestamp") { conditions.add("traces.timestamp >= ?", .integer(from)) }
            if let to = try query.millis("toTimestamp") { conditions.add("traces.timestamp < ?", .integer(to)) }
            let frozen = conditions
            let page = try await database.read { try ReadStore.dailyMetrics(frozen, limit: paging.limit, offset: paging.offset, on: $0) }
            let data: [JSONValue] = page.rows.map { day in
                .object([
                    ("date", .string(String(Timestamp.iso8601(millis: day.day * 86_400_000).prefix(10)))),
                    ("countTraces", JSONValue(Int(day.traces))), ("countObservations", JSONValue(Int(day.observations))),
                    ("totalCost", JSONValue(day.totalCost)),
                    ("usage", .array(day.usage.map { usage in
                        .object([
                            ("model", ReadJSON.text(usage.model)), ("inputUsage", JSONValue(Int(usage.inputUsage))),
                            ("outputUsage", JSONValue(Int(usage.outputUsage))), ("totalUsage", JSONValue(Int(usage.totalUsage))),
                            ("countObservations", JSONValue(Int(usage.observations))), ("countTraces", JSONValue(Int(usage.traces))),
                            ("totalCost", JSONValue(usage.totalCost)),
                        ])
                    })),
                ])
            }
            return jsonResponse(paging.response(data, totalItems: page.totalItems))
        }
    }
}

/// A USD price as Langfuse's v2 API writes it: plain decimal digits, no exponent ("0.00000015").
func decimalText(_ value: Double) -> String {
    var text = String(format: "%.12f", value)
    while text.hasSuffix("0") { text.removeLast() }
    if text.hasSuffix(".") { text.removeLast() }
    return text
}
