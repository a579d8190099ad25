import Transport

/// A request as handlers see it: the HTTP request plus what routing and the pipeline added.
package struct APIRequest: Sendable {
    package let http: HTTPRequest
    /// Path parameters by name, percent-decoded, e.g. `["id": "abc"]` for `/sessions/:id`.
    package let parameters: [String: String]
    /// The request id echoed in `X-Request-Id` and written to the access log.
    package let requestID: String

    /// Query parameters, percent-decoded; repeated keys keep every value in order.
    package var query: QueryParameters { QueryParameters(http.query) }
}

/// What a route runs. Synchronous handlers answer on the I/O thread with no hop; anything that
/// may block (storage) is async and runs on the cooperative pool.
package enum RouteHandler: Sendable {
    case sync(@Sendable (APIRequest) throws -> HTTPResponse)
    case async(@Sendable (APIRequest) async throws -> HTTPResponse)
}

/// A method plus a path pattern such as `/api/public/sessions/:id`.
package struct Route: Sendable {
    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    package let method: String
    /// The pattern as written; also the `route` label in metrics.
    package let pattern: String
    let segments: [Segment]
    let handler: RouteHandler

    package init(_ method: String, _ pattern: String, _ handler: RouteHandler) {
        self.method = method
        self.pattern = pattern
        self.segments = pattern.split(separator: "/", omittingEmptySubsequences: true).map { part in
            part.hasPrefix(":") ? .parameter(String(part.dropFirst())) : .literal(String(part))
        }
        self.handler = handler
    }

    /// Path parameters if `pathSegments` match this pattern.
    func match(_ pathSegments: [Substring]) -> [String: String]? {
        guard pathSegments.count == segments.count else { return nil }
        var parameters: [String: String] = [:]
        for (segment, part) in zip(segments, pathSegments) {
            switch segment {
            case .literal(let literal):
                // Byte equality: a path segment is a URL's bytes, not text to compare by
                // canonical equivalence (which would also be slower).
                guard part.utf8.elementsEqual(literal.utf8) else { return nil }
            case .parameter(let name):
                guard let decoded = PercentDecoding.decode(part), !decoded.isEmpty else { return nil }
                parameters[name] = decoded
            }
        }
        return parameters
    }
}
