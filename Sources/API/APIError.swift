import Transport

/// The single error type handlers throw. It renders as `{"message": "...", "error": "..."}`.
package struct APIError: Error, Sendable, Equatable {
    package let status: Int
    /// Machine-readable kind, the `error` field; Langfuse's names where one exists.
    package let code: String
    /// Human-readable explanation, the `message` field.
    package let message: String
    package var headers: HTTPHeaders { extraHeaders }
    private let extraHeaders: HTTPHeaders

    package init(status: Int, code: String, message: String, headers: HTTPHeaders = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.extraHeaders = headers
    }

    package static func == (lhs: APIError, rhs: APIError) -> Bool {
        lhs.status == rhs.status && lhs.code == rhs.code && lhs.message == rhs.message
    }

    package var response: HTTPResponse {
        HTTPResponse.jsonError(status: status, error: code, message: message, headers: extraHeaders)
    }

    package static func badRequest(_ message: String) -> APIError {
        APIError(status: 400, code: "InvalidRequestError", message: message)
    }

    package static func notFound(_ message: String) -> APIError {
        APIError(status: 404, code: "LangfuseNotFoundError", message: message)
    }

    package static func methodNotAllowed(allowed: [String]) -> APIError {
        APIError(status: 405, code: "MethodNotAllowedError", message: "Method not allowed",
                 headers: ["Allow": allowed.joined(separator: ", ")])
    }

    package static func unavailable(_ message: String, retryAfter: Int = 1) -> APIError {
        APIError(status: 503, code: "ServiceUnavailable", message: message,
                 headers: ["Retry-After": String(retryAfter)])
    }

    /// What every unexpected error becomes: no internals leak to the client.
    package static let `internal` = APIError(
        status: 500, code: "InternalServerError", message: "Internal server error; see the server log for the request id")
}
