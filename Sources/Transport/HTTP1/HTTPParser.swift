/// An incremental HTTP/1.1 request parser (RFC 9112).
///
/// Bytes go in through `append(_:)`; `next()` returns one step at a time. The parser remembers how
/// far it has scanned, so a client that sends its headers one byte at a time costs linear, not
/// quadratic, work. It is a plain value with no I/O: tests feed it bytes split at every offset.
package struct HTTPParser: Sendable {
    /// Size limits the parser enforces while framing.
    package struct Limits: Sendable {
        /// Request line plus header fields, and separately the trailer section (→ 431, or 414
        /// when the request line alone is longer).
        package var maxHeaderBytes: Int = 16 * 1024
        /// Number of header fields (→ 431).
        package var maxHeaderCount: Int = 100
        /// Body size, both on the wire and after `Content-Encoding` is undone (→ 413).
        package var maxBodyBytes: Int = 16 * 1024 * 1024
        /// A chunk-size line including extensions (→ 400).
        package var maxChunkLineBytes: Int = 1024

        package init() {}
    }

    /// What `next()` found.
    package enum Step: Sendable {
        /// The buffered bytes do not yet hold a complete request.
        case needMore
        /// A head with `Expect: 100-continue` arrived and its body has not: send `100 Continue`.
        case continueExpected
        /// One complete request; its bytes have been consumed.
        case request(HTTPRequest)
    }

    private struct Head {
        var method: String
        var target: String
        var version: HTTPVersion
        var headers: HTTPHeaders
        var keepAlive: Bool
        var contentCodings: [String]
        var expectContinue: Bool
    }

    private enum State {
        /// Looking for the end of the head; `scanned` bytes after `readIndex` hold no CRLFCRLF.
        case head(scanned: Int)
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers(scanned: Int)
    }

    package let limits: Limits
    private var buffer: [UInt8] = []
    private var readIndex = 0
    private var state: State = .head(scanned: 0)
    private var head: Head?
    private var body: [UInt8] = []

    package init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Bytes received but not yet consumed by a complete request.
    package var bufferedByteCount: Int { buffer.count - readIndex }

    /// True between requests: no partial request is buffered. Idle connections get the keep-alive
    /// timeout; anything else gets the (shorter) request-read timeout.
    package var isIdle: Bool {
        if case .head = state { return bufferedByteCount == 0 }
        return false
    }

    /// Adds received bytes.
    package mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    package mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    private mutating func compact() {
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 64 * 1024)
            readIndex = 0
        } else if readIndex > 64 * 1024 {
            buffer.removeSubrange(0..<readIndex)
            readIndex = 0
        }
    }

    /// Advances as far as the buffered bytes allow.
    package mutating func next() throws(HTTPParseError) -> Step {
        while true {
            switch state {
            case .head(let scanned):
                guard let step = try parseHead(scanned: scanned) else { return .needMore }
                if case .continueExpected = step { return step }
            case .fixedBody(let remaining):
                let take = min(remaining, bufferedByteCount)
                consumeIntoBody(take)
                if take < remaining {
                    state = .fixedBody(remaining: remaining - take)
                    return .needMore
                }
                return .request(try finishRequest())
            case .chunkSize:
                guard try parseChunkSize() else { return .needMore }
            case .chunkData(let remaining):
                let take = min(remaining, bufferedByteCount)
                consumeIntoBody(take)
                if take < remaining {
                    state = .chunkData(remaining: remaining - take)
                    return .needMore
                }
                state = .chunkDataEnd
            case .chunkDataEnd:
                guard bufferedByteCount >= 2 else { return .needMore }
                guard buffer[readIndex] == .cr, buffer[readIndex + 1] == .lf else {
                    throw .badRequest("chunk data is not followed by CRLF")
                }
                readIndex += 2
                state = .chunkSize
            case .trailers(let scanned):
                guard try parseTrailers(scanned: scanned) else { return .needMore }
                return .request(try finishRequest())
            }
        }
    }

    private mutating func consumeIntoBody(_ count: Int) {
        guard count > 0 else { return }
        body.append(contentsOf: buffer[readIndex..<(readIndex + count)])
        readIndex += count
    }

    // MARK: - Head

    /// Returns nil when more bytes are needed, `.continueExpected` when the caller should send
    /// `100 Continue`, and `.needMore` (never returned to callers) once the body state is set.
    private mutating func parseHead(scanned: Int) throws(HTTPParseError) -> Step? {
        // RFC 9112 §2.2: a server SHOULD ignore at least one empty line received before the request-line.
        if scanned == 0 {
            while bufferedByteCount >= 2, buffer[readIndex] == .cr, buffer[readIndex + 1] == .lf {
                readIndex += 2
            }
        }
        guard let end = findHeadEnd(from: readIndex + scanned) else {
            let available = bufferedByteCount
            if available > limits.maxHeaderBytes {
                throw findCRLF(from: readIndex, limit: limits.maxHeaderBytes) == nil ? .uriTooLong : .headersTooLarge
            }
            state = .head(scanned: max(0, available - 3))
            return nil
        }
        // `end` is the index of the CRLFCRLF; the head spans readIndex..<end+4.
        if end + 4 - readIndex > limits.maxHeaderBytes {
            throw findCRLF(from: readIndex, limit: limits.maxHeaderBytes) == nil ? .uriTooLong : .headersTooLarge
        }
        let parsed = try buffer.withUnsafeBufferPointer { bytes throws(HTTPParseError) in
            try Self.parseHeadBytes(UnsafeBufferPointer(rebasing: bytes[readIndex..<(end + 2)]), limits: limits)
        }
        readIndex = end + 4
        body = []
        head = parsed.head

        switch parsed.framing {
        case .none:
            state = .fixedBody(remaining: 0)
            return .needMore
        case .length(let length):
            state = .fixedBody(remaining: length)
        case .chunked:
            state = .chunkSize
        }
        if parsed.head.expectContinue && bufferedByteCount == 0 {
            return .continueExpected
        }
        return .needMore
    }

    private func findHeadEnd(from start: Int) -> Int? {
        guard buffer.count >= 4, start <= buffer.count - 4 else { return nil }
        return buffer.withUnsafeBufferPointer { bytes in
            var index = start
            let last = bytes.count - 4
            while index <= last {
                if bytes[index + 3] != .lf {
                    // No match can start at index...index+2 unless bytes[index+3] is CR (then one at
                    // index+1 or index+3 is still possible); otherwise all four starts are ruled out.
                    index += bytes[index + 3] == .cr ? 1 : 4
                    continue
                }
                if bytes[index] == .cr && bytes[index + 1] == .lf && bytes[index + 2] == .cr { return index }
                index += 1
            }
            return nil
        }
    }

    private func findCRLF(from start: Int, limit: Int) -> Int? {
        let end = min(buffer.count - 1, start + limit)
        var index = start
        while index < end {
            if buffer[index] == .cr && buffer[index + 1] == .lf { return index }
            index += 1
        }
        return nil
    }

    private enum Framing {
        case none
        case length(Int)
        case chunked
    }

    /// Parses `bytes` = request line and fields, each ending in CRLF (the final empty line excluded).
    private static func parseHeadBytes(
        _ bytes: UnsafeBufferPointer<UInt8>, limits: Limits
    ) throws(HTTPParseError) -> (head: Head, framing: Framing) {
        var lines = LineReader(bytes: bytes)
        guard let requestLine = try lines.next() else { throw .badRequest("empty request line") }
        let (method, target, version) = try parseRequestLine(requestLine)

        var headers = HTTPHeaders()
        while let line = try lines.next() {
            if headers.count >= limits.maxHeaderCount { throw .headersTooLarge }
            let (name, value) = try parseField(line)
            headers.add(name, value)
        }

        // Connection persistence, RFC 9112 §9.3.
        let connection = headers.tokens("Connection")
        let keepAlive: Bool
        if connection.contains("close") {
            keepAlive = false
        } else {
            keepAlive = version == .http1_1 || connection.contains("keep-alive")
        }

        // RFC 9112 §3.2: a server MUST respond 400 to an HTTP/1.1 request without exactly one Host.
        let hosts = headers.values("Host")
        if version == .http1_1 && hosts.count != 1 {
            throw .badRequest(hosts.isEmpty ? "missing Host header" : "more than one Host header")
        }
        if hosts.count > 1 { throw .badRequest("more than one Host header") }

        let framing = try framing(of: headers, version: version, limits: limits)

        // RFC 9110 §10.1.1: 100-continue is the only expectation; HTTP/1.0 expectations are ignored.
        var expectContinue = false
        if version == .http1_1, let expect = headers["Expect"] {
            guard expect.trimmingOWS().equalsIgnoringASCIICase("100-continue") else { throw .expectationFailed }
            if case .none = framing {} else { expectContinue = true }
        }

        let codings = headers.tokens("Content-Encoding").filter { $0 != "identity" }
        let head = Head(
            method: method, target: target, version: version, headers: headers,
            keepAlive: keepAlive, contentCodings: codings, expectContinue: expectContinue)
        return (head, framing)
    }

    /// Message body length, RFC 9112 §6.1–6.3, rejecting the shapes used for request smuggling.
    private static func framing(of headers: HTTPHeaders, version: HTTPVersion, limits: Limits) throws(HTTPParseError) -> Framing {
        let transferEncodings = headers.values("Transfer-Encoding")
        let contentLengths = headers.values("Content-Length")
        if !transferEncodings.isEmpty {
            if !contentLengths.isEmpty {
                throw .badRequest("both Content-Length and Transfer-Encoding are present")
            }
            if version == .http1_0 {
                throw .badRequest("Transfer-Encoding in an HTTP/1.0 request")
            }
            let codings = headers.tokens("Transfer-Encoding")
            guard codings.last == "chunked" else {
                throw .badRequest("chunked is not the final transfer coding")
            }
            if codings.count > 1 {
                if codings.dropLast().contains("chunked") { throw .badRequest("chunked is applied more than once") }
                throw .notImplemented("transfer coding '\(codings.dropLast().joined(separator: ", "))'")
            }
            return .chunked
        }
        guard !contentLengths.isEmpty else { return .none }
        // RFC 9110 §8.6: a list of identical values may be accepted; anything else is invalid.
        var length: Int?
        for field in contentLengths {
            for part in field.split(separator: ",", omittingEmptySubsequences: false) {
                let digits = part.trimmingOWS()
                guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= .zero && $0 <= .nine }) else {
                    throw .badRequest("malformed Content-Length")
                }
                // More than 15 significant digits cannot be within any sane limit; this also avoids
                // overflow. Leading zeros are valid (1*DIGIT) and do not count.
                guard digits.drop(while: { $0 == "0" }).utf8.count <= 15, let value = Int(digits) else {
                    throw .bodyTooLarge
                }
                if let existing = length, existing != value {
                    throw .badRequest("conflicting Content-Length values")
                }
                length = value
            }
        }
        guard let length else { throw .badRequest("malformed Content-Length") }
        if length > limits.maxBodyBytes { throw .bodyTooLarge }
        return length == 0 ? .none : .length(length)
    }

    private static func parseRequestLine(_ line: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> (String, String, HTTPVersion) {
        guard let firstSpace = line.firstIndex(of: .space) else { throw .badRequest("malformed request line") }
        let methodBytes = UnsafeBufferPointer(rebasing: line[..<firstSpace])
        guard !methodBytes.isEmpty, methodBytes.allSatisfy(\.isTokenChar) else {
            throw .badRequest("invalid method")
        }
        let rest = UnsafeBufferPointer(rebasing: line[(firstSpace + 1)...])
        guard let secondSpace = rest.firstIndex(of: .space) else { throw .badRequest("malformed request line") }
        let targetBytes = UnsafeBufferPointer(rebasing: rest[..<secondSpace])
        let versionBytes = UnsafeBufferPointer(rebasing: rest[(secondSpace + 1)...])
        guard !targetBytes.isEmpty, targetBytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .badRequest("invalid request target")
        }
        let version = try parseVersion(versionBytes)
        var target = String(decoding: targetBytes, as: UTF8.self)
        if target.first != "/" && target != "*" {
            // Absolute-form (RFC 9112 §3.2.2): keep only the path and query.
            guard let schemeEnd = Self.indexAfterScheme(target) else { throw .badRequest("invalid request target") }
            let afterAuthority = target[schemeEnd...].firstIndex(where: { $0 == "/" || $0 == "?" })
            target = afterAuthority.map { target[$0] == "/" ? String(target[$0...]) : "/" + target[$0...] } ?? "/"
        }
        return (String(decoding: methodBytes, as: UTF8.self), target, version)
    }

    /// The index just past `scheme://` in an absolute-form target.
    private static func indexAfterScheme(_ target: String) -> String.Index? {
        guard let colon = target.firstIndex(of: ":") else { return nil }
        let rest = target[colon...]
        guard rest.hasPrefix("://") else { return nil }
        return target.index(colon, offsetBy: 3)
    }

    private static func parseVersion(_ bytes: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> HTTPVersion {
        // HTTP-version = "HTTP" "/" DIGIT "." DIGIT (RFC 9112 §2.3).
        guard bytes.count == 8, bytes[0] == UInt8(ascii: "H"), bytes[1] == UInt8(ascii: "T"),
              bytes[2] == UInt8(ascii: "T"), bytes[3] == UInt8(ascii: "P"), bytes[4] == UInt8(ascii: "/"),
              bytes[5].isDigit, bytes[6] == UInt8(ascii: "."), bytes[7].isDigit
        else { throw .badRequest("malformed HTTP version") }
        guard bytes[5] == UInt8(ascii: "1") else { throw .versionNotSupported }
        return bytes[7] == UInt8(ascii: "0") ? .http1_0 : .http1_1
    }

    private static func parseField(_ line: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> (String, String) {
        if let first = line.first, first == .space || first == .tab {
            // RFC 9112 §5.2: obsolete line folding; we reject rather than guess.
            throw .badRequest("obsolete line folding in header fields")
        }
        guard let colon = line.firstIndex(of: .colon) else { throw .badRequest("header field without a colon") }
        let nameBytes = UnsafeBufferPointer(rebasing: line[..<colon])
        // RFC 9112 §5.1: no whitespace is allowed between the field name and colon.
        guard !nameBytes.isEmpty, nameBytes.allSatisfy(\.isTokenChar) else {
            throw .badRequest("invalid header field name")
        }
        var start = colon + 1
        var end = line.count
        while start < end, line[start] == .space || line[start] == .tab { start += 1 }
        while end > start, line[end - 1] == .space || line[end - 1] == .tab { end -= 1 }
        let valueBytes = UnsafeBufferPointer(rebasing: line[start..<end])
        for byte in valueBytes where byte != .tab && (byte < 0x20 || byte == 0x7F) {
            throw .badRequest("control character in header field value")
        }
        return (String(decoding: nameBytes, as: UTF8.self), String(decoding: valueBytes, as: UTF8.self))
    }

    // MARK: - Chunked body (RFC 9112 §7.1)

    private mutating func parseChunkSize() throws(HTTPParseError) -> Bool {
        // maxChunkLineBytes bounds chunk-size plus extensions; the CRLF comes on top, so a CR may sit
        // at offset maxChunkLineBytes and the LF one further.
        guard let lineEnd = findCRLF(from: readIndex, limit: limits.maxChunkLineBytes + 1) else {
            if bufferedByteCount > limits.maxChunkLineBytes + 1 { throw .badRequest("chunk size line too long") }
            return false
        }
        var size = 0
        var index = readIndex
        var digits = 0
        var significantDigits = 0
        while index < lineEnd, let value = buffer[index].hexValue {
            digits += 1
            // chunk-size = 1*HEXDIG allows leading zeros; 15 significant hex digits already exceed
            // any body limit, so stop there before Int overflows.
            if significantDigits > 0 || value != 0 { significantDigits += 1 }
            guard significantDigits <= 15 else { throw .bodyTooLarge }
            size = size << 4 | value
            index += 1
        }
        guard digits > 0 else { throw .badRequest("malformed chunk size") }
        // What follows the size may only be chunk extensions: BWS ";" ...
        while index < lineEnd, buffer[index] == .space || buffer[index] == .tab { index += 1 }
        if index < lineEnd {
            guard buffer[index] == .semicolon else { throw .badRequest("malformed chunk size") }
            for byte in buffer[index..<lineEnd] where byte != .tab && (byte < 0x20 || byte == 0x7F) {
                throw .badRequest("control character in chunk extension")
            }
        }
        readIndex = lineEnd + 2
        if size == 0 {
            state = .trailers(scanned: 0)
        } else {
            if body.count + size > limits.maxBodyBytes { throw .bodyTooLarge }
            state = .chunkData(remaining: size)
        }
        return true
    }

    private mutating func parseTrailers(scanned: Int) throws(HTTPParseError) -> Bool {
        guard bufferedByteCount >= 2 else { return false }
        if scanned == 0, buffer[readIndex] == .cr, buffer[readIndex + 1] == .lf {
            readIndex += 2
            return true
        }
        guard let end = findHeadEnd(from: readIndex + scanned) else {
            if bufferedByteCount > limits.maxHeaderBytes { throw .headersTooLarge }
            state = .trailers(scanned: max(0, bufferedByteCount - 3))
            return false
        }
        if end + 4 - readIndex > limits.maxHeaderBytes { throw .headersTooLarge }
        // Trailer fields are validated for syntax and then dropped: nothing in Parley reads them.
        try buffer.withUnsafeBufferPointer { bytes throws(HTTPParseError) in
            var lines = LineReader(bytes: UnsafeBufferPointer(rebasing: bytes[readIndex..<(end + 2)]))
            while let line = try lines.next() { _ = try Self.parseField(line) }
        }
        readIndex = end + 4
        return true
    }

    // MARK: - Completion

    private mutating func finishRequest() throws(HTTPParseError) -> HTTPRequest {
        guard let head else { preconditionFailure("body state without a parsed head") }
        self.head = nil
        state = .head(scanned: 0)
        var headers = head.headers
        var decoded = body
        body = []
        if !head.contentCodings.isEmpty {
            decoded = try ContentDecoder.decode(decoded, codings: head.contentCodings, limit: limits.maxBodyBytes)
            // The body handed on is decoded; drop the header so nothing decodes it twice, and make
            // Content-Length describe what the handler actually receives.
            headers.remove("Content-Encoding")
            if headers.contains("Content-Length") { headers.set("Content-Length", String(decoded.count)) }
        }
        return HTTPRequest(
            method: head.method, target: head.target, version: head.version,
            headers: headers, body: decoded, keepAlive: head.keepAlive)
    }
}

/// Splits a head into CRLF-terminated lines, rejecting bare CR or LF (RFC 9112 §2.2).
private struct LineReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0

    mutating func next() throws(HTTPParseError) -> UnsafeBufferPointer<UInt8>? {
        guard position < bytes.count else { return nil }
        var index = position
        while index < bytes.count {
            let byte = bytes[index]
            if byte == .cr {
                guard index + 1 < bytes.count, bytes[index + 1] == .lf else { throw .badRequest("bare CR in header section") }
                let line = UnsafeBufferPointer(rebasing: bytes[position..<index])
                position = index + 2
                return line
            }
            if byte == .lf { throw .badRequest("bare LF in header section") }
            if byte == 0 { throw .badRequest("NUL in header section") }
            index += 1
        }
        throw .badRequest("unterminated header line")
    }
}

extension UInt8 {
    static let cr = UInt8(ascii: "\r")
    static let lf = UInt8(ascii: "\n")
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")
    static let colon = UInt8(ascii: ":")
    static let semicolon = UInt8(ascii: ";")
    static let zero = UInt8(ascii: "0")
    static let nine = UInt8(ascii: "9")

    var isDigit: Bool { self >= .zero && self <= .nine }

    var hexValue: Int? {
        switch self {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(self - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(self - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(self - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// tchar, RFC 9110 §5.6.2.
    var isTokenChar: Bool {
        switch self {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), .zero ... .nine: true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"): true
        default: false
        }
    }
}

extension HTTPParser {
    /// True while a body is being received (the head is already parsed).
    package var isReadingBody: Bool {
        if case .head = state { return false }
        return true
    }
}
