/// Serialises a response head and body into wire bytes (RFC 9112 §4, §6).
enum ResponseEncoder {
    /// Appends the response to `output`.
    ///
    /// - Parameters:
    ///   - omitBody: true for HEAD requests and statuses that have no content (1xx, 204, 304):
    ///     `Content-Length` still describes the body a GET would have had (RFC 9110 §9.3.2).
    static func encode(
        _ response: HTTPResponse, keepAlive: Bool, version: HTTPVersion, omitBody: Bool,
        date: [UInt8], serverName: String, into output: inout [UInt8]
    ) {
        output.reserveCapacity(output.count + 160 + response.body.count)
        appendASCII("HTTP/1.1 ", to: &output)
        appendASCII(String(response.status), to: &output)
        output.append(.space)
        appendASCII(HTTPStatusText.reason(response.status), to: &output)
        output.append(contentsOf: crlf)
        appendASCII("Server: ", to: &output)
        appendASCII(serverName, to: &output)
        output.append(contentsOf: crlf)
        appendASCII("Date: ", to: &output)
        output.append(contentsOf: date)
        output.append(contentsOf: crlf)
        for (name, value) in response.headers {
            if name.equalsIgnoringASCIICase("Content-Length") || name.equalsIgnoringASCIICase("Connection") { continue }
            appendASCII(name, to: &output)
            appendASCII(": ", to: &output)
            appendASCII(value, to: &output)
            output.append(contentsOf: crlf)
        }
        let noContent = response.status == 204 || response.status == 304 || response.status < 200
        if !noContent {
            appendASCII("Content-Length: ", to: &output)
            appendASCII(String(response.body.count), to: &output)
            output.append(contentsOf: crlf)
        }
        if !keepAlive {
            output.append(contentsOf: connectionClose)
        } else if version == .http1_0 {
            output.append(contentsOf: connectionKeepAlive)
        }
        output.append(contentsOf: crlf)
        if !omitBody && !noContent { output.append(contentsOf: response.body) }
    }

    static let crlf: [UInt8] = [.cr, .lf]
    static let connectionClose: [UInt8] = Array("Connection: close\r\n".utf8)
    static let connectionKeepAlive: [UInt8] = Array("Connection: keep-alive\r\n".utf8)
    static let continueResponse: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    @inline(__always)
    private static func appendASCII(_ text: String, to output: inout [UInt8]) {
        // Header values are written as UTF-8; CR and LF are stripped so a value can never end
        // the head early (response splitting).
        for byte in text.utf8 where byte != .cr && byte != .lf { output.append(byte) }
    }
}
