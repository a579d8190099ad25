import Foundation
import Ingest
import Logging
import Model
import Storage
import Transport

/// `POST /api/public/ingestion` (operationId `ingestionBatch`), langfuse-api.md §3.
enum IngestionHandlers {
    struct Limits: Sendable {
        /// Largest batch body accepted (Langfuse documents 3.5 MB; its SDKs send at most 2.5 MB).
        var maxBatchBytes = 3_500_000
        /// Longest a write request may wait between arriving and reaching its handler before it
        /// is refused with 503 (`refuseWhenOverloaded`).
        var maxRequestWait: Duration = .seconds(2)
    }

    static func batch(database: Database, authenticator: Authenticator, limits: Limits) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: true)
            try refuseWhenOverloaded(database, request, maxWait: limits.maxRequestWait)
            guard request.http.body.count <= limits.maxBatchBytes else {
                throw APIError(status: 413, code: "PayloadTooLargeError",
                               message: "Batch larger than \(limits.maxBatchBytes) bytes; send smaller batches")
            }
            let batch: [JSONValue]
            do {
                guard let events = try parseJSONBody(request)["batch"]?.arrayValue else {
                    throw APIError(status: 400, code: "InvalidRequestError", message: "Invalid request data: batch must be an array")
                }
                batch = events
            } catch let failure as APIError {
                await recordRejectedRequest(failure, source: "ingestion", auth: auth, database: database)
                throw failure
            }

            var accepted: [(index: Int, event: IngestionEvent)] = []
            var rejections: [(index: Int, id: String, rejection: EventValidator.Rejection)] = []
            for (index, raw) in batch.enumerated() {
                switch EventValidator.validate(raw) {
                case .success(let event):
                    if auth.accessLevel == .scores && event.type != .scoreCreate && event.type != .sdkLog {
                        rejections.append((index, event.id, EventValidator.Rejection(
                            status: 401, message: "Authentication error", error: "Access Scope Denied")))
                    } else {
                        accepted.append((index, event))
                    }
                case .failure(let rejection):
                    rejections.append((index, EventValidator.reportedID(raw), rejection))
                }
            }

            let rejected = rejections.map {
                RejectedEvent(source: "ingestion", eventID: $0.id, eventType: batch[$0.index]["type"]?.stringValue,
                              status: $0.rejection.status, error: $0.rejection.error, message: $0.rejection.message)
            }
            try await applyEvents(accepted.map(\.event), auth: auth, database: database, rejected: rejected)

            // sdk-log events appear in neither list (Langfuse runtime behaviour).
            let successes: [JSONValue] = accepted.filter { $0.event.type != .sdkLog }.map {
                .object([("id", .string($0.event.id)), ("status", JSONValue(201))])
            }
            let errors: [JSONValue] = rejections.sorted { $0.index < $1.index }.map {
                .object([
                    ("id", .string($0.id)), ("status", JSONValue($0.rejection.status)),
                    ("message", .string($0.rejection.message)), ("error", .string($0.rejection.error)),
                ])
            }
            return jsonResponse(.object([("successes", .array(successes)), ("errors", .array(errors))]), status: 207)
        }
    }
}

/// Stores validated events through the writer (one group transaction, ack after COMMIT): the
/// one write path of batch ingestion, `/scores`, `POST /traces` and OTLP. Each event first
/// passes the project's privacy policy; `rejected` events are recorded in the same transaction
/// for the data-quality report.
func applyEvents(
    _ events: [IngestionEvent], auth: AuthContext, database: Database, rejected: [RejectedEvent] = []
) async throws {
    guard !events.isEmpty || !rejected.isEmpty else { return }
    let now = WallClock.nowMillis()
    let projectID = auth.project.rowID
    let policy = auth.privacy
    let stored = policy.isPassThrough ? events : events.map(policy.apply)
    _ = try await database.writer.write { db in
        if !rejected.isEmpty { try QualityStore.record(rejected, projectID: projectID, now: now, on: db) }
        return try IngestionStore.apply(stored, projectID: projectID, now: now, on: db)
    }
}

/// Answers 503 with Retry-After before a body is decoded when the server is behind: the writer
/// refuses new work (`DatabaseWriter.isOverloaded`), or the request itself waited longer than
/// `maxWait` between arriving and reaching its handler (CPU, not storage, is the bottleneck).
/// Under overload, decoding requests that cannot be stored in time would only take CPU from the
/// ones that can, and would let the latency of accepted requests grow without bound.
func refuseWhenOverloaded(_ database: Database, _ request: APIRequest, maxWait: Duration) throws {
    let waited = Duration.nanoseconds(Int64(clamping: MonotonicClock.nanos() &- request.http.receivedAtNanos))
    if database.writer.isOverloaded || waited > maxWait {
        throw StorageError.overloaded
    }
}

/// Records a request refused as a whole (its body unreadable) for the data-quality report; best
/// effort: a failure to record never changes the answer.
func recordRejectedRequest(_ failure: APIError, source: String, auth: AuthContext, database: Database) async {
    let rejected = RejectedEvent(source: source, eventID: nil, eventType: "request", status: failure.status,
                                 error: failure.code, message: failure.message)
    try? await applyEvents([], auth: auth, database: database, rejected: [rejected])
}

/// Shared pieces of authenticated JSON handlers.
///
/// Without an `Authorization` header, a GET or HEAD may instead carry the web console's
/// sign-in cookie, which grants reads only (`AccessLevel.read`); every other method needs the key.
///
/// A GET or HEAD is a read, and reads see every write acknowledged before them: sessions whose
/// analytics are not settled yet (docs/ARCHITECTURE.md, "Settling sessions") are settled here,
/// for the authenticated project, before the handler reads. A handler that reads one session
/// only passes `settlingProject: false` and settles that session itself (`settle(_:projectID:sessions:)`):
/// its answer depends on no other session, and under ingestion the project's backlog would
/// make it wait for the writer for nothing.
func authenticate(
    _ request: APIRequest, _ authenticator: Authenticator, allowPublicKeyOnly: Bool, settlingProject: Bool = true
) async throws -> AuthContext {
    let auth: AuthContext
    let isRead = request.http.method == "GET" || request.http.method == "HEAD"
    let header = request.http.headers["Authorization"]
    if header == nil, isRead, let token = ConsoleSessions.token(in: request.http.headers) {
        auth = try await authenticator.authenticate(consoleToken: token)
    } else {
        auth = try await authenticator.authenticate(header, allowPublicKeyOnly: allowPublicKeyOnly)
    }
    if isRead, settlingProject { try await settle(authenticator.database, projectID: auth.project.rowID) }
    return auth
}

/// Settles for a read: with no `sessions`, a bounded number of the project's dirty sessions
/// (`Database.settleForRead`, as every read does in `authenticate`); with `sessions`, just those
/// (a read of one session, which must see it settled whatever the backlog). Storage failures are
/// answered as for writes (`AnswerableError`), except a full disk: settling writes, and reads
/// must keep answering while the disk is full (docs/RELIABILITY.md), so they then answer from
/// the figures last settled.
func settle(_ database: Database, projectID: Int64, sessions: [String] = []) async throws {
    do {
        if sessions.isEmpty {
            try await database.settleForRead(projectID: projectID)
        } else {
            try await database.settle(projectID: projectID, sessions: sessions, limit: 0)
        }
    } catch let error as SQLiteError where error.isDiskFull {
        StorageFailure.diskFullWarning.warn(detail: error.description)
    }
}

/// Parses the body as JSON, with a clear 400 on anything else.
func parseJSONBody(_ request: APIRequest) throws -> JSONValue {
    do {
        return try JSONParser.parse(request.http.body)
    } catch {
        throw APIError(status: 400, code: "InvalidRequestError", message: "Invalid request data: body is not valid JSON (\(error))")
    }
}

func jsonResponse(_ value: JSONValue, status: Int = 200) -> HTTPResponse {
    HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: value.jsonBytes)
}

