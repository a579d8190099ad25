import Testing
import TestSupport

/// Request text for tests: a request line, `Host`, any extra fields, the empty line, the body.
/// Line ends are CRLF as RFC 9112 §2.1 requires.
func request(
    _ method: String, _ target: String, version: String = "HTTP/1.1",
    headers: [String] = [], body: String = ""
) -> String {
    var text = "\(method) \(target) \(version)\r\nHost: 127.0.0.1\r\n"
    for field in headers { text += field + "\r\n" }
    if !body.isEmpty && !headers.contains(where: { $0.lowercased().hasPrefix("content-length:") }) {
        text += "Content-Length: \(body.utf8.count)\r\n"
    }
    return text + "\r\n" + body
}

/// A GET request's text; see `request(_:_:version:headers:body:)`.
func request(target: String, version: String = "HTTP/1.1", headers: [String] = []) -> String {
    request("GET", target, version: version, headers: headers)
}

/// Checks that a brand-new connection to `server` gets a normal answer: after a client was
/// rejected, timed out or misbehaved, the server must still serve everyone else.
func expectServesNewConnection(
    _ server: TestServer, path: String = "/still-serving", sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let client = try server.connect()
    defer { client.close() }
    let response = try client.request(request(target: path))
    #expect(response.status == 200, "a new connection was not served: \(response)", sourceLocation: sourceLocation)
}

/// Checks the shape every transport-generated error has: the status, a JSON body of exactly
/// `{"message": ..., "error": ...}`, a request id, and `Connection: close`.
func expectJSONError(
    _ response: RawResponse, status: Int, error: String, sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(response.status == status, "\(response)", sourceLocation: sourceLocation)
    #expect(response.header("Content-Type") == "application/json", sourceLocation: sourceLocation)
    #expect(response.errorBody?.error == error, "body: \(response.text)", sourceLocation: sourceLocation)
    #expect(response.errorBody?.message.isEmpty == false, sourceLocation: sourceLocation)
    #expect(response.announcesClose, "no Connection: close on \(response)", sourceLocation: sourceLocation)
    #expect(response.header("X-Request-Id")?.isEmpty == false, "no X-Request-Id on \(response)", sourceLocation: sourceLocation)
}
