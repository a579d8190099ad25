import Foundation
import Logging
import Transport

/// The HTTP responder Parley runs: routing, request ids, CORS, error rendering, the access log
/// and metrics around every handler.
package final class Application: HTTPResponder, TransportObserver {
    package let router: Router
    package let metrics: Metrics
    package let transportStats: TransportStats
    /// The console's event streams, ended when the server shuts down.
    package let live: LiveStreams?
    private let logger: Logger

    package init(router: Router, metrics: Metrics, transportStats: TransportStats, logger: Logger, live: LiveStreams? = nil) {
        self.router = router
        self.metrics = metrics
        self.transportStats = transportStats
        self.logger = logger
        self.live = live
    }

    package func respond(to request: HTTPRequest, completion: @escaping @Sendable (HTTPResponse) -> Void) {
        let requestID = RequestID.accept(request.headers["X-Request-Id"]) ?? RequestID.generate()
        if request.method == "OPTIONS" {
            finish(preflight(request), request: request, route: nil, requestID: requestID, completion: completion)
            return
        }
        switch router.match(method: request.method, path: request.path) {
        case .notFound:
            let error = APIError.notFound("No route for \(request.method) \(request.path)")
            finish(error.response, request: request, route: nil, requestID: requestID, completion: completion)
        case .methodNotAllowed(let allowed):
            finish(APIError.methodNotAllowed(allowed: allowed).response, request: request, route: nil,
                   requestID: requestID, completion: completion)
        case .found(_, let route, let parameters):
            let apiRequest = APIRequest(http: request, parameters: parameters, requestID: requestID)
            switch route.handler {
            case .sync(let handler):
                let response = render { try handler(apiRequest) }
                finish(response, request: request, route: route.pattern, requestID: requestID, completion: completion)
            case .async(let handler):
                Task {
                    let response: HTTPResponse
                    do {
                        response = try await handler(apiRequest)
                    } catch {
                        response = self.errorResponse(error, requestID: requestID)
                    }
                    self.finish(response, request: request, route: route.pattern, requestID: requestID, completion: completion)
                }
            }
        }
    }

    private func render(_ body: () throws -> HTTPResponse) -> HTTPResponse {
        do {
            return try body()
        } catch {
            return errorResponse(error, requestID: nil)
        }
    }

    /// The one place a thrown error becomes an answer (`AnswerableError`).
    private func errorResponse(_ error: any Error, requestID: String?) -> HTTPResponse {
        if let answer = (error as? any AnswerableError)?.answer { return answer.response }
        logger.error("unhandled error: \(error)", metadata: requestID.map { ["request_id": .string($0)] })
        return APIError.internal.response
    }

    private func finish(
        _ response: HTTPResponse, request: HTTPRequest, route: String?, requestID: String,
        completion: @Sendable (HTTPResponse) -> Void
    ) {
        var response = response
        response.headers.set("X-Request-Id", requestID)
        if let origin = request.headers["Origin"] {
            // Langfuse reflects the origin on public routes, without credentials. Never
            // `Access-Control-Allow-Credentials`: a cross-site page must not read with the
            // console's cookie (which SameSite=Strict keeps from being sent there anyway).
            response.headers.set("Access-Control-Allow-Origin", origin)
            response.headers.add("Vary", "Origin")
        }
        let seconds = Double(MonotonicClock.nanos() &- request.receivedAtNanos) / 1e9
        metrics.record(route: route ?? Metrics.unmatchedRoute, method: request.method, status: response.status, seconds: seconds)
        if logger.logLevel <= .info {
            // A user id in the path is logged as the route's `:userId`: raw ids never reach logs.
            let path = route.flatMap { $0.contains(":userId") ? $0 : nil } ?? String(request.path)
            let size = response.stream == nil ? "\(response.body.count)B" : "chunked"
            logger.info("\(request.method) \(path) \(response.status) \(size) \(String(format: "%.3f", seconds * 1000))ms", metadata: ["request_id": .string(requestID)])
        }
        completion(response)
    }

    /// CORS preflight (Fetch standard): allow what the browser asks for on known paths.
    private func preflight(_ request: HTTPRequest) -> HTTPResponse {
        var headers: HTTPHeaders = [:]
        // Every method the path answers, whatever the browser asked about (RFC 9110 §10.2.1).
        let allowed = router.methods(for: request.path)
        guard !allowed.isEmpty else { return APIError.notFound("No route for OPTIONS \(request.path)").response }
        headers.set("Allow", allowed.joined(separator: ", "))
        headers.set("Access-Control-Allow-Methods", allowed.joined(separator: ", "))
        if let requested = request.headers["Access-Control-Request-Headers"] {
            headers.set("Access-Control-Allow-Headers", requested)
        }
        headers.set("Access-Control-Max-Age", "600")
        return HTTPResponse(status: 204, headers: headers)
    }

    // MARK: TransportObserver

    package func transportAnswered(status: Int, reason: String) {
        metrics.recordTransportAnswer(status: status)
        logger.info("- - \(status) transport: \(reason)")
    }

    package func transportShuttingDown() {
        live?.closeAll()
    }
}
