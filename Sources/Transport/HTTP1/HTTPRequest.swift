/// The HTTP version of a request; Parley speaks HTTP/1.0 and HTTP/1.1.
package enum HTTPVersion: Sendable, Equatable {
    case http1_0
    case http1_1

    var text: String { self == .http1_0 ? "HTTP/1.0" : "HTTP/1.1" }
}

/// One complete request: head plus a body that is already de-chunked and decompressed.
package struct HTTPRequest: Sendable {
    /// The method token, case-sensitive as RFC 9110 §9.1 says (`GET`, `POST`, …).
    package var method: String
    /// The request target as sent, e.g. `/api/public/sessions?page=2`.
    package var target: String
    /// The path part of the target, still percent-encoded.
    package var path: Substring
    /// The query part of the target without `?`, or empty.
    package var query: Substring
    package var version: HTTPVersion
    package var headers: HTTPHeaders
    package var body: [UInt8]
    /// Whether the connection stays open after this request (RFC 9112 §9.3).
    package var keepAlive: Bool
    /// Monotonic nanoseconds when the request became complete, for latency measurement.
    package var receivedAtNanos: UInt64
    /// Whether it arrived over TLS (so a cookie set in the answer may be marked `Secure`).
    package var isSecure = false

    package init(
        method: String, target: String, version: HTTPVersion = .http1_1,
        headers: HTTPHeaders = [:], body: [UInt8] = [], keepAlive: Bool = true,
        receivedAtNanos: UInt64 = MonotonicClock.nanos()
    ) {
        self.method = method
        self.target = target
        if let mark = target.firstIndex(of: "?") {
            path = target[..<mark]
            query = target[target.index(after: mark)...]
        } else {
            path = target[...]
            query = ""
        }
        self.version = version
        self.headers = headers
        self.body = body
        self.keepAlive = keepAlive
        self.receivedAtNanos = receivedAtNanos
    }
}
