import Glibc

/// Why a test client (or a test fixture) gave up. Every blocking call in the test clients has a
/// deadline, so a server that never answers fails the test with `.timedOut` instead of hanging it.
package enum TestClientError: Error, CustomStringConvertible, Sendable {
    /// A system call failed.
    case system(errno: Int32, operation: String)
    /// No byte arrived (or none could be sent) before the client's timeout.
    case timedOut(operation: String)
    /// The server closed the connection before a complete response; `received` holds what came.
    case closedEarly(received: [UInt8])
    /// The server answered with something that is not HTTP/1.x.
    case malformedResponse(String)
    /// OpenSSL reported a failure; the reasons come from its error queue.
    case tls(operation: String, reasons: [String])
    /// An external tool (`openssl`, `gzip`) exited with a failure.
    case tool(command: String, status: Int32, output: String)

    package var description: String {
        switch self {
        case .system(let code, let operation):
            "\(operation) failed: \(String(cString: strerror(code))) (errno \(code))"
        case .timedOut(let operation):
            "timed out waiting to \(operation)"
        case .closedEarly(let received):
            "connection closed after \(received.count) byte(s) of an incomplete response: "
                + String(decoding: received.prefix(200), as: UTF8.self).debugDescription
        case .malformedResponse(let reason):
            "malformed response: \(reason)"
        case .tls(let operation, let reasons):
            reasons.isEmpty ? "\(operation) failed" : "\(operation) failed: \(reasons.joined(separator: "; "))"
        case .tool(let command, let status, let output):
            "`\(command)` exited with \(status): \(output)"
        }
    }
}
