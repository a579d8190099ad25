import Model
import Storage
import Transport

/// The drill-down of long sessions in two parts: a summary with every turn but no input, output
/// or observations (`?fields=summary`), and the full turns a page at a time. The console opens
/// a 10,000-turn session this way.
extension SessionHandlers {
    /// `GET /api/public/sessions/{id}?fields=summary`: the session, each turn as `TurnSummary`
    /// (turn order as in the full drill-down) and the session's own scores.
    static func summary(_ request: APIRequest, auth: AuthContext, database: Database, cache: DrillDownCache) async throws -> HTTPResponse {
        let sessionID = request.parameters["id"] ?? ""
        let projectID = auth.project.rowID
        let publicID = auth.project.publicID
        // Read and written out on a reader thread, as the full drill-down is.
        let body = try await database.read { db -> [UInt8]? in
            guard let version = try ReadStore.sessionVersion(sessionID, projectID: projectID, on: db) else { return nil }
            return try cache.answer(key: "\(projectID) summary \(sessionID)", version: version) {
                guard let session = try ReadStore.session(sessionID, projectID: projectID, on: db) else { return nil }
                let traces = try ReadStore.traces(inSession: sessionID, projectID: projectID, on: db)
                let scores = try ReadStore.scores(ofSession: sessionID, projectID: projectID, on: db)
                var out = JSONStream(capacity: 4096 + traces.count * 512)
                out.beginObject()
                for (key, value) in ReadJSON.session(session, projectID: publicID) { out.dynamicMember(key, value) }
                out.key("turns")
                out.beginArray()
                for trace in traces { out.value(turn(trace)) }
                out.endArray()
                out.member("sessionScores", .array(scores.map { ReadJSON.score($0, projectID: publicID) }))
                out.endObject()
                return out.bytes
            }
        }
        guard let body else { throw APIError.notFound("Session not found within authorized project") }
        return HTTPResponse(status: 200, headers: ["Content-Type": "application/json"], body: body)
    }

    /// One turn of the summary: the conversation view's turn summary plus its usage and cost.
    static func turn(_ row: TraceRow) -> JSONValue {
        var members = ReadJSON.turnSummary(row).objectValue ?? []
        members += [
            ("conversationId", ReadJSON.text(row.tracking.conversationID)),
            ("journeyStage", ReadJSON.text(row.tracking.journeyStage)),
            ("observationCount", JSONValue(Int(row.observationCount))),
            ("inputTokens", JSONValue(Int(row.inputTokens))), ("outputTokens", JSONValue(Int(row.outputTokens))),
            ("totalTokens", JSONValue(Int(row.totalTokens))), ("totalCost", JSONValue(row.totalCost)),
        ]
        return .object(members)
    }

    /// operationId `sessionTurns`: `GET /api/public/sessions/{id}/turns?page=&limit=`, one page of
    /// the session's traces in turn order, each as in the drill-down but with its observations
    /// as ids (the tree is `GET /api/public/traces/{id}`).
    static func turns(database: Database, authenticator: Authenticator) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false, settlingProject: false)
            let paging = try Paging(request.query)
            let sessionID = request.parameters["id"] ?? ""
            let projectID = auth.project.rowID
            try await settle(database, projectID: projectID, sessions: [sessionID])  // as `get` does
            let publicID = auth.project.publicID
            let found = try await database.read { db -> (ReadStore.Page<TraceRow>, [String: [String]], [String: [ScoreRow]])? in
                guard try ReadStore.session(sessionID, projectID: projectID, on: db) != nil else { return nil }
                let page = try ReadStore.traces(
                    inSession: sessionID, projectID: projectID, limit: paging.limit, offset: paging.offset, on: db)
                let ids = page.rows.map(\.traceID)
                return (page, try ReadStore.observationIDs(ofTraces: ids, projectID: projectID, on: db),
                        try ReadStore.scores(ofTraces: ids, projectID: projectID, on: db))
            }
            guard let (page, observations, scores) = found else {
                throw APIError.notFound("Session not found within authorized project")
            }
            let items: [JSONValue] = page.rows.map { trace in
                .object(ReadJSON.trace(trace, projectID: publicID) + [
                    ("htmlPath", .string("/project/\(publicID)/traces/\(trace.traceID)")),
                    ("latency", JSONValue(Timestamp.seconds(millis: trace.latencyMs))), ("totalCost", JSONValue(trace.totalCost)),
                    ("observations", .array((observations[trace.traceID] ?? []).map(JSONValue.string))),
                    ("scores", .array((scores[trace.traceID] ?? []).map { ReadJSON.score($0, projectID: publicID) })),
                ] + ReadJSON.traceAggregates(trace))
            }
            return jsonResponse(paging.response(items, totalItems: page.totalItems))
        }
    }
}
