import Model
import Storage
import Transport

/// operationId `qualityGet`: `GET /api/public/quality` — what the project's instrumentation gets
/// wrong, counted and sampled (docs/PRIVACY.md, "Data quality").
enum QualityHandlers {
    /// The window when the query gives none: the last 7 days.
    static let defaultWindowMs: Int64 = 7 * 86_400_000

    static func report(database: Database, authenticator: Authenticator) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false)
            let query = request.query
            let to = try query.millis("toTimestamp") ?? WallClock.nowMillis()
            let from = try query.millis("fromTimestamp") ?? (to - defaultWindowMs)
            guard from <= to else { throw APIError.badRequest("Invalid request data: fromTimestamp must not be after toTimestamp") }
            var samples = 5
            if let text = query["samples"] {
                guard let number = Int(text), (0...50).contains(number) else {
                    throw APIError.badRequest("Invalid request data: samples must be an integer in 0...50")
                }
                samples = number
            }
            let projectID = auth.project.rowID
            let sampleCount = samples
            let report = try await database.read { db in
                try QualityStore.report(projectID: projectID, from: from, to: to, samples: sampleCount, on: db)
            }
            func finding(_ finding: QualityStore.Finding, _ extra: [(String, JSONValue)] = []) -> JSONValue {
                .object([("count", JSONValue(Int(finding.count)))] + extra
                        + [("samples", .array(finding.samples.map(JSONValue.object)))])
            }
            return jsonResponse(.object([
                ("fromTimestamp", ReadJSON.time(from)), ("toTimestamp", ReadJSON.time(to)),
                ("orphanTraces", finding(report.orphanTraces)),
                ("observationsWithMissingParent", finding(report.missingParents)),
                ("tracesWithoutRoot", finding(report.tracesWithoutRoot)),
                ("sessionsWithTurnIssues", finding(report.sessionsWithTurnIssues)),
                ("rejectedEvents", finding(report.rejectedEvents, [("reasons", .array(report.rejectionReasons.map(JSONValue.object)))])),
            ]))
        }
    }
}
