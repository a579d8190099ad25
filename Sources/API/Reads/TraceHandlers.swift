import Crypto
import Foundation
import Ingest
import Model
import Storage
import Transport

/// Traces: the legacy single-trace create call and the Langfuse trace reads (§3.10, §5.1–5.3).
enum TraceHandlers {
    /// operationId `traceCreate`: `POST /api/public/traces` wraps the body into one
    /// `trace-create` event on the ingestion path → 200 `{"id"}` (generated when absent).
    static func create(database: Database, authenticator: Authenticator) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false)
            let body = try parseJSONBody(request)
            guard case .object(var members) = body else { throw APIError.badRequest("Invalid request data: expected a JSON object") }
            // A missing, null or empty id is generated (langfuse-api.md §3.10); any other
            // non-string id is left for the validator to reject with 400, not replaced.
            if body["id"].map({ $0.isNull || $0.stringValue == "" }) ?? true {
                members.removeAll { $0.0 == "id" }
                members.insert(("id", .string(UUID().uuidString.lowercased())), at: 0)
            }
            let traceBody = JSONValue.object(members)
            // The envelope id is a digest of the body: re-posting the same trace is a no-op.
            let envelope = JSONValue.object([
                ("id", .string("trace:" + (traceBody["id"]?.stringValue ?? "") + ":" + Digest.shortHex(traceBody.jsonBytes))),
                ("type", .string("trace-create")), ("timestamp", .string(Timestamp.iso8601(millis: WallClock.nowMillis()))),
                ("body", traceBody),
            ])
            let event: IngestionEvent
            switch EventValidator.validate(envelope) {
            case .success(let valid): event = valid
            case .failure(let rejection): throw APIError.badRequest("\(rejection.message): \(rejection.error)")
            }
            try await applyEvents([event], auth: auth, database: database)
            return jsonResponse(.object([("id", .string(event.entityID ?? ""))]))
        }
    }

    /// The filters of the trace list, shared with the trace export.
    static func filters(_ query: QueryParameters, auth: AuthContext) throws -> ReadStore.Conditions {
        var conditions = ReadStore.Conditions(projectID: auth.project.rowID)
        // Langfuse's JSON filter takes precedence over the plain query filters.
        if let filter = query["filter"], !filter.isEmpty {
            try JSONFilter.apply(filter, target: .traces, privacy: auth.privacy, to: &conditions)
            return conditions
        }
        if let userID = query.userID(auth.privacy) { conditions.add("user_id = ?", .text(userID)) }
        for (parameter, column) in [("name", "name"), ("sessionId", "session_id"), ("version", "version"), ("release", "release")] {
            if let value = query[parameter] { conditions.add("\(column) = ?", .text(value)) }
        }
        for tag in try query.list("tags") {
            conditions.add("EXISTS (SELECT 1 FROM json_each(traces.tags) WHERE value = ?)", .text(tag))
        }
        conditions.any("environment", try query.list("environment"))
        if let from = try query.millis("fromTimestamp") { conditions.add("timestamp >= ?", .integer(from)) }
        if let to = try query.millis("toTimestamp") { conditions.add("timestamp < ?", .integer(to)) }
        return conditions
    }

    /// operationId `tracesList`: `GET /api/public/traces` (TraceWithDetails items).
    static func list(database: Database, authenticator: Authenticator) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false)
            let query = request.query
            let paging = try Paging(query)
            let conditions = try filters(query, auth: auth)
            let (field, descending) = try query.orderBy(
                default: "timestamp", descending: true, fields: Set(ReadStore.traceSortColumns.keys))
            let column = ReadStore.traceSortColumns[field] ?? "timestamp"
            let projectID = auth.project.rowID
            let publicID = auth.project.publicID
            let frozen = conditions
            let (page, observations, scores) = try await database.read { db in
                let page = try ReadStore.traces(frozen, sortColumn: column, descending: descending, limit: paging.limit, offset: paging.offset, on: db)
                let ids = page.rows.map(\.traceID)
                return (page, try ReadStore.observationIDs(ofTraces: ids, projectID: projectID, on: db),
                        try ReadStore.scoreIDs(ofTraces: ids, projectID: projectID, on: db))
            }
            let items: [JSONValue] = page.rows.map { trace in
                .object(ReadJSON.trace(trace, projectID: publicID) + [
                    ("htmlPath", .string("/project/\(publicID)/traces/\(trace.traceID)")),
                    ("latency", JSONValue(Timestamp.seconds(millis: trace.latencyMs))), ("totalCost", JSONValue(trace.totalCost)),
                    ("observations", .array((observations[trace.traceID] ?? []).map(JSONValue.string))),
                    ("scores", .array((scores[trace.traceID] ?? []).map(JSONValue.string))),
                ] + ReadJSON.traceAggregates(trace))
            }
            return jsonResponse(paging.response(items, totalItems: page.totalItems))
        }
    }

    /// operationId `traceGet`: TraceWithFullDetails.
    static func get(database: Database, authenticator: Authenticator) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false)
            let traceID = request.parameters["id"] ?? ""
            let projectID = auth.project.rowID
            let publicID = auth.project.publicID
            let found = try await database.read { db -> (TraceRow, [ObservationRow], [ScoreRow])? in
                guard let trace = try ReadStore.trace(traceID, projectID: projectID, on: db) else { return nil }
                return (trace, try ReadStore.observations(ofTraces: [traceID], projectID: projectID, on: db)[traceID] ?? [],
                        try ReadStore.scores(ofTraces: [traceID], projectID: projectID, on: db)[traceID] ?? [])
            }
            guard let (trace, observations, scores) = found else {
                throw APIError.notFound("Trace \(traceID) not found within authorized project")
            }
            let body = JSONValue.object(ReadJSON.trace(trace, projectID: publicID) + [
                ("htmlPath", .string("/project/\(publicID)/traces/\(trace.traceID)")),
                ("latency", JSONValue(Timestamp.seconds(millis: trace.latencyMs))), ("totalCost", JSONValue(trace.totalCost)),
                ("observations", .array(observations.map { .object(ReadJSON.observation($0, projectID: publicID)) })),
                ("scores", .array(scores.map { ReadJSON.score($0, projectID: publicID) })),
            ] + ReadJSON.traceAggregates(trace))
            return jsonResponse(body)
        }
    }

    /// operationId `traceDelete`: removes the trace with its observations and scores.
    static func delete(database: Database, authenticator: Authenticator) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false)
            let traceID = request.parameters["id"] ?? ""
            let projectID = auth.project.rowID
            try await database.writer.write { db in try SessionStore.deleteTraces([traceID], projectID: projectID, on: db) }
            return jsonResponse(.object([("message", .string("Trace deleted successfully"))]))
        }
    }

    /// operationId `tracesDelete`: body `{"traceIds": [...]}` with 1…1000 ids.
    static func deleteMany(database: Database, authenticator: Authenticator) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false)
            let body = try parseJSONBody(request)
            guard let values = body["traceIds"]?.arrayValue else {
                throw APIError.badRequest("Invalid request data: traceIds must be an array of strings")
            }
            let ids = values.compactMap(\.stringValue)
            guard ids.count == values.count, (1...1000).contains(ids.count) else {
                throw APIError.badRequest("Invalid request data: traceIds must hold 1 to 1000 strings")
            }
            let projectID = auth.project.rowID
            try await database.writer.write { db in try SessionStore.deleteTraces(ids, projectID: projectID, on: db) }
            return jsonResponse(.object([("message", .string("Traces deleted successfully"))]))
        }
    }
}

/// Observations (§5.4, §5.5) and score reads (§5.0 ScoreV1 / v2).
enum ObservationHandlers {
    static func list(database: Database, authenticator: Authenticator) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false)
            let query = request.query
            let paging = try Paging(query)
            var conditions = ReadStore.Conditions(projectID: auth.project.rowID)
            if let filter = query["filter"], !filter.isEmpty {
                // Langfuse's JSON filter takes precedence over the plain query filters.
                try JSONFilter.apply(filter, target: .observations, privacy: auth.privacy, to: &conditions)
            } else {
                try plainFilters(query, auth: auth, into: &conditions)
            }
            let frozen = conditions
            let page = try await database.read { try ReadStore.observations(frozen, limit: paging.limit, offset: paging.offset, on: $0) }
            let publicID = auth.project.publicID
            return jsonResponse(paging.response(page.rows.map { .object(ReadJSON.observation($0, projectID: publicID)) }, totalItems: page.totalItems))
        }
    }

    /// The observation list's query filters (name, traceId, level, type, userId, …).
    static func plainFilters(_ query: QueryParameters, auth: AuthContext, into conditions: inout ReadStore.Conditions) throws {
        for (parameter, column) in [("name", "name"), ("traceId", "trace_id"), ("level", "level"),
                                    ("parentObservationId", "parent_observation_id"), ("version", "version")] {
            if let value = query[parameter] { conditions.add("\(column) = ?", .text(value)) }
        }
        if let type = query["type"] {
            guard ObservationTypes.all.contains(type) else { throw APIError.badRequest("Invalid request data: unknown observation type \(type)") }
            conditions.add("type = ?", .text(type))
        }
        if let userID = query.userID(auth.privacy) {
            conditions.add("trace_id IN (SELECT trace_id FROM traces WHERE project_id = observations.project_id AND user_id = ?)", .text(userID))
        }
        conditions.any("environment", try query.list("environment"))
        if let from = try query.millis("fromStartTime") { conditions.add("start_time >= ?", .integer(from)) }
        if let to = try query.millis("toStartTime") { conditions.add("start_time < ?", .integer(to)) }
    }

    static func get(database: Database, authenticator: Authenticator) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false)
            let id = request.parameters["id"] ?? ""
            let projectID = auth.project.rowID
            guard let row = try await database.read({ try ReadStore.observation(id, projectID: projectID, on: $0) }) else {
                throw APIError.notFound("Observation not found within authorized project")
            }
            return jsonResponse(.object(ReadJSON.observation(row, projectID: auth.project.publicID)))
        }
    }

    /// `GET /api/public/scores` (v1): like Langfuse, trace-linked scores only, each with a `trace`
    /// object (`userId`, `tags`, `environment`) that the 2.x SDK's models require. With
    /// `sessionId`, the list is that session's scores and its traces' scores (`trace` is null
    /// for a session score). Filters traceId, observationId, userId, name, source, dataType,
    /// configId, environment, fromTimestamp, toTimestamp; newest first.
    static func scores(database: Database, authenticator: Authenticator) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false)
            let query = request.query
            let paging = try Paging(query)
            var conditions = ReadStore.Conditions(projectID: auth.project.rowID)
            for (parameter, column) in [("traceId", "trace_id"), ("observationId", "observation_id"),
                                        ("name", "name"), ("source", "source"), ("dataType", "data_type"), ("configId", "config_id")] {
                if let value = query[parameter] { conditions.add("\(column) = ?", .text(value)) }
            }
            if let sessionID = query["sessionId"] {
                conditions.add("""
                    (session_id = ? OR trace_id IN (SELECT trace_id FROM traces WHERE project_id = scores.project_id AND session_id = ?))
                    """, .text(sessionID), .text(sessionID))
            } else {
                conditions.add("trace_id IS NOT NULL")
            }
            if let userID = query.userID(auth.privacy) {
                conditions.add("trace_id IN (SELECT trace_id FROM traces WHERE project_id = scores.project_id AND user_id = ?)", .text(userID))
            }
            conditions.any("environment", try query.list("environment"))
            if let from = try query.millis("fromTimestamp") { conditions.add("timestamp >= ?", .integer(from)) }
            if let to = try query.millis("toTimestamp") { conditions.add("timestamp < ?", .integer(to)) }
            let frozen = conditions
            let projectID = auth.project.rowID
            let (page, traces) = try await database.read { db in
                let page = try ReadStore.scores(frozen, limit: paging.limit, offset: paging.offset, on: db)
                return (page, try ReadStore.traces(ids: page.rows.compactMap(\.traceID), projectID: projectID, on: db))
            }
            let publicID = auth.project.publicID
            let items = page.rows.map { scoreWithTrace($0, trace: $0.traceID.flatMap { traces[$0] }, projectID: publicID) }
            return jsonResponse(paging.response(items, totalItems: page.totalItems))
        }
    }

    /// `GET /api/public/scores/{id}` (v1 `score.get_by_id`).
    static func score(database: Database, authenticator: Authenticator) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false)
            let id = request.parameters["id"] ?? ""
            let projectID = auth.project.rowID
            let found = try await database.read { db -> (ScoreRow, TraceRow?)? in
                guard let score = try ReadStore.score(id, projectID: projectID, on: db) else { return nil }
                let trace = try score.traceID.flatMap { try ReadStore.trace($0, projectID: projectID, on: db) }
                return (score, trace)
            }
            guard let (score, trace) = found else { throw APIError.notFound("Score not found") }
            return jsonResponse(scoreWithTrace(score, trace: trace, projectID: auth.project.publicID))
        }
    }

    static func scoreWithTrace(_ score: ScoreRow, trace: TraceRow?, projectID: String) -> JSONValue {
        var members = ReadJSON.score(score, projectID: projectID).objectValue ?? []
        members.append(("trace", trace.map { trace in
            .object([("userId", ReadJSON.text(trace.userID)), ("tags", ReadJSON.array(trace.tags)),
                     ("environment", .string(trace.environment))])
        } ?? .null))
        return .object(members)
    }

    static func deleteScore(database: Database, authenticator: Authenticator) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false)
            let id = request.parameters["id"] ?? ""
            let projectID = auth.project.rowID
            let deleted = try await database.writer.write { db in try SessionStore.deleteScore(id, projectID: projectID, on: db) }
            guard deleted else { throw APIError.notFound("Score not found") }
            return HTTPResponse(status: 204)
        }
    }
}
