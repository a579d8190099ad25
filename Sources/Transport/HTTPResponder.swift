/// The transport's only dependency on the application: turn a request into a response.
///
/// `completion` may be called on any thread, exactly once. Calling it before `respond` returns
/// (a synchronous answer) is allowed and avoids a thread hop.
package protocol HTTPResponder: Sendable {
    func respond(to request: HTTPRequest, completion: @escaping @Sendable (HTTPResponse) -> Void)
}

/// Transport-level events the application may want to log or count: answers the transport
/// gives itself, without reaching the responder (framing errors, timeouts, overload).
package protocol TransportObserver: Sendable {
    func transportAnswered(status: Int, reason: String)
    /// The server has begun to shut down: long-lived responses (event streams) should end now,
    /// so the grace period is not spent waiting for them.
    func transportShuttingDown()
}

extension TransportObserver {
    package func transportShuttingDown() {}
}
