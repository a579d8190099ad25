import Transport

/// The single error type handlers throw. It renders as `{"message": "...", "error": "..."}`.
public struct APIError: Error, Sendable, Equatable {
    public let status: Int
    /// Machine-readable kind, the `error` field; Langfuse's names where one exists.
    public let code: String
    /// Human-readable explanation, the `message` field.
    public let message: String
    public var headers: HTTPHeaders { extraHeaders }
    private let extraHeaders: HTTPHeaders

    public init(status: Int, code: String, message: String, headers: HTTPHeaders = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.extraHeaders = headers
    }

    public static func == (lhs: APIError, rhs: APIError) -> Bool {
        lhs.status == rhs.status && lhs.code == rhs.code && lhs.message == rhs.message
    }

    public var response: HTTPResponse {
        HTTPResponse.jsonError(status: status, error: code, message: message, headers: extraHeaders)
    }

    public static func badRequest(_ message: String) -> APIError {
        APIError(status: 400, code: "InvalidRequestError", message: message)
    }

    public static func notFound(_ message: String) -> APIError {
        APIError(status: 404, code: "LangfuseNotFoundError", message: message)
    }

    public static func methodNotAllowed(allowed: [String]) -> APIError {
        APIError(status: 405, code: "MethodNotAllowedError", message: "Method not allowed",
                 headers: ["Allow": allowed.joined(separator: ", ")])
    }

    public static func unavailable(_ message: String, retryAfter: Int = 1) -> APIError {
        APIError(status: 503, code: "ServiceUnavailable", message: message,
                 headers: ["Retry-After": String(retryAfter)])
    }

    /// What every unexpected error becomes: no internals leak to the client.
    public static let `internal` = APIError(
        status: 500, code: "InternalServerError", message: "Internal server error; see the server log for the request id")
}
