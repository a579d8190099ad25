/// A response produced by a handler. The transport adds `Date`, `Server`, `Content-Length` (or,
/// for a streamed body, `Transfer-Encoding`) and `Connection`; handlers set everything else.
package struct HTTPResponse: Sendable {
    package var status: Int
    package var headers: HTTPHeaders
    package var body: [UInt8]
    /// A body produced while it is sent, with no `Content-Length`; when set, `body` is ignored.
    /// HTTP/1.1 clients get it chunked (RFC 9112 §7.1), HTTP/1.0 clients delimited by the close
    /// (RFC 9112 §6.3 rule 8). HEAD requests and 1xx, 204 and 304 answers never pull from it.
    package var stream: HTTPBodyStream?

    package init(status: Int, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A response whose body `stream` produces while it is sent.
    package init(status: Int, headers: HTTPHeaders = [:], stream: HTTPBodyStream) {
        self.status = status
        self.headers = headers
        self.body = []
        self.stream = stream
    }

    /// A JSON error body in the shape every Parley error uses: `{"message": "...", "error": "..."}`.
    package static func jsonError(status: Int, error: String, message: String, headers: HTTPHeaders = [:]) -> HTTPResponse {
        var headers = headers
        headers.set("Content-Type", "application/json")
        let body = "{\"message\":\(JSONText.quote(message)),\"error\":\(JSONText.quote(error))}"
        return HTTPResponse(status: status, headers: headers, body: Array(body.utf8))
    }
}

/// Minimal JSON string escaping for bodies the transport writes itself (it has no JSON encoder).
package enum JSONText {
    /// `text` as a quoted JSON string (RFC 8259 §7).
    package static func quote(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
        return out
    }
}

/// Reason phrases for the statuses Parley sends (RFC 9110 §15). Clients ignore the phrase.
enum HTTPStatusText {
    static func reason(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 207: "Multi-Status"
        case 304: "Not Modified"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 415: "Unsupported Media Type"
        case 417: "Expectation Failed"
        case 422: "Unprocessable Content"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 503: "Service Unavailable"
        case 505: "HTTP Version Not Supported"
        default: "Status \(status)"
        }
    }
}
