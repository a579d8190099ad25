import Synchronization
import Testing
import TestSupport
import Transport

/// Each framing limit enforced over a socket: the answer is a JSON error with
/// `Connection: close`, the connection is then closed (RFC 9112 §9.6: half-close, drain, close,
/// so the client reads the answer rather than a reset), and the server keeps serving others.
@Suite("Limits over the socket")
struct LimitTests {
    static let maxHeaderBytes = 2 * 1024
    static let maxBodyBytes = 64 * 1024

    static var configuration: ServerConfiguration {
        var configuration = ServerConfiguration.testing
        configuration.limits.maxHeaderBytes = maxHeaderBytes
        configuration.limits.maxBodyBytes = maxBodyBytes
        return configuration
    }

    /// One malformed or oversized request and the answer it must get.
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let bytes: String
        let status: Int
        let error: String
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "headers over the limit → 431",
            bytes: request(target: "/big", headers: ["X-Big: " + String(repeating: "a", count: maxHeaderBytes * 2)]),
            status: 431, error: "RequestHeaderFieldsTooLarge"),
        Case(
            name: "Content-Length over the body limit → 413",
            bytes: request("POST", "/upload", headers: ["Content-Length: \(maxBodyBytes + 1)"]),
            status: 413, error: "PayloadTooLarge"),
        Case(
            name: "Content-Length over the limit with Expect: 100-continue → 413, no 100 Continue",
            bytes: request("POST", "/upload", headers: ["Content-Length: \(maxBodyBytes + 1)", "Expect: 100-continue"]),
            status: 413, error: "PayloadTooLarge"),
        Case(
            name: "request line over the header limit → 414",
            bytes: request(target: "/" + String(repeating: "u", count: maxHeaderBytes * 2)),
            status: 414, error: "URITooLong"),
        Case(
            name: "HTTP/2 connection preface → 505",
            bytes: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            status: 505, error: "HTTPVersionNotSupported"),
        Case(
            name: "Content-Length with Transfer-Encoding → 400",
            bytes: request("POST", "/smuggle", headers: ["Content-Length: 5", "Transfer-Encoding: chunked"], body: "0\r\n\r\n"),
            status: 400, error: "BadRequest"),
        Case(
            name: "conflicting Content-Length values → 400",
            bytes: request("POST", "/smuggle", headers: ["Content-Length: 5", "Content-Length: 6"], body: "hello!"),
            status: 400, error: "BadRequest"),
    ]

    @Test(arguments: cases)
    func limitViolationGetsJSONErrorThenCloseAndServerKeepsServing(_ violation: Case) throws {
        let reachedResponder = Mutex<[String]>([])
        let responder = ClosureResponder.sync { request in
            reachedResponder.withLock { $0.append(request.target) }
            return HTTPResponse(status: 200, body: Array(request.target.utf8))
        }
        try withTestServer(configuration: Self.configuration, responder: responder) { server in
            let client = try server.connect()
            try client.send(violation.bytes)
            let response = try client.readResponse()
            expectJSONError(response, status: violation.status, error: violation.error)
            #expect(try client.readUntilClose() == [], "bytes after the error response")
            #expect(!client.sawReset, "the server reset the connection instead of closing it")
            try expectServesNewConnection(server)
            #expect(reachedResponder.withLock { $0 } == ["/still-serving"])
        }
    }

    @Test func gzipBombGets413WithoutReachingTheResponder() throws {
        let bomb = try Gzip.compress([UInt8](repeating: 0, count: 1 << 20))
        // Small on the wire, so only the decoded size can trip the limit.
        try #require(bomb.count < Self.maxBodyBytes)
        let reachedResponder = Mutex(0)
        let responder = ClosureResponder.sync { _ in
            reachedResponder.withLock { $0 += 1 }
            return HTTPResponse(status: 200)
        }
        try withTestServer(configuration: Self.configuration, responder: responder) { server in
            let client = try server.connect()
            let head = request("POST", "/ingest", headers: ["Content-Encoding: gzip", "Content-Length: \(bomb.count)"])
            try client.send(Array(head.utf8) + bomb)
            expectJSONError(try client.readResponse(), status: 413, error: "PayloadTooLarge")
            #expect(try client.readUntilClose() == [])
            #expect(reachedResponder.withLock { $0 } == 0)
            try expectServesNewConnection(server)
        }
    }

    @Test func gzipBodyWithinTheLimitIsDecodedForTheResponder() throws {
        // The control for the bomb test: the same path with a small body does reach the responder.
        let text = String(repeating: "parley ", count: 1000)
        let compressed = try Gzip.compress(Array(text.utf8))
        let responder = ClosureResponder.sync { request in
            HTTPResponse(status: 200, body: Array("\(request.body.count) \(request.headers["Content-Encoding"] ?? "-")".utf8))
        }
        try withTestServer(configuration: Self.configuration, responder: responder) { server in
            let client = try server.connect()
            let head = request("POST", "/ingest", headers: ["Content-Encoding: gzip", "Content-Length: \(compressed.count)"])
            try client.send(Array(head.utf8) + compressed)
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(response.text == "\(text.utf8.count) -")
        }
    }
}
