import Model
import Storage
import Transport

/// `GET /api/public/health`, `GET /api/public/ready` and `GET /metrics`.
enum HealthHandlers {
    static func status(_ text: String) -> JSONValue {
        .object([("status", .string(text)), ("version", .string(ParleyVersion.current))])
    }

    /// operationId `health`: liveness, no auth, never touches storage. The body is fixed, so it
    /// is encoded once.
    static func health() -> RouteHandler {
        let body = Array("{\"status\":\"OK\",\"version\":\"\(ParleyVersion.current)\"}".utf8)
        return .sync { _ in
            HTTPResponse(status: 200, headers: ["Content-Type": "application/json"], body: body)
        }
    }

    /// operationId `ready`: 200 when storage answers a query, else 503 with Retry-After.
    static func ready(database: Database) -> RouteHandler {
        .async { _ in
            if await database.isReady() {
                return jsonResponse(status("OK"))
            }
            var response = jsonResponse(status("Database not available"), status: 503)
            response.headers.set("Retry-After", "1")
            return response
        }
    }

    /// operationId `metrics`: Prometheus text format.
    static func metrics(_ provider: @escaping @Sendable () -> String) -> RouteHandler {
        .sync { _ in
            HTTPResponse(
                status: 200, headers: ["Content-Type": "text/plain; version=0.0.4; charset=utf-8"],
                body: Array(provider().utf8))
        }
    }
}
