import Foundation

/// One HTTP/1.x response as it came off the wire: status line, header fields in order, and the
/// body framed by `Content-Length`, by chunked coding (de-chunked here), or by the close.
package struct RawResponse: Sendable, CustomStringConvertible {
    /// `HTTP/1.1` or `HTTP/1.0`, as the status line said.
    package let version: String
    package let status: Int
    package let reason: String
    /// Header fields in arrival order, names as sent.
    package let headers: [HTTPField]
    /// The body; for a chunked response, the chunks' data joined.
    package let body: [UInt8]
    /// For a chunked response, the size of each chunk in order, without the last (zero-size)
    /// one; nil when the body was not chunked.
    package let chunkSizes: [Int]?

    /// A header field; a struct rather than a tuple so that it is Equatable and Sendable.
    package struct HTTPField: Sendable, Equatable {
        package let name: String
        package let value: String
    }

    /// The first value of `name`, compared case-insensitively (RFC 9110 §5.1).
    package func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// Every value of `name`, in order.
    package func values(_ name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    /// The body as UTF-8 text.
    package var text: String { String(decoding: body, as: UTF8.self) }

    /// True when the server announced `Connection: close` (RFC 9112 §9.6).
    package var announcesClose: Bool {
        values("Connection").contains { value in
            value.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces).lowercased() == "close" }
        }
    }

    /// The body decoded as a JSON object; throws when it is not one.
    package func jsonObject() throws -> [String: Any] {
        let value = try JSONSerialization.jsonObject(with: Data(body))
        guard let object = value as? [String: Any] else {
            throw TestClientError.malformedResponse("body is not a JSON object: \(text)")
        }
        return object
    }

    /// The `{"message": "...", "error": "..."}` error body every Parley error uses, or nil when
    /// the body does not have exactly that shape with string values.
    package var errorBody: (message: String, error: String)? {
        guard let object = try? jsonObject(), object.count == 2,
              let message = object["message"] as? String, let error = object["error"] as? String else { return nil }
        return (message, error)
    }

    package var description: String {
        "\(version) \(status) \(reason) [\(headers.map { "\($0.name): \($0.value)" }.joined(separator: ", "))] \(text.prefix(300).debugDescription)"
    }
}

/// Reads whole responses out of a byte stream. Shared by `RawClient` and `TLSClient`, which
/// differ only in how they receive bytes.
enum ResponseReader {
    /// Bytes that end a response head.
    private static let headEnd: [UInt8] = Array("\r\n\r\n".utf8)
    private static let crlf: [UInt8] = Array("\r\n".utf8)
    /// Bytes without an end of head after which a response is malformed.
    private static let maxHeadBytes = 256 * 1024

    /// Takes one response from `buffer`, receiving more as needed.
    ///
    /// - Parameters:
    ///   - requestMethod: the method of the request this answers; a response to HEAD has no body
    ///     even when it carries `Content-Length` (RFC 9110 §9.3.2).
    ///   - receive: the next bytes from the peer, or nil at end of stream.
    static func next(
        from buffer: inout [UInt8], requestMethod: String, receive: () throws -> [UInt8]?
    ) throws -> RawResponse {
        var endOfStream = false
        func fill() throws {
            if let more = try receive() { buffer.append(contentsOf: more) } else { endOfStream = true }
        }

        var headLength: Int?
        while headLength == nil {
            if let range = firstRange(of: headEnd, in: buffer) {
                headLength = range.upperBound
            } else {
                if endOfStream { throw TestClientError.closedEarly(received: buffer) }
                // Parley's heads are far smaller; a server sending endless bytes without one
                // would otherwise keep this loop busy, always with data, never at its deadline.
                if buffer.count > maxHeadBytes {
                    throw TestClientError.malformedResponse("no end of head in the first \(buffer.count) bytes")
                }
                try fill()
            }
        }
        let head = String(decoding: buffer[..<(headLength! - 4)], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]), (100...599).contains(status) else {
            throw TestClientError.malformedResponse("status line \(statusLine.debugDescription)")
        }
        var headers: [RawResponse.HTTPField] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else {
                throw TestClientError.malformedResponse("header line without a colon: \(line.debugDescription)")
            }
            headers.append(RawResponse.HTTPField(
                name: String(line[..<colon]),
                value: line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        let partial = RawResponse(
            version: String(parts[0]), status: status, reason: parts.count > 2 ? String(parts[2]) : "",
            headers: headers, body: [], chunkSizes: nil)

        // Body length, RFC 9112 §6.3, from the client's side.
        let bodyLength: Int?
        if requestMethod == "HEAD" || status < 200 || status == 204 || status == 304 {
            bodyLength = 0
        } else if let codings = partial.header("Transfer-Encoding") {
            // Parley only ever sends chunked alone, and never with Content-Length (RFC 9112 §6.1).
            guard partial.values("Transfer-Encoding").count == 1, codings.lowercased() == "chunked",
                  partial.header("Content-Length") == nil else {
                throw TestClientError.malformedResponse("Transfer-Encoding \(partial.values("Transfer-Encoding"))"
                    + " with Content-Length \(partial.values("Content-Length"))")
            }
            let (body, sizes) = try dechunk(from: &buffer, at: headLength!, receive: receive)
            return RawResponse(
                version: partial.version, status: partial.status, reason: partial.reason, headers: headers,
                body: body, chunkSizes: sizes)
        } else if case let lengths = partial.values("Content-Length"), !lengths.isEmpty {
            guard Set(lengths).count == 1, let length = Int(lengths[0]), length >= 0 else {
                throw TestClientError.malformedResponse("Content-Length \(lengths)")
            }
            bodyLength = length
        } else {
            bodyLength = nil  // delimited by the close
        }

        let body: [UInt8]
        if let bodyLength {
            while buffer.count - headLength! < bodyLength {
                if endOfStream { throw TestClientError.closedEarly(received: buffer) }
                try fill()
            }
            body = Array(buffer[headLength!..<(headLength! + bodyLength)])
            buffer.removeFirst(headLength! + bodyLength)
        } else {
            while !endOfStream { try fill() }
            body = Array(buffer[headLength!...])
            buffer.removeAll()
        }
        return RawResponse(
            version: partial.version, status: partial.status, reason: partial.reason, headers: headers,
            body: body, chunkSizes: nil)
    }

    /// Takes a chunked body (RFC 9112 §7.1) starting at `start` out of `buffer`, strictly: each
    /// size is bare hex with no extension, each chunk's data ends with CRLF, no chunk but the
    /// last is empty, and the last has no trailer fields. Anything else is malformed, so tests
    /// check the server's framing by reading with this.
    private static func dechunk(
        from buffer: inout [UInt8], at start: Int, receive: () throws -> [UInt8]?
    ) throws -> (body: [UInt8], sizes: [Int]) {
        func fill() throws {
            guard let more = try receive() else { throw TestClientError.closedEarly(received: buffer) }
            buffer.append(contentsOf: more)
        }
        var offset = start
        var body: [UInt8] = []
        var sizes: [Int] = []
        while true {
            var lineEnd: Int
            while true {
                if let range = firstRange(of: crlf, in: buffer, from: offset) {
                    lineEnd = range.lowerBound
                    break
                }
                try fill()
            }
            let line = String(decoding: buffer[offset..<lineEnd], as: UTF8.self)
            guard !line.isEmpty, line.allSatisfy(\.isHexDigit), let size = Int(line, radix: 16) else {
                throw TestClientError.malformedResponse("chunk-size line \(line.debugDescription)")
            }
            offset = lineEnd + 2
            while buffer.count < offset + size + 2 {
                try fill()
            }
            guard buffer[(offset + size)..<(offset + size + 2)].elementsEqual(crlf) else {
                throw TestClientError.malformedResponse(
                    size == 0 ? "trailer fields after the last chunk" : "chunk data of \(size) bytes not followed by CRLF")
            }
            if size == 0 {
                offset += 2
                break
            }
            sizes.append(size)
            body.append(contentsOf: buffer[offset..<(offset + size)])
            offset += size + 2
        }
        buffer.removeFirst(offset)
        return (body, sizes)
    }

    static func firstRange(of needle: [UInt8], in haystack: [UInt8], from offset: Int = 0) -> Range<Int>? {
        guard haystack.count - offset >= needle.count else { return nil }
        for start in offset...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) { return start..<(start + needle.count) }
        }
        return nil
    }
}
