import Foundation
import Ingest
import Model
import Storage
import Transport

/// Sessions: native lifecycle calls and the session reads dashboards use.
enum SessionHandlers {
    /// operationId `sessionCreate`: `POST /api/public/sessions` → 201 `{"id"}`. Idempotent: the
    /// same call again leaves the same row (given fields overwrite, absent ones stay).
    static func create(database: Database, authenticator: Authenticator) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false)
            let body = try parseJSONBody(request)
            guard body.objectValue != nil else { throw APIError.badRequest("Invalid request data: expected a JSON object") }
            let sessionID = try optionalText(body, "id") ?? UUID().uuidString.lowercased()
            if let problem = ValueBounds.identifierProblem(sessionID) {
                throw APIError.badRequest("Invalid request data: id \(problem)")
            }
            var attributes = SessionStore.Attributes()
            let userID = try optionalText(body, "userId")
            if let userID, userID.utf8.contains(0) {
                throw APIError.badRequest("Invalid request data: userId must not contain NUL")
            }
            attributes.userID = userID.map(auth.privacy.userID)
            attributes.type = try optionalText(body, "type")
            if let type = attributes.type, !["chat", "api", "batch"].contains(type) {
                throw APIError.badRequest("Invalid request data: type must be chat, api or batch")
            }
            attributes.channel = try optionalText(body, "channel")
            attributes.clientVersion = try optionalText(body, "clientVersion")
            attributes.locale = try optionalText(body, "locale")
            attributes.userTier = try optionalText(body, "userTier")
            attributes.orgID = try optionalText(body, "orgId")
            attributes.environment = try optionalText(body, "environment").map(EnvironmentName.normalise)
            if let metadata = body["metadata"], !metadata.isNull {
                guard metadata.objectValue != nil else { throw APIError.badRequest("Invalid request data: metadata must be an object") }
                attributes.metadata = auth.privacy.metadata(metadata).jsonText
            }
            attributes.startTime = try optionalTime(body, "startTime")
            let projectID = auth.project.rowID
            let now = WallClock.nowMillis()
            let frozen = attributes
            _ = try await database.writer.write { db in
                try SessionStore.upsert(sessionID, frozen, projectID: projectID, now: now, on: db)
            }
            return jsonResponse(.object([("id", .string(sessionID))]), status: 201)
        }
    }

    /// operationId `sessionEnd`: `POST /api/public/sessions/{id}/end` with `{reason?, endTime?}`.
    static func end(database: Database, authenticator: Authenticator) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false)
            let sessionID = request.parameters["id"] ?? ""
            let body = request.http.body.isEmpty ? JSONValue.object([]) : try parseJSONBody(request)
            guard body.objectValue != nil else { throw APIError.badRequest("Invalid request data: expected a JSON object") }
            let reason = try optionalText(body, "reason")
            let now = WallClock.nowMillis()
            let endTime = try optionalTime(body, "endTime") ?? now
            let projectID = auth.project.rowID
            let found = try await database.writer.write { db in
                try SessionStore.end(sessionID, reason: reason, endTime: endTime, projectID: projectID, now: now, on: db)
            }
            guard found else { throw APIError.notFound("Session not found within authorized project") }
            try await settle(database, projectID: projectID, sessions: [sessionID])  // drop-off is judged at the end
            let row = try await database.read { try ReadStore.session(sessionID, projectID: projectID, on: $0) }
            guard let row else { throw APIError.notFound("Session not found within authorized project") }
            return jsonResponse(.object(ReadJSON.session(row, projectID: auth.project.publicID)))
        }
    }

    /// operationId `sessionsList`: `GET /api/public/sessions`, Langfuse's page shape with
    /// Parley's aggregates, filters and sorting.
    static func list(database: Database, authenticator: Authenticator) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false)
            let query = request.query
            let paging = try Paging(query)
            let conditions = try SessionFilters.conditions(query, auth: auth)
            let sortFields = Set(ReadStore.SessionSort.allCases.map(\.rawValue))
            var (field, descending) = try query.orderBy(default: "createdAt", descending: true, fields: sortFields)
            if let sort = query["sort"] {
                guard sortFields.contains(sort) else {
                    throw APIError.badRequest("Invalid request data: sort must be one of \(sortFields.sorted().joined(separator: ", "))")
                }
                field = sort
                descending = query["order"].map { $0.lowercased() != "asc" } ?? true
            }
            let sort = ReadStore.SessionSort(rawValue: field) ?? .createdAt
            let frozen = conditions
            let isDescending = descending
            let page = try await database.read {
                try ReadStore.sessions(frozen, sort: sort, descending: isDescending, limit: paging.limit, offset: paging.offset, on: $0)
            }
            let items = page.rows.map { JSONValue.object(ReadJSON.session($0, projectID: auth.project.publicID)) }
            return jsonResponse(paging.response(items, totalItems: page.totalItems))
        }
    }

    /// operationId `sessionGet`: the session, its aggregates, every trace in turn order with its
    /// aggregates and observation tree, and the session's scores.
    static func get(database: Database, authenticator: Authenticator, cache: DrillDownCache) -> RouteHandler {
        .async { request in
            // The drill-down shows this session alone: it settles this session, not the project.
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false, settlingProject: false)
            try await settle(database, projectID: auth.project.rowID, sessions: [request.parameters["id"] ?? ""])
            if request.query["fields"] == "summary" {
                return try await summary(request, auth: auth, database: database, cache: cache)
            }
            let sessionID = request.parameters["id"] ?? ""
            let projectID = auth.project.rowID
            let publicID = auth.project.publicID
            // Read and written out on a reader thread: a 1,000-turn answer is megabytes of JSON,
            // which would otherwise hold one of the cooperative pool's two threads.
            let body = try await database.read { db -> [UInt8]? in
                guard let version = try ReadStore.sessionVersion(sessionID, projectID: projectID, on: db) else { return nil }
                return try cache.answer(key: "\(projectID) full \(sessionID)", version: version) {
                    guard let session = try ReadStore.session(sessionID, projectID: projectID, on: db) else { return nil }
                    return drillDown(
                        session, traces: try ReadStore.traces(inSession: sessionID, projectID: projectID, on: db),
                        observations: try ReadStore.observations(inSession: sessionID, projectID: projectID, on: db),
                        traceScores: try ReadStore.traceScores(inSession: sessionID, projectID: projectID, on: db),
                        sessionScores: try ReadStore.scores(ofSession: sessionID, projectID: projectID, on: db), projectID: publicID)
                }
            }
            guard let body else { throw APIError.notFound("Session not found within authorized project") }
            return HTTPResponse(status: 200, headers: ["Content-Type": "application/json"], body: body)
        }
    }

    /// The drill-down answer: the session, every trace with its aggregates, observation tree
    /// and scores, the conversations and the session's scores.
    static func drillDown(
        _ session: SessionRow, traces: [TraceRow], observations: [String: [ObservationRow]],
        traceScores: [String: [ScoreRow]], sessionScores: [ScoreRow], projectID publicID: String
    ) -> [UInt8] {
        // Streamed, not built as a JSONValue tree: a 100-turn session is hundreds of objects
        // (docs/BENCHMARKS.md, drill-down).
        // Sized up front from the stored text it will carry, so the buffer is not regrown
        // (and copied) several times on the way to half a megabyte.
        var estimate = 4096 + traces.count * 2048
        for trace in traces {
            estimate += (trace.input?.utf8.count ?? 0) + (trace.output?.utf8.count ?? 0) + (trace.metadata?.utf8.count ?? 0)
        }
        for rows in observations.values {
            for row in rows {
                estimate += 1536 + (row.input?.utf8.count ?? 0) + (row.output?.utf8.count ?? 0)
                    + (row.metadata?.utf8.count ?? 0) + (row.modelParameters?.utf8.count ?? 0)
            }
        }
        var out = JSONStream(capacity: estimate)
        out.beginObject()
        for (key, value) in ReadJSON.session(session, projectID: publicID) { out.dynamicMember(key, value) }
        out.key("traces")
        out.beginArray()
        for trace in traces {
            out.beginObject()
            ReadJSON.trace(trace, projectID: publicID, into: &out)
            out.member("htmlPath", .string("/project/\(publicID)/traces/\(trace.traceID)"))
            out.member("latency", JSONValue(Timestamp.seconds(millis: trace.latencyMs)))
            out.member("totalCost", JSONValue(trace.totalCost))
            ReadJSON.traceAggregates(trace, into: &out)
            out.key("observations")
            ReadJSON.writeTree(observations[trace.traceID] ?? [], projectID: publicID, into: &out)
            out.member("scores", .array((traceScores[trace.traceID] ?? []).map { ReadJSON.score($0, projectID: publicID) }))
            out.endObject()
        }
        out.endArray()
        out.member("conversations", ReadJSON.conversations(traces))
        out.member("sessionScores", .array(sessionScores.map { ReadJSON.score($0, projectID: publicID) }))
        out.endObject()
        return out.bytes
    }
}

func optionalText(_ body: JSONValue, _ key: String) throws -> String? {
    guard let value = body[key], !value.isNull else { return nil }
    guard let text = value.stringValue else { throw APIError.badRequest("Invalid request data: \(key) must be a string") }
    return text
}

func optionalTime(_ body: JSONValue, _ key: String) throws -> Int64? {
    guard let text = try optionalText(body, key) else { return nil }
    guard let millis = Timestamp.parseMillis(text) else {
        throw APIError.badRequest("Invalid request data: \(key) must be an ISO-8601 datetime with Z or an offset")
    }
    return millis
}
