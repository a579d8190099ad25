import Foundation
import Model
import Storage
import Testing
import TestSupport
import Transport

/// Shared by the read API tests: the Python 2.60.10 conversation, ingestion envelopes built in
/// code, and JSON answers taken apart.
enum ReadFixtures {
    static let folder = "langfuse-python-2.60.10"
    static let batches = ["\(folder)/ingestion-batch-1", "\(folder)/ingestion-batch-2"]
    static let sessionID = "acc-v2-session-cap01"
    static let userID = "acc-user-cap01"
    /// The three turns' trace ids, in turn order (`expected.json`).
    static let traceIDs = [
        "ddc979a6-5ae2-46d1-b133-ac3a2cb3b662", "b01425e6-b698-4e2f-9223-76689a8bc9ca",
        "0ac38aa7-e829-44d4-9312-0a6683e3737f",
    ]
    /// Turn 1's generation (usage 160/35/195, cost 2.4e-05/2.1e-05/4.5e-05).
    static let generationID = "c07542a2-a782-43c9-a6a6-5b5940baf563"
    /// Turn 1's `agent-run` span, parent of the generation, the tool span and the event.
    static let agentSpanID = "4bb23641-668b-4566-96cb-3f402e4ae4d3"
    /// The `user-feedback` score on turn 2.
    static let scoreID = "37289abd-b9d1-4c15-be2e-75e3600112ff"

    /// Every key of Langfuse's APITrace (langfuse-api.md §5.0).
    static let traceKeys = [
        "id", "externalId", "timestamp", "name", "userId", "metadata", "release", "version", "projectId",
        "environment", "public", "bookmarked", "tags", "input", "output", "sessionId", "createdAt", "updatedAt",
    ]
    /// TraceWithDetails / TraceWithFullDetails add these (§5.0).
    static let traceDetailKeys = ["htmlPath", "latency", "totalCost", "observations", "scores"]
    /// Every key of Langfuse's APIObservation / ObservationsView (§5.0).
    static let observationKeys = [
        "id", "projectId", "traceId", "parentObservationId", "type", "name", "environment", "startTime", "endTime",
        "completionStartTime", "version", "level", "statusMessage", "createdAt", "updatedAt", "input", "output",
        "metadata", "model", "modelParameters", "promptId", "promptName", "promptVersion", "usageDetails",
        "costDetails", "usage", "unit", "promptTokens", "completionTokens", "totalTokens", "usagePricingTierId",
        "usagePricingTierName", "modelId", "costSource", "inputPrice", "outputPrice", "totalPrice", "calculatedInputCost",
        "calculatedOutputCost", "calculatedTotalCost", "latency", "timeToFirstToken",
    ]
    /// ScoreV1 (§5.0), as a NUMERIC score carries them.
    static let scoreKeys = [
        "id", "projectId", "environment", "name", "value", "stringValue", "dataType", "source", "authorUserId",
        "comment", "metadata", "configId", "queueId", "executionTraceId", "traceId", "observationId", "timestamp",
        "createdAt", "updatedAt",
    ]
    /// Langfuse's four session keys (§5.7), first in every Parley session object.
    static let sessionKeys = ["id", "createdAt", "projectId", "environment"]
}

/// Ingestion envelopes for scenarios the SDK captures do not cover. Times are offsets in
/// milliseconds from a fixed instant, so expected values are exact.
enum Build {
    /// 2026-03-02T09:00:00.000Z.
    static let base: Int64 = 1_772_442_000_000

    static func time(_ offset: Int64) -> String { Timestamp.iso8601(millis: base + offset) }

    /// An object of the members whose value is not nil.
    static func object(_ members: [(String, JSONValue?)]) -> JSONValue {
        .object(members.compactMap { key, value in value.map { (key, $0) } })
    }

    static func strings(_ values: [String]) -> JSONValue { .array(values.map(JSONValue.string)) }

    /// One envelope with a fresh id, stamped `at` (default: the body's own time).
    static func envelope(_ type: String, _ body: JSONValue, at offset: Int64) -> JSONValue {
        object([
            ("id", .string(UUID().uuidString.lowercased())), ("type", .string(type)),
            ("timestamp", .string(time(offset))), ("body", body),
        ])
    }

    static func trace(
        _ id: String, session: String? = nil, user: String? = nil, name: String? = "chat-turn", at offset: Int64 = 0,
        metadata: JSONValue? = nil, tags: [String] = [], environment: String? = nil
    ) -> JSONValue {
        envelope("trace-create", object([
            ("id", .string(id)), ("timestamp", .string(time(offset))), ("name", name.map(JSONValue.string)),
            ("userId", user.map(JSONValue.string)), ("sessionId", session.map(JSONValue.string)),
            ("metadata", metadata), ("tags", tags.isEmpty ? nil : strings(tags)),
            ("environment", environment.map(JSONValue.string)),
        ]), at: offset)
    }

    /// `span-create`, `generation-create` or `event-create` carrying the whole observation.
    static func observation(
        _ kind: String, _ id: String, trace: String, parent: String? = nil, name: String, start: Int64, end: Int64? = nil,
        level: String? = nil, usage: (input: Int, output: Int)? = nil, cost: (input: Double, output: Double)? = nil,
        environment: String? = nil
    ) -> JSONValue {
        let usageDetails = usage.map { object([("input", JSONValue($0.input)), ("output", JSONValue($0.output)), ("total", JSONValue($0.input + $0.output))]) }
        let costDetails = cost.map { object([("input", JSONValue($0.input)), ("output", JSONValue($0.output)), ("total", JSONValue($0.input + $0.output))]) }
        return envelope("\(kind)-create", object([
            ("id", .string(id)), ("traceId", .string(trace)), ("parentObservationId", parent.map(JSONValue.string)),
            ("name", .string(name)), ("startTime", .string(time(start))), ("endTime", end.map { .string(time($0)) }),
            ("level", level.map(JSONValue.string)), ("model", usage == nil ? nil : .string("gpt-4o-mini")),
            ("usageDetails", usageDetails), ("costDetails", costDetails),
            ("environment", environment.map(JSONValue.string)),
        ]), at: start)
    }

    static func score(_ id: String, trace: String? = nil, session: String? = nil, name: String, value: Double, at offset: Int64 = 0) -> JSONValue {
        envelope("score-create", object([
            ("id", .string(id)), ("traceId", trace.map(JSONValue.string)), ("sessionId", session.map(JSONValue.string)),
            ("name", .string(name)), ("value", JSONValue(value)), ("timestamp", .string(time(offset))),
        ]), at: offset)
    }

    /// One chat turn as an agent would send it: the trace, an `agent-run` span from `at` to
    /// `at + duration`, a generation under it with `usage` and `cost`, and a `tool:search` span.
    static func turn(
        _ traceID: String, session: String?, user: String? = nil, number: Int? = nil, at offset: Int64, duration: Int64 = 1000,
        usage: (input: Int, output: Int) = (100, 20), cost: (input: Double, output: Double) = (0.0001, 0.00002),
        metadata: [(String, JSONValue)] = [], tags: [String] = [], environment: String? = nil, level: String? = nil
    ) -> [JSONValue] {
        let members = (number.map { [("turn_number", JSONValue($0))] } ?? []) + metadata
        return [
            trace(traceID, session: session, user: user, at: offset, metadata: members.isEmpty ? nil : .object(members),
                  tags: tags, environment: environment),
            observation("span", "\(traceID)-agent", trace: traceID, name: "agent-run", start: offset, end: offset + duration,
                        environment: environment),
            observation("generation", "\(traceID)-llm", trace: traceID, parent: "\(traceID)-agent", name: "llm-call",
                        start: offset + 1, end: offset + duration / 2, level: level, usage: usage, cost: cost, environment: environment),
            observation("span", "\(traceID)-tool", trace: traceID, parent: "\(traceID)-agent", name: "tool:search",
                        start: offset + duration / 2, end: offset + duration - 1, environment: environment),
        ]
    }

    static func batch(_ events: [JSONValue]) -> String {
        JSONValue.object([("batch", .array(events))]).jsonText
    }
}

extension APIHarness {
    /// Posts `events` as one ingestion batch and requires every event to succeed.
    func ingest(_ events: [JSONValue], sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await ingest(batch: Build.batch(events), sourceLocation: sourceLocation)
    }

    func ingest(batch: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let response = await post("/api/public/ingestion", json: batch)
        try #require(response.status == 207, "\(response.text.prefix(300))", sourceLocation: sourceLocation)
        let result = try IngestionResult(response)
        try #require(result.errors.isEmpty, "\(result.errors)", sourceLocation: sourceLocation)
    }

    /// Sends both Python 2.60.10 batches (or `order`), each answered 207 without errors.
    func ingestConversation(order: [String] = ReadFixtures.batches, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        for name in order {
            let response = try await send(fixture: name)
            try #require(response.status == 207, sourceLocation: sourceLocation)
            try #require(try IngestionResult(response).errors.isEmpty, sourceLocation: sourceLocation)
        }
    }

    /// GET `path`, requiring `status`; the body as JSON.
    func json(_ path: String, status: Int = 200, sourceLocation: SourceLocation = #_sourceLocation) async throws -> JSONValue {
        let response = await get(path)
        try #require(response.status == status, "GET \(path): \(response.status) \(response.text.prefix(400))",
                     sourceLocation: sourceLocation)
        #expect(response.headers["Content-Type"] == "application/json", sourceLocation: sourceLocation)
        return try response.json()
    }

    /// POST `json` to `path`, requiring `status`; the body as JSON.
    func json(post path: String, _ json: String, status: Int, sourceLocation: SourceLocation = #_sourceLocation) async throws -> JSONValue {
        let response = await post(path, json: json)
        try #require(response.status == status, "POST \(path): \(response.status) \(response.text.prefix(400))",
                     sourceLocation: sourceLocation)
        return try response.json()
    }

    /// The `id`s of `data` on the page `path`, in order.
    func ids(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String] {
        try await json(path, sourceLocation: sourceLocation)["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
    }

    /// Sets a session's `created_at` (server clock) so time filters and createdAt order have
    /// fixed values to work on.
    func setSessionCreatedAt(_ sessionID: String, offset: Int64) async throws {
        let projectID = project.rowID
        try await database.writer.write { db in
            try db.statement("UPDATE sessions SET created_at = ? WHERE project_id = ? AND session_id = ?")
                .run([.integer(Build.base + offset), .integer(projectID), .text(sessionID)])
        }
    }
}

extension JSONValue {
    /// The object's keys in order (empty for non-objects).
    var keys: [String] { objectValue?.map(\.0) ?? [] }

    /// `data` of a page answer.
    var data: [JSONValue] { self["data"]?.arrayValue ?? [] }
}

/// Whether `a` and `b` differ by at most a relative 1e-9 (costs are sums of binary doubles).
func close(_ a: Double?, _ b: Double) -> Bool {
    guard let a else { return false }
    return abs(a - b) <= max(abs(b), 1e-12) * 1e-9
}

/// The 404 body Langfuse sends (langfuse-api.md §1.2).
func expectNotFound(_ response: HTTPResponse, message: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    #expect(response.status == 404, sourceLocation: sourceLocation)
    let body = try response.json()
    #expect(body["message"]?.stringValue == message, sourceLocation: sourceLocation)
    #expect(body["error"]?.stringValue == "LangfuseNotFoundError", sourceLocation: sourceLocation)
}

/// A 400 with `{"message", "error"}`.
func expectBadRequest(_ response: HTTPResponse, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    #expect(response.status == 400, "\(what): \(response.status) \(response.text.prefix(200))", sourceLocation: sourceLocation)
    let body = try response.json()
    #expect(body["message"]?.stringValue != nil, "\(what)", sourceLocation: sourceLocation)
    #expect(body["error"] != nil, "\(what)", sourceLocation: sourceLocation)
}
