import Testing
@testable import Transport

@Suite("HTTPParser: every 4xx and 5xx")
struct HTTPParserErrorTests {
    // MARK: - Status mapping

    @Test
    func mapsEachErrorToOneStatus() {
        #expect(HTTPParseError.badRequest("x").status == 400)
        #expect(HTTPParseError.uriTooLong.status == 414)
        #expect(HTTPParseError.headersTooLarge.status == 431)
        #expect(HTTPParseError.bodyTooLarge.status == 413)
        #expect(HTTPParseError.notImplemented("x").status == 501)
        #expect(HTTPParseError.unsupportedMediaType("x").status == 415)
        #expect(HTTPParseError.expectationFailed.status == 417)
        #expect(HTTPParseError.versionNotSupported.status == 505)
    }

    // MARK: - Request line

    @Test(arguments: [
        "GET /\r\nHost: h\r\n\r\n",
        "GET\r\nHost: h\r\n\r\n",
        "OPTIONS *\r\nHost: h\r\n\r\n",
    ])
    func rejectsRequestLineWithoutThreeParts(_ text: String) {
        expectBadRequest(text, mentioning: "malformed")
    }

    @Test
    func rejectsRequestLineWithDoubleSpace() {
        expectBadRequest("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", mentioning: "request target")
        expectBadRequest("GET / HTTP/1.1 \r\nHost: h\r\n\r\n", mentioning: "version")
    }

    @Test(arguments: ["GE(T", "G\"T", "GET/", "G@T", "GE:T", "G\u{7F}T", "GÉT"])
    func rejectsMethodWithNonTokenCharacters(_ method: String) {
        expectBadRequest("\(method) / HTTP/1.1\r\nHost: h\r\n\r\n", mentioning: "invalid method")
    }

    @Test
    func rejectsRequestLineStartingWithSpace() {
        expectBadRequest(" GET / HTTP/1.1\r\nHost: h\r\n\r\n", mentioning: "invalid method")
    }

    @Test(arguments: ["/a\u{7F}b", "/caf\u{E9}", "/a\u{01}b"])
    func rejectsTargetWithControlOrNonASCIIBytes(_ target: String) {
        expectBadRequest("GET \(target) HTTP/1.1\r\nHost: h\r\n\r\n", mentioning: "request target")
    }

    @Test
    func rejectsTargetThatIsNeitherOriginNorAbsoluteForm() {
        expectBadRequest("GET example.com:443 HTTP/1.1\r\nHost: h\r\n\r\n", mentioning: "request target")
        expectBadRequest("GET mailto:someone HTTP/1.1\r\nHost: h\r\n\r\n", mentioning: "request target")
    }

    @Test(arguments: ["HTTP/1.x", "HTTQ/1.1", "http/1.1", "HTTP/11", "HTTP/1.10", "HTTP/1", "HTTP-1.1", "HTTP/1.1.1", "HTTP/a.1"])
    func rejectsGarbageVersionWith400(_ version: String) {
        expectBadRequest("GET / \(version)\r\nHost: h\r\n\r\n", mentioning: "version")
    }

    @Test(arguments: ["HTTP/2.0", "HTTP/3.0", "HTTP/0.9", "HTTP/9.1"])
    func rejectsOtherMajorVersionsWith505(_ version: String) {
        expectError(.versionNotSupported, "GET / \(version)\r\nHost: h\r\n\r\n")
    }

    @Test
    func returns414WhenRequestLineExceedsHeaderLimit() {
        let limits = HTTPParser.Limits.with { $0.maxHeaderBytes = 64 }
        let longTarget = "/" + String(repeating: "a", count: 100)
        // Complete request line and head in the buffer…
        expectError(.uriTooLong, "GET \(longTarget) HTTP/1.1\r\nHost: h\r\n\r\n", limits: limits)
        // …and a request line still arriving.
        expectError(.uriTooLong, "GET \(longTarget)", limits: limits)
        #expect(expectSameResultWhateverTheSplit(raw("GET \(longTarget) HTTP/1.1\r\nHost: h\r\n\r\n"), limits: limits)
            .error == .uriTooLong)
    }

    @Test
    func waitsForMoreWhileRequestLineIsWithinLimit() {
        let limits = HTTPParser.Limits.with { $0.maxHeaderBytes = 64 }
        let run = parse("GET /" + String(repeating: "a", count: 59), limits: limits)
        #expect(run.error == nil)
        #expect(run.requests.isEmpty)
        #expect(run.bufferedByteCount == 64)
    }

    // MARK: - Host

    @Test
    func rejectsHTTP11RequestWithoutHost() {
        expectBadRequest("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", mentioning: "missing Host")
    }

    @Test
    func rejectsTwoHostHeaders() {
        expectBadRequest("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", mentioning: "more than one Host")
        expectBadRequest("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", mentioning: "more than one Host")
        expectBadRequest("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", mentioning: "more than one Host")
    }

    // MARK: - Header syntax (RFC 9112 §2.2, §5)

    @Test
    func rejectsWhitespaceBeforeColon() {
        expectBadRequest("GET / HTTP/1.1\r\nHost: h\r\nX-Test : v\r\n\r\n", mentioning: "field name")
        expectBadRequest("GET / HTTP/1.1\r\nHost: h\r\nX-Test\t: v\r\n\r\n", mentioning: "field name")
    }

    @Test
    func rejectsHeaderFieldWithoutName() {
        expectBadRequest("GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n", mentioning: "field name")
    }

    @Test
    func rejectsHeaderLineWithoutColon() {
        expectBadRequest("GET / HTTP/1.1\r\nHost: h\r\nNoColonHere\r\n\r\n", mentioning: "without a colon")
    }

    @Test
    func rejectsHeaderNameWithNonTokenCharacters() {
        expectBadRequest("GET / HTTP/1.1\r\nHost: h\r\nX(Y): v\r\n\r\n", mentioning: "field name")
        expectBadRequest("GET / HTTP/1.1\r\nHost: h\r\nX\u{E9}: v\r\n\r\n", mentioning: "field name")
    }

    @Test
    func rejectsObsoleteLineFolding() {
        expectBadRequest("GET / HTTP/1.1\r\nHost: h\r\nX-Long: first\r\n second\r\n\r\n", mentioning: "folding")
        expectBadRequest("GET / HTTP/1.1\r\nHost: h\r\nX-Long: first\r\n\tsecond\r\n\r\n", mentioning: "folding")
        // Whitespace between the request line and the first field (RFC 9112 §2.2).
        expectBadRequest("GET / HTTP/1.1\r\n Host: h\r\n\r\n", mentioning: "folding")
    }

    @Test
    func rejectsBareLF() {
        expectBadRequest("GET / HTTP/1.1\nHost: h\r\n\r\n", mentioning: "bare LF")
        expectBadRequest("GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n", mentioning: "bare LF")
    }

    @Test
    func rejectsBareCR() {
        expectBadRequest("GET / HTTP/1.1\rHost: h\r\n\r\n", mentioning: "bare CR")
        expectBadRequest("GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", mentioning: "bare CR")
    }

    @Test
    func rejectsNULInHeaderSection() {
        expectBadRequest("GET / HTTP/1.1\r\nHost: h\r\nX: a\u{0}b\r\n\r\n", mentioning: "NUL")
        expectBadRequest("GET / HTTP/1.1\r\nHost: h\r\nX\u{0}: b\r\n\r\n", mentioning: "NUL")
        expectBadRequest("GET /\u{0} HTTP/1.1\r\nHost: h\r\n\r\n", mentioning: "NUL")
    }

    @Test(arguments: [UInt8(0x01), 0x08, 0x0B, 0x0C, 0x1B, 0x1F, 0x7F])
    func rejectsControlCharacterInFieldValue(_ byte: UInt8) {
        let bytes = raw("GET / HTTP/1.1\r\nHost: h\r\nX: a") + [byte] + raw("b\r\n\r\n")
        expectBadRequest(bytes, mentioning: "control character")
    }

    @Test
    func returns431WhenHeadersExceedLimit() {
        let limits = HTTPParser.Limits.with { $0.maxHeaderBytes = 128 }
        let big = "X-Big: " + String(repeating: "b", count: 150)
        expectError(.headersTooLarge, "GET / HTTP/1.1\r\nHost: h\r\n\(big)\r\n\r\n", limits: limits)
        // A head that never ends is rejected once it passes the limit, not buffered forever.
        expectError(.headersTooLarge, "GET / HTTP/1.1\r\nHost: h\r\n\(big)", limits: limits)
        expectError(
            .headersTooLarge,
            "GET / HTTP/1.1\r\n" + String(repeating: "X: y\r\n", count: 30), limits: limits)
    }

    @Test
    func returns431WhenHeadersExceedDefaultLimit() {
        let big = "X-Big: " + String(repeating: "b", count: 17 * 1024)
        expectError(.headersTooLarge, "GET / HTTP/1.1\r\nHost: h\r\n\(big)\r\n\r\n")
    }

    @Test
    func returns431WhenThereAreTooManyHeaders() {
        let limits = HTTPParser.Limits.with { $0.maxHeaderCount = 3 }
        expectError(.headersTooLarge, "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits: limits)
        let many = (0..<101).map { "X-\($0): v\r\n" }.joined()
        expectError(.headersTooLarge, "GET / HTTP/1.1\r\nHost: h\r\n\(many)\r\n")
    }

    // MARK: - Framing: Content-Length and Transfer-Encoding (RFC 9112 §6)

    @Test
    func rejectsContentLengthWithChunked() {
        expectBadRequest(
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            mentioning: "both Content-Length and Transfer-Encoding")
        expectBadRequest(
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n0\r\n\r\n",
            mentioning: "both Content-Length and Transfer-Encoding")
    }

    @Test
    func rejectsConflictingContentLengths() {
        expectBadRequest(
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef",
            mentioning: "conflicting Content-Length")
        expectBadRequest(
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 6\r\n\r\nabcdef", mentioning: "conflicting Content-Length")
    }

    @Test
    func acceptsIdenticalRepeatedContentLengths() throws {
        let request = try parseOne(
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nContent-Length: 2\r\nContent-Length: 2,2\r\n\r\nok")
        #expect(request.body == raw("ok"))
    }

    @Test(arguments: ["+5", "-1", "1 2", "abc", "", "5,", ",5", "0x5", "5.0", "5;", "١"])
    func rejectsMalformedContentLength(_ value: String) {
        expectBadRequest(
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \(value)\r\n\r\nhello", mentioning: "malformed Content-Length")
    }

    @Test
    func returns413ForContentLengthOverLimitBeforeBodyArrives() {
        let limits = HTTPParser.Limits.with { $0.maxBodyBytes = 10 }
        // Only the head is sent: the parser must not wait for (or buffer) the body to refuse it.
        expectError(.bodyTooLarge, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", limits: limits)
        expectError(.bodyTooLarge, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 17000000\r\n\r\n")
    }

    @Test
    func returns413ForContentLengthTooLargeForAnInteger() {
        expectError(
            .bodyTooLarge, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999999\r\n\r\n")
    }

    @Test(arguments: ["chunked, gzip", "gzip", "identity", "chunked;q=1", ","])
    func rejectsTransferEncodingNotEndingInChunked(_ value: String) {
        expectBadRequest(
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \(value)\r\n\r\n0\r\n\r\n",
            mentioning: "chunked is not the final transfer coding")
    }

    @Test
    func rejectsChunkedAppliedTwice() {
        expectBadRequest(
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", mentioning: "more than once")
        expectBadRequest(
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            mentioning: "more than once")
    }

    @Test
    func returns501ForTransferCodingBeforeChunked() {
        expectError(
            .notImplemented("transfer coding 'gzip'"),
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n")
        // The same list split over two fields.
        expectError(
            .notImplemented("transfer coding 'deflate'"),
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: deflate\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    }

    @Test
    func rejectsTransferEncodingInHTTP10() {
        expectBadRequest(
            "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", mentioning: "HTTP/1.0")
    }

    // MARK: - Chunked body (RFC 9112 §7.1)

    private static let chunkedHead = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"

    @Test
    func returns413WhenChunksExceedBodyLimit() {
        let limits = HTTPParser.Limits.with { $0.maxBodyBytes = 10 }
        expectError(.bodyTooLarge, Self.chunkedHead + "6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n", limits: limits)
        // Refused at the chunk-size line, before the oversized chunk's data arrives.
        expectError(.bodyTooLarge, Self.chunkedHead + "6\r\nabcdef\r\n5\r\n", limits: limits)
        expectError(.bodyTooLarge, Self.chunkedHead + "B\r\n", limits: limits)
    }

    @Test
    func returns413ForChunkSizeThatWouldOverflow() {
        expectError(.bodyTooLarge, Self.chunkedHead + "FFFFFFFFFFFFFFFFF\r\n")
        expectError(.bodyTooLarge, Self.chunkedHead + "7FFFFFFFFFFFFFFF\r\n")
        expectError(.bodyTooLarge, Self.chunkedHead + "1" + String(repeating: "0", count: 40) + "\r\n")
    }

    @Test(arguments: ["zz", "", " 5", "-5", "0x5", "5x", "5 x", "+5", ";ext"])
    func rejectsMalformedChunkSize(_ line: String) {
        expectBadRequest(Self.chunkedHead + "\(line)\r\nhello\r\n0\r\n\r\n", mentioning: "malformed chunk size")
    }

    @Test
    func rejectsControlCharacterInChunkExtension() {
        expectBadRequest(Self.chunkedHead + "5;a=\u{1}\r\nhello\r\n0\r\n\r\n", mentioning: "chunk extension")
    }

    @Test
    func rejectsChunkDataNotFollowedByCRLF() {
        expectBadRequest(Self.chunkedHead + "5\r\nhelloXY0\r\n\r\n", mentioning: "not followed by CRLF")
        expectBadRequest(Self.chunkedHead + "5\r\nhello\n0\r\n\r\n", mentioning: "not followed by CRLF")
        // Data longer than its chunk-size.
        expectBadRequest(Self.chunkedHead + "3\r\nhello\r\n0\r\n\r\n", mentioning: "not followed by CRLF")
    }

    @Test
    func rejectsChunkLineLongerThanLimit() {
        let limits = HTTPParser.Limits.with { $0.maxChunkLineBytes = 16 }
        let longLine = "5;" + String(repeating: "x", count: 40)
        expectBadRequest(Self.chunkedHead + "\(longLine)\r\nhello\r\n0\r\n\r\n", mentioning: "too long", limits: limits)
        // A chunk line that never ends is refused once it passes the limit.
        expectBadRequest(Self.chunkedHead + longLine, mentioning: "too long", limits: limits)
        // With the default limit too.
        expectBadRequest(Self.chunkedHead + "5;" + String(repeating: "x", count: 2000), mentioning: "too long")
    }

    @Test
    func returns431WhenTrailersExceedLimit() {
        let limits = HTTPParser.Limits.with { $0.maxHeaderBytes = 128 }
        let trailer = "X-Trailer: " + String(repeating: "t", count: 200)
        expectError(.headersTooLarge, Self.chunkedHead + "0\r\n\(trailer)\r\n\r\n", limits: limits)
        // Trailers that never end.
        expectError(.headersTooLarge, Self.chunkedHead + "0\r\n\(trailer)", limits: limits)
    }

    @Test
    func rejectsMalformedTrailerFields() {
        expectBadRequest(Self.chunkedHead + "0\r\nX-T : v\r\n\r\n", mentioning: "field name")
        expectBadRequest(Self.chunkedHead + "0\r\nX-T: a\u{7F}\r\n\r\n", mentioning: "control character")
        expectBadRequest(Self.chunkedHead + "0\r\nX-T: v\nY: w\r\n\r\n", mentioning: "bare LF")
    }

    // MARK: - After an error

    @Test
    func keepsFailingAfterAnErrorInsteadOfResynchronising() {
        // Callers close the connection; a parser asked again must not find a request in the garbage.
        var parser = HTTPParser()
        parser.append(raw("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n"))
        for _ in 0..<3 {
            #expect(throws: HTTPParseError.self) { try parser.next() }
        }
    }
}
