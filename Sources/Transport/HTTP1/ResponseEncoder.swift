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
        appendStart(response, date: date, serverName: serverName, dropTransferEncoding: false, into: &output)
        let noContent = hasNoContent(response.status)
        if !noContent {
            appendASCII("Content-Length: ", to: &output)
            appendASCII(String(response.body.count), to: &output)
            output.append(contentsOf: crlf)
        }
        appendConnection(keepAlive: keepAlive, version: version, into: &output)
        output.append(contentsOf: crlf)
        if !omitBody && !noContent { output.append(contentsOf: response.body) }
    }

    /// Appends the head of a response whose body follows as a stream, with no `Content-Length`.
    ///
    /// - Parameters:
    ///   - chunked: announce `Transfer-Encoding: chunked` (RFC 9112 §6.1); false when the body is
    ///     delimited by the close (HTTP/1.0, where `keepAlive` must be false) or there is none.
    ///     Never true for 1xx and 204, which must not carry it. A handler's own
    ///     `Transfer-Encoding` is dropped: the transport frames the body.
    static func encodeStreamHead(
        _ response: HTTPResponse, chunked: Bool, keepAlive: Bool, version: HTTPVersion,
        date: [UInt8], serverName: String, into output: inout [UInt8]
    ) {
        output.reserveCapacity(output.count + 160)
        appendStart(response, date: date, serverName: serverName, dropTransferEncoding: true, into: &output)
        if chunked { output.append(contentsOf: transferEncodingChunked) }
        appendConnection(keepAlive: keepAlive, version: version, into: &output)
        output.append(contentsOf: crlf)
    }

    /// Appends one chunk of a chunked body: hex size, CRLF, the data, CRLF (RFC 9112 §7.1).
    /// `data` must not be empty: a zero-size chunk ends the body.
    static func appendChunk(_ data: [UInt8], to output: inout [UInt8]) {
        precondition(!data.isEmpty, "an empty chunk would end the body")  // callers skip empty pieces
        output.reserveCapacity(output.count + data.count + 12)
        appendASCII(String(data.count, radix: 16), to: &output)
        output.append(contentsOf: crlf)
        output.append(contentsOf: data)
        output.append(contentsOf: crlf)
    }

    /// True for statuses that never have content (RFC 9110 §15.2, §15.3.5, §15.4.5).
    static func hasNoContent(_ status: Int) -> Bool {
        status == 204 || status == 304 || status < 200
    }

    static let crlf: [UInt8] = [.cr, .lf]
    static let connectionClose: [UInt8] = Array("Connection: close\r\n".utf8)
    static let connectionKeepAlive: [UInt8] = Array("Connection: keep-alive\r\n".utf8)
    static let continueResponse: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
    static let transferEncodingChunked: [UInt8] = Array("Transfer-Encoding: chunked\r\n".utf8)
    /// The last chunk with an empty trailer section (RFC 9112 §7.1).
    static let lastChunk: [UInt8] = Array("0\r\n\r\n".utf8)

    /// Status line, `Server`, `Date` and the handler's fields except those the transport sets.
    @inline(__always)
    private static func appendStart(
        _ response: HTTPResponse, date: [UInt8], serverName: String, dropTransferEncoding: Bool,
        into output: inout [UInt8]
    ) {
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
            if dropTransferEncoding && name.equalsIgnoringASCIICase("Transfer-Encoding") { continue }
            appendASCII(name, to: &output)
            appendASCII(": ", to: &output)
            appendASCII(value, to: &output)
            output.append(contentsOf: crlf)
        }
    }

    @inline(__always)
    private static func appendConnection(keepAlive: Bool, version: HTTPVersion, into output: inout [UInt8]) {
        if !keepAlive {
            output.append(contentsOf: connectionClose)
        } else if version == .http1_0 {
            output.append(contentsOf: connectionKeepAlive)
        }
    }

    @inline(__always)
    private static func appendASCII(_ text: String, to output: inout [UInt8]) {
        // Header values are written as UTF-8; CR and LF are stripped so a value can never end
        // the head early (response splitting).
        for byte in text.utf8 where byte != .cr && byte != .lf { output.append(byte) }
    }
}
