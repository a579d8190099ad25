import Transport

/// Matches method + path to a route. JSON 404 for unknown paths, JSON 405 (with `Allow`) for a
/// known path and the wrong method. HEAD is served by the GET route (RFC 9110 §9.3.2).
package struct Router: Sendable {
    package enum Match {
        case found(index: Int, route: Route, parameters: [String: String])
        case methodNotAllowed(allowed: [String])
        case notFound
    }

    package private(set) var routes: [Route] = []

    package init() {}

    package mutating func add(_ route: Route) {
        routes.append(route)
    }

    package mutating func get(_ pattern: String, _ handler: RouteHandler) { add(Route("GET", pattern, handler)) }
    package mutating func post(_ pattern: String, _ handler: RouteHandler) { add(Route("POST", pattern, handler)) }
    package mutating func patch(_ pattern: String, _ handler: RouteHandler) { add(Route("PATCH", pattern, handler)) }
    package mutating func delete(_ pattern: String, _ handler: RouteHandler) { add(Route("DELETE", pattern, handler)) }

    package func match(method: String, path: Substring) -> Match {
        let segments = Self.segments(path)
        let lookup = method == "HEAD" ? "GET" : method
        for (index, route) in routes.enumerated() where route.method == lookup {
            if let parameters = route.match(segments) { return .found(index: index, route: route, parameters: parameters) }
        }
        let allowed = methods(segments)
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed: allowed)
    }

    /// Every method `path` answers (with HEAD where GET is, and OPTIONS), in route order; empty
    /// for a path no route matches. The `Allow` header of 405s and preflights.
    package func methods(for path: Substring) -> [String] {
        methods(Self.segments(path))
    }

    private func methods(_ segments: [Substring]) -> [String] {
        var allowed: [String] = []
        for route in routes where !allowed.contains(route.method) && route.match(segments) != nil {
            allowed.append(route.method)
        }
        if allowed.isEmpty { return [] }
        if allowed.contains("GET") { allowed.append("HEAD") }
        allowed.append("OPTIONS")
        return allowed
    }

    /// Split on the UTF-8 slash: Character-based `split` walks grapheme breaks, and it showed in
    /// the keep-alive profile (docs/BENCHMARKS.md). A slash is always a scalar boundary.
    private static func segments(_ path: Substring) -> [Substring] {
        path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true).compactMap(Substring.init)
    }
}
