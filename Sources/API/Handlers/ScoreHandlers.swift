import Crypto
import Foundation
import Ingest
import Model
import Storage

/// `POST /api/public/scores` (operationId `scoreCreate`): one JSON object → 200 `{"id"}`; a
/// JSON array (SDK 5.x) → 202 `{"message":"Accepted"}`, or 207 with the rejections
/// (langfuse-api.md §6.3). Each score becomes a `score-create` event on the ingestion path.
enum ScoreHandlers {
    static func create(database: Database, authenticator: Authenticator) -> RouteHandler {
        .async { request in
            let auth = try await authenticate(request, authenticator, allowPublicKeyOnly: true)
            let document = try parseJSONBody(request)
            let nowMicros = WallClock.nowMicros()
            switch document {
            case .object:
                let event: IngestionEvent
                switch scoreEvent(document, nowMicros: nowMicros) {
                case .success(let made): event = made
                case .failure(let rejection):
                    throw APIError(status: 400, code: "InvalidRequestError", message: "\(rejection.message): \(rejection.error)")
                }
                try await applyEvents([event], auth: auth, database: database)
                return jsonResponse(.object([("id", .string(event.entityID ?? ""))]))
            case .array(let items):
                var events: [IngestionEvent] = []
                var errors: [JSONValue] = []
                for item in items {
                    switch scoreEvent(item, nowMicros: nowMicros) {
                    case .success(let event): events.append(event)
                    case .failure(let rejection):
                        errors.append(.object([("message", .string("\(rejection.message): \(rejection.error)"))]))
                    }
                }
                try await applyEvents(events, auth: auth, database: database)
                if errors.isEmpty {
                    return jsonResponse(.object([("message", .string("Accepted"))]), status: 202)
                }
                return jsonResponse(.object([
                    ("accepted", JSONValue(events.count)), ("rejected", JSONValue(errors.count)),
                    ("errors", .array(errors)),
                ]), status: 207)
            default:
                throw APIError(status: 400, code: "InvalidRequestError", message: "Invalid request data: expected a score object or an array of them")
            }
        }
    }

    /// Wraps a CreateScoreRequest into a `score-create` event; `id` is generated when absent.
    private static func scoreEvent(_ body: JSONValue, nowMicros: Int64) -> Result<IngestionEvent, EventValidator.Rejection> {
        guard case .object(var members) = body else { return .failure(.invalid("expected an object")) }
        // Only a missing, null or empty id is generated; any other non-string is the validator's 400.
        if body["id"].map({ $0.isNull || $0.stringValue == "" }) ?? true {
            members.removeAll { $0.0 == "id" }
            members.insert(("id", .string(UUID().uuidString.lowercased())), at: 0)
        }
        let withID = JSONValue.object(members)
        do {
            try EventValidator.validateScore(withID)
        } catch let rejection as EventValidator.Rejection {
            return .failure(rejection)
        } catch {
            return .failure(.invalid("\(error)"))
        }
        if let value = body["timestamp"], !value.isNull {
            // Request datetimes must carry Z or an offset (langfuse-api.md §1); a naive or
            // malformed one is rejected rather than silently replaced by "now".
            guard let text = value.stringValue, Timestamp.parseMicros(text) != nil else {
                return .failure(.invalid("timestamp: expected an ISO-8601 datetime with Z or an offset"))
            }
        }
        if let source = body["source"]?.stringValue, source.uppercased() == "EVAL" {
            return .failure(.invalid("source: EVAL scores cannot be created through this endpoint"))
        }
        // The score's own time is its `timestamp` (kept in the body and read by the merge),
        // while the event is ordered by arrival: re-sending a score with the same id and
        // timestamp but new values updates it (langfuse-api.md §6.3). The envelope id is the
        // score id plus a digest of the body, so an identical re-send changes nothing.
        let digest = Digest.shortHex(withID.jsonBytes)
        let eventID = "score:\(withID["id"]?.stringValue ?? ""):\(digest)"
        let timestamp = nowMicros
        return .success(IngestionEvent(id: eventID, type: .scoreCreate, timestampMicros: timestamp, body: withID))
    }
}
