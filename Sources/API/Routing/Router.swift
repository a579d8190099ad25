import Transport

/// Matches method + path to a route. JSON 404 for unknown paths, JSON 405 (with `Allow`) for a
/// known path and the wrong method. HEAD is served by the GET route (RFC 9110 §9.3.2).
public struct Router: Sendable {
    public enum Match {
        case found(index: Int, route: Route, parameters: [String: String])
        case methodNotAllowed(allowed: [String])
        case notFound
    }

    public private(set) var routes: [Route] = []

    public init() {}

    public mutating func add(_ route: Route) {
        routes.append(route)
    }

    public mutating func get(_ pattern: String, _ handler: RouteHandler) { add(Route("GET", pattern, handler)) }
    public mutating func post(_ pattern: String, _ handler: RouteHandler) { add(Route("POST", pattern, handler)) }
    public mutating func delete(_ pattern: String, _ handler: RouteHandler) { add(Route("DELETE", pattern, handler)) }

    public func match(method: String, path: Substring) -> Match {
        // Split on the UTF-8 slash: Character-based `split` walks grapheme breaks, and it showed
        // in the keep-alive profile (docs/BENCHMARKS.md). A slash is always a scalar boundary.
        let segments = path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true).compactMap(Substring.init)
        let lookup = method == "HEAD" ? "GET" : method
        var allowed: [String] = []
        for (index, route) in routes.enumerated() {
            guard let parameters = route.match(segments) else { continue }
            if route.method == lookup { return .found(index: index, route: route, parameters: parameters) }
            allowed.append(route.method)
        }
        if allowed.isEmpty { return .notFound }
        if allowed.contains("GET") { allowed.append("HEAD") }
        allowed.append("OPTIONS")
        return .methodNotAllowed(allowed: allowed)
    }
}
