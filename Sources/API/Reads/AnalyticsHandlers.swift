import Model
import Storage
import Transport

/// `/api/public/analytics/*`: conversation analytics over the session columns kept on write
/// (docs/ANALYTICS.md explains every figure). All take the session-list filters. Parameters are
/// checked first (a 4xx never touches the cache); answers go through `AnalyticsCache`.
enum AnalyticsHandlers {
    /// What an analytics endpoint computes: from a read connection, its JSON answer.
    typealias Computation = @Sendable (SQLiteConnection) throws -> JSONValue

    /// An analytics route: authenticates, parses the session filters, lets `prepare` check the
    /// endpoint's own parameters and return its computation, and answers through `cache`.
    static func route(
        database: Database, authenticator: Authenticator, cache: AnalyticsCache,
        _ prepare: @escaping @Sendable (APIRequest, ReadStore.Conditions) throws -> Computation
    ) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: false)
            let compute = try prepare(request, try SessionFilters.conditions(request.query, auth: auth))
            let generation = database.writer.commitCount
            let answer = try await cache.answer(key: "\(auth.project.rowID) \(request.http.target)", generation: generation) {
                // On the cache's own Dispatch queue (AnalyticsCache), not the cooperative pool.
                try database.readBlocking { try compute($0) }.jsonBytes
            }
            var headers: HTTPHeaders = ["Content-Type": "application/json"]
            if let age = answer.staleAge { headers.set("Age", String(age / 1_000_000_000)) }
            return HTTPResponse(status: 200, headers: headers, body: answer.body)
        }
    }

    /// operationId `analyticsDropoff`: drop-offs grouped by where the session stopped.
    static func dropoff(database: Database, authenticator: Authenticator, cache: AnalyticsCache) -> RouteHandler {
        route(database: database, authenticator: authenticator, cache: cache) { request, conditions in
            let names = AnalyticsStore.DropoffGrouping.allCases.map(\.rawValue)
            let groupBy = try AnalyticsStore.DropoffGrouping(rawValue: request.query["groupBy"] ?? "lastTurn").orThrow(
                APIError.badRequest("Invalid request data: groupBy must be one of \(names.joined(separator: ", "))"))
            let limit = try Paging(request.query).limit
            return { db in render(try AnalyticsStore.dropoff(conditions, groupBy: groupBy, limit: limit, on: db), groupBy: groupBy) }
        }
    }

    private static func render(_ report: AnalyticsStore.DropoffReport, groupBy: AnalyticsStore.DropoffGrouping) -> JSONValue {
        func rate(_ part: Int, _ whole: Int) -> JSONValue { whole == 0 ? .null : JSONValue(Double(part) / Double(whole)) }
        let groups = report.groups.map { group -> JSONValue in
            let key: JSONValue = switch (groupBy, group.key) {
            case (_, nil): .null
            case (.lastTurn, let text?): Int(text).map(JSONValue.init) ?? .string(text)
            case (_, let text?): .string(text)
            }
            return .object([
                ("key", key), ("endedSessions", JSONValue(group.ended)), ("dropoffs", JSONValue(group.dropoffs)),
                ("dropoffRate", rate(group.dropoffs, group.ended)), ("shareOfDropoffs", rate(group.dropoffs, report.dropoffs)),
                ("exampleSessionIds", .array(group.examples.map(JSONValue.string))),
            ])
        }
        return .object([
            ("groupBy", .string(groupBy.rawValue)),
            ("sessions", JSONValue(report.sessions)), ("endedSessions", JSONValue(report.ended)),
            ("dropoffs", JSONValue(report.dropoffs)), ("dropoffRate", rate(report.dropoffs, report.ended)),
            ("data", .array(groups)),
        ])
    }

    /// operationId `analyticsSessions`: how many sessions match, and the distributions of
    /// their duration, turns, tokens, cost, turn latency and satisfaction.
    static func sessions(database: Database, authenticator: Authenticator, cache: AnalyticsCache) -> RouteHandler {
        route(database: database, authenticator: authenticator, cache: cache) { _, conditions in
            { db in render(try AnalyticsStore.sessionFigures(conditions, on: db)) }
        }
    }

    private static func render(_ figures: AnalyticsStore.SessionFigures) -> JSONValue {
        func distribution(_ sorted: [Int64]) -> JSONValue {
            distribution(sorted.map(Double.init))
        }
        func distribution(_ sorted: [Double]) -> JSONValue {
            func at(_ p: Double) -> JSONValue { Percentiles.nearestRank(sorted, p).map(JSONValue.init) ?? .null }
            let mean: JSONValue = sorted.isEmpty ? .null : JSONValue(sorted.reduce(0, +) / Double(sorted.count))
            return .object([
                ("count", JSONValue(sorted.count)), ("min", at(0)), ("p50", at(50)), ("p90", at(90)), ("p99", at(99)),
                ("max", at(100)), ("mean", mean),
            ])
        }
        return .object([
            ("count", JSONValue(figures.count)),
            ("durationMs", distribution(figures.durationMs)), ("turns", distribution(figures.turns)),
            ("totalTokens", distribution(figures.totalTokens)), ("totalCost", distribution(figures.totalCost)),
            ("turnLatencyMs", distribution(figures.turnLatencyMs)),
            ("userSatisfaction", distribution(figures.userSatisfaction)),
        ])
    }

    /// operationId `analyticsJourneysList`.
    static func journeys(database: Database, authenticator: Authenticator, cache: AnalyticsCache) -> RouteHandler {
        route(database: database, authenticator: authenticator, cache: cache) { _, conditions in
            { db in render(try AnalyticsStore.journeys(conditions, on: db)) }
        }
    }

    private static func render(_ journeys: [AnalyticsStore.JourneySummary]) -> JSONValue {
        .object([("data", .array(journeys.map { journey in
            .object([
                ("name", .string(journey.name)), ("sessions", JSONValue(journey.sessions)),
                ("converted", JSONValue(journey.converted)),
                ("conversionRate", journey.sessions == 0 ? .null : JSONValue(Double(journey.converted) / Double(journey.sessions))),
                ("firstSeen", ReadJSON.time(journey.firstSeen)), ("lastSeen", ReadJSON.time(journey.lastSeen)),
            ])
        }))])
    }

    /// operationId `analyticsJourneyGet`: the funnel of one journey.
    static func journey(database: Database, authenticator: Authenticator, cache: AnalyticsCache) -> RouteHandler {
        route(database: database, authenticator: authenticator, cache: cache) { request, conditions in
            let name = request.parameters["name"] ?? ""
            return { db in
                let outcomes = try AnalyticsStore.journey(name, conditions, on: db)
                guard !outcomes.isEmpty else { throw APIError.notFound("Journey not found within authorized project") }
                return render(JourneyFunnel(sessions: outcomes), name: name)
            }
        }
    }

    private static func render(_ funnel: JourneyFunnel, name: String) -> JSONValue {
        func ratio(_ value: Double?) -> JSONValue { value.map(JSONValue.init) ?? .null }
        return .object([
            ("name", .string(name)), ("sessions", JSONValue(funnel.sessions)), ("converted", JSONValue(funnel.converted)),
            ("conversionRate", ratio(funnel.conversionRate)),
            ("medianConversionTurn", ReadJSON.number(funnel.medianConversionTurn)),
            ("medianConversionTimeMs", ReadJSON.number(funnel.medianConversionTimeMs)),
            ("stages", .array(funnel.stages.map { stage in
                .object([
                    ("name", .string(stage.name)), ("stageNumber", ReadJSON.number(stage.number)),
                    ("sessionsReached", JSONValue(stage.sessionsReached)),
                    ("sessionsInStage", JSONValue(stage.sessionsInStage)),
                    ("conversionFromPrevious", ratio(stage.conversionFromPrevious)),
                    ("conversionFromStart", ratio(stage.conversionFromStart)),
                    ("medianTimeInStageMs", ReadJSON.number(stage.medianTimeInStageMs)),
                ])
            })),
        ])
    }
}

extension Optional {
    func orThrow(_ error: @autoclosure () -> any Error) throws -> Wrapped {
        guard let self else { throw error() }
        return self
    }
}
