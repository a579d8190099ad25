import Testing
@testable import Transport

@Suite("HTTPParser: framing, persistence, pipelining, Expect and state")
struct HTTPParserTests {
    // MARK: - Request line and target

    @Test
    func splitsTargetIntoPathAndQuery() throws {
        let request = try parseOne("GET /a/b%20c?x=1&y=2?z HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(request.method == "GET")
        #expect(request.target == "/a/b%20c?x=1&y=2?z")
        #expect(request.path == "/a/b%20c")
        #expect(request.query == "x=1&y=2?z")
    }

    @Test
    func keepsEmptyQueryAfterQuestionMark() throws {
        let request = try parseOne("GET /search? HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(request.path == "/search")
        #expect(request.query == "")
    }

    @Test
    func keepsMethodCaseAsSent() throws {
        // RFC 9110 §9.1: methods are case-sensitive; "get" is a different (unknown) method.
        let request = try parseOne("get / HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(request.method == "get")
    }

    @Test
    func acceptsExtensionMethodMadeOfTokenCharacters() throws {
        let request = try parseOne("M-SEARCH! / HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(request.method == "M-SEARCH!")
    }

    @Test
    func reducesAbsoluteFormTargetToPathAndQuery() throws {
        let request = try parseOne("GET http://user@example.com:8080/p/q?r=s HTTP/1.1\r\nHost: example.com\r\n\r\n")
        #expect(request.target == "/p/q?r=s")
        #expect(request.path == "/p/q")
        #expect(request.query == "r=s")
        #expect(request.headers == [Field("Host", "example.com")])
    }

    @Test
    func reducesAbsoluteFormWithoutPathToRoot() throws {
        let request = try parseOne("GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n")
        #expect(request.target == "/")
    }

    @Test
    func treatsHigherMinorVersionAsHTTP11() throws {
        // RFC 9110 §2.5: a recipient treats a higher minor version as the highest it supports.
        let request = try parseOne("GET / HTTP/1.7\r\nHost: h\r\n\r\n")
        #expect(request.version == .http1_1)
        #expect(request.keepAlive)
    }

    @Test
    func skipsEmptyLinesBeforeRequestLine() throws {
        let request = try parseOne("\r\n\r\n\r\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(request.target == "/x")
    }

    @Test
    func skipsEmptyLinesBetweenPipelinedRequests() {
        let run = parse("GET /a HTTP/1.1\r\nHost: h\r\n\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(run.error == nil)
        #expect(run.requests.map(\.target) == ["/a", "/b"])
        #expect(run.isIdle)
    }

    // MARK: - Header fields

    @Test
    func keepsRepeatedHeadersInArrivalOrder() throws {
        let request = try parseOne(
            "GET / HTTP/1.1\r\nHost: h\r\nCookie: a=1\r\nX-Other: o\r\nCookie: b=2\r\ncookie: c=3\r\n\r\n")
        #expect(request.headers == [
            Field("Host", "h"), Field("Cookie", "a=1"), Field("X-Other", "o"), Field("Cookie", "b=2"),
            Field("cookie", "c=3"),
        ])
    }

    @Test
    func looksUpHeaderNamesCaseInsensitively() throws {
        var parser = HTTPParser()
        parser.append(raw("GET / HTTP/1.1\r\nhost: h\r\nX-TRACE-ID: 7\r\nx-trace-id: 8\r\n\r\n"))
        guard case .request(let request) = try parser.next() else {
            Issue.record("expected a request")
            return
        }
        #expect(request.headers["Host"] == "h")
        #expect(request.headers["x-Trace-Id"] == "7")
        #expect(request.headers.values("X-Trace-ID") == ["7", "8"])
    }

    @Test
    func keepsObsoleteTextBytesInFieldValues() throws {
        // RFC 9110 §5.5: obs-text (0x80–0xFF) is allowed in field values.
        let request = try parseOne("GET / HTTP/1.1\r\nHost: h\r\nX-Name: caf\u{E9}\r\n\r\n")
        #expect(request.headers.last == Field("X-Name", "caf\u{E9}"))
    }

    @Test
    func acceptsExactlyMaxHeaderCountFields() throws {
        let limits = HTTPParser.Limits.with { $0.maxHeaderCount = 3 }
        let request = try parseOne("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n", limits: limits)
        #expect(request.headers.count == 3)
    }

    @Test
    func acceptsHeadOfExactlyMaxHeaderBytes() throws {
        // The limit covers the request line through the empty line that ends the head.
        let prefix = "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: "
        let suffix = "\r\n\r\n"
        let limit = 100
        let head = prefix + String(repeating: "p", count: limit - prefix.utf8.count - suffix.utf8.count) + suffix
        #expect(head.utf8.count == limit)
        let limits = HTTPParser.Limits.with { $0.maxHeaderBytes = limit }
        _ = try parseOne(head, limits: limits)
        expectSameResultWhateverTheSplit(raw(head), limits: limits)
        let oneOver = HTTPParser.Limits.with { $0.maxHeaderBytes = limit - 1 }
        expectError(.headersTooLarge, head, limits: oneOver)
        #expect(expectSameResultWhateverTheSplit(raw(head), limits: oneOver).error == .headersTooLarge)
    }

    @Test
    func leadingEmptyLinesDoNotCountTowardsHeaderLimit() throws {
        let head = "GET / HTTP/1.1\r\nHost: h\r\n\r\n"
        let limits = HTTPParser.Limits.with { $0.maxHeaderBytes = head.utf8.count }
        _ = try parseOne(String(repeating: "\r\n", count: 50) + head, limits: limits)
    }

    // MARK: - Bodies

    @Test
    func readsContentLengthBody() throws {
        let request = try parseOne("PUT /r HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nabcde")
        #expect(request.body == raw("abcde"))
    }

    @Test
    func keepsBinaryBodyBytesIntact() throws {
        let body: [UInt8] = Array(0...255)
        let request = try parseOne(raw("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 256\r\n\r\n") + body)
        #expect(request.body == body)
    }

    @Test
    func readsNoBodyWithoutContentLengthOrTransferEncoding() {
        // RFC 9112 §6.3: a request without either has no body, so the next bytes are the next request.
        let run = parse("POST /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(run.error == nil)
        #expect(run.requests.map(\.target) == ["/a", "/b"])
        #expect(run.requests.allSatisfy { $0.body.isEmpty })
    }

    @Test
    func acceptsContentLengthWithLeadingZeros() throws {
        // RFC 9110 §8.6: Content-Length = 1*DIGIT, so leading zeros are valid.
        let request = try parseOne("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0003\r\n\r\nabc")
        #expect(request.body == raw("abc"))
        let padded = try parseOne(
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \(String(repeating: "0", count: 20))3\r\n\r\nabc")
        #expect(padded.body == raw("abc"))
    }

    @Test
    func acceptsContentLengthExactlyAtBodyLimit() throws {
        let limits = HTTPParser.Limits.with { $0.maxBodyBytes = 5 }
        let request = try parseOne("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nabcde", limits: limits)
        #expect(request.body.count == 5)
    }

    @Test
    func decodesChunkedBodyWithExtensionsAndTrailers() throws {
        let request = try parseOne(
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "4;a=b;c=\"d e\"\r\nWiki\r\n5\t;x\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\n")
        #expect(request.body == raw("Wikipedia in\r\n\r\nchunks."))
        // Trailer fields are validated and dropped, never merged into the header fields.
        #expect(request.headers.value("Expires") == nil)
    }

    @Test
    func acceptsUppercaseAndLowercaseHexChunkSizes() throws {
        let request = try parseOne(
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "B\r\n\(String(repeating: "x", count: 11))\r\nb\r\n\(String(repeating: "y", count: 11))\r\n"
                + "1aB\r\n\(String(repeating: "z", count: 0x1AB))\r\n0\r\n\r\n")
        #expect(request.body.count == 11 + 11 + 0x1AB)
        #expect(request.body.prefix(11) == ArraySlice(repeating: UInt8(ascii: "x"), count: 11))
        #expect(request.body.suffix(0x1AB).allSatisfy { $0 == UInt8(ascii: "z") })
    }

    @Test
    func acceptsChunkSizeWithLeadingZeros() throws {
        // RFC 9112 §7.1: chunk-size = 1*HEXDIG, so leading zeros are valid.
        let request = try parseOne(
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "\(String(repeating: "0", count: 20))3\r\nabc\r\n000\r\n\r\n")
        #expect(request.body == raw("abc"))
    }

    @Test
    func acceptsChunkLineExactlyAtLimit() throws {
        // maxChunkLineBytes bounds the chunk-size and its extensions, not counting the CRLF.
        let line = "3;" + String(repeating: "e", count: 30)
        let limits = HTTPParser.Limits.with { $0.maxChunkLineBytes = line.utf8.count }
        let bytes = raw("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\(line)\r\nabc\r\n0\r\n\r\n")
        let request = try parseOne(bytes, limits: limits)
        #expect(request.body == raw("abc"))
        #expect(expectSameResultWhateverTheSplit(bytes, limits: limits).error == nil)
        let oneShort = HTTPParser.Limits.with { $0.maxChunkLineBytes = line.utf8.count - 1 }
        expectBadRequest(bytes, mentioning: "chunk size line too long", limits: oneShort)
        #expect(expectSameResultWhateverTheSplit(bytes, limits: oneShort).error?.status == 400)
    }

    @Test
    func acceptsChunkedBodyExactlyAtBodyLimit() throws {
        let limits = HTTPParser.Limits.with { $0.maxBodyBytes = 6 }
        let request = try parseOne(
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n",
            limits: limits)
        #expect(request.body == raw("abcdef"))
    }

    @Test
    func acceptsTrailersExactlyAtHeaderLimit() throws {
        // Trailers have their own budget of maxHeaderBytes, counted from the first trailer field.
        let trailers = "X-T: " + String(repeating: "t", count: 91) + "\r\n\r\n"
        #expect(trailers.utf8.count == 100)
        let bytes = raw("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n" + trailers)
        let limits = HTTPParser.Limits.with { $0.maxHeaderBytes = 100 }
        let request = try parseOne(bytes, limits: limits)
        #expect(request.body == raw("a"))
        expectError(.headersTooLarge, bytes, limits: .with { $0.maxHeaderBytes = 99 })
    }

    // MARK: - Connection persistence (RFC 9112 §9.3)

    @Test
    func keepsHTTP11ConnectionsAliveByDefault() throws {
        #expect(try parseOne("GET / HTTP/1.1\r\nHost: h\r\n\r\n").keepAlive)
    }

    @Test
    func closesHTTP11ConnectionOnConnectionClose() throws {
        #expect(try !parseOne("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").keepAlive)
        #expect(try !parseOne("GET / HTTP/1.1\r\nHost: h\r\nConnection: Close\r\n\r\n").keepAlive)
        #expect(try !parseOne("GET / HTTP/1.1\r\nHost: h\r\nConnection: te\r\nConnection: close\r\n\r\n").keepAlive)
    }

    @Test
    func closesHTTP10ConnectionsByDefault() throws {
        let request = try parseOne("GET / HTTP/1.0\r\n\r\n")
        #expect(request.version == .http1_0)
        #expect(!request.keepAlive)
    }

    @Test
    func keepsHTTP10ConnectionAliveOnConnectionKeepAlive() throws {
        #expect(try parseOne("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keepAlive)
        #expect(try parseOne("GET / HTTP/1.0\r\nconnection: Keep-Alive\r\n\r\n").keepAlive)
    }

    @Test
    func prefersCloseOverKeepAliveWhenBothAreSent() throws {
        #expect(try !parseOne("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n").keepAlive)
        #expect(try !parseOne("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, close\r\n\r\n").keepAlive)
    }

    @Test
    func acceptsHTTP10RequestWithHostAndContentLength() throws {
        let request = try parseOne("POST / HTTP/1.0\r\nHost: h\r\nContent-Length: 2\r\n\r\nok")
        #expect(request.body == raw("ok"))
        #expect(!request.keepAlive)
    }

    // MARK: - Pipelining

    @Test
    func returnsPipelinedRequestsInOrderThenNeedMore() throws {
        var parser = HTTPParser()
        parser.append(raw(
            "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
                + "POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi"
                + "PUT /3 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n"
                + "DELETE /4 HTTP/1.1\r\nHost: h\r\n\r\n"
                + "GET /5 HT"))
        var targets: [String] = []
        var bodies: [[UInt8]] = []
        while case .request(let request) = try parser.next() {
            targets.append(request.target)
            bodies.append(request.body)
        }
        #expect(targets == ["/1", "/2", "/3", "/4"])
        #expect(bodies == [[], raw("hi"), raw("x"), []])
        // The partial fifth request stays buffered, and asking again changes nothing.
        #expect(parser.bufferedByteCount == "GET /5 HT".utf8.count)
        #expect(!parser.isIdle)
        guard case .needMore = try parser.next() else {
            Issue.record("expected .needMore for a partial request")
            return
        }
        parser.append(raw("TP/1.1\r\nHost: h\r\n\r\n"))
        guard case .request(let fifth) = try parser.next() else {
            Issue.record("expected the fifth request")
            return
        }
        #expect(fifth.target == "/5")
        #expect(parser.isIdle)
    }

    @Test
    func parsesThousandsOfPipelinedRequestsAcrossBufferCompaction() {
        // Enough bytes to pass the 64 KiB compaction threshold several times, fed in odd-sized pieces.
        var stream: [UInt8] = []
        for index in 0..<5000 {
            let body = "body-\(index)"
            stream += raw("POST /r/\(index) HTTP/1.1\r\nHost: h\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        }
        #expect(stream.count > 4 * 64 * 1024)
        let chunks = stride(from: 0, to: stream.count, by: 997).map { Array(stream[$0..<min($0 + 997, stream.count)]) }
        let run = parse(chunks: chunks)
        #expect(run.error == nil)
        #expect(run.requests.count == 5000)
        #expect(run.requests.map(\.target) == (0..<5000).map { "/r/\($0)" })
        #expect(run.requests.map { String(decoding: $0.body, as: UTF8.self) } == (0..<5000).map { "body-\($0)" })
        #expect(run.isIdle)
    }

    @Test
    func reportsErrorOnlyAfterEarlierPipelinedRequests() {
        let run = parse("GET /ok HTTP/1.1\r\nHost: h\r\n\r\nGET /bad HTTP/1.1\r\n\r\n")
        #expect(run.requests.map(\.target) == ["/ok"])
        #expect(run.error?.status == 400)
    }

    // MARK: - Expect: 100-continue (RFC 9110 §10.1.1)

    @Test
    func yieldsContinueOnceThenRequestAfterBodyArrives() throws {
        var parser = HTTPParser()
        parser.append(raw("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"))
        guard case .continueExpected = try parser.next() else {
            Issue.record("expected .continueExpected")
            return
        }
        #expect(parser.isReadingBody)
        // Asking again without new bytes must not yield a second 100 Continue.
        guard case .needMore = try parser.next() else {
            Issue.record("expected .needMore after .continueExpected")
            return
        }
        parser.append(raw("ab"))
        guard case .needMore = try parser.next() else {
            Issue.record("expected .needMore with a partial body")
            return
        }
        parser.append(raw("cde"))
        guard case .request(let request) = try parser.next() else {
            Issue.record("expected the request")
            return
        }
        #expect(request.body == raw("abcde"))
        #expect(request.headers["Expect"] == "100-continue")
        #expect(parser.isIdle)
    }

    @Test
    func yieldsContinueForChunkedBody() {
        let run = parse(chunks: [
            raw("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nTransfer-Encoding: chunked\r\n\r\n"),
            raw("2\r\nok\r\n0\r\n\r\n"),
        ])
        #expect(run.error == nil)
        #expect(run.continueCount == 1)
        #expect(run.events.first == .continueExpected)
        #expect(run.requests.map(\.body) == [raw("ok")])
    }

    @Test
    func doesNotYieldContinueWhenBodyIsAlreadyBuffered() {
        let whole = parse("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nabcde")
        #expect(whole.continueCount == 0)
        #expect(whole.requests.map(\.body) == [raw("abcde")])
        // Part of the body is enough: the client is already sending it.
        let partial = parse(chunks: [
            raw("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\na"), raw("bcde"),
        ])
        #expect(partial.continueCount == 0)
        #expect(partial.requests.map(\.body) == [raw("abcde")])
    }

    @Test
    func doesNotYieldContinueWithoutBody() {
        let run = parse(chunks: [
            raw("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n"),
            raw("GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n"),
        ])
        #expect(run.error == nil)
        #expect(run.continueCount == 0)
        #expect(run.requests.count == 2)
    }

    @Test
    func ignoresExpectInHTTP10() {
        let run = parse(chunks: [
            raw("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"), raw("ok"),
        ])
        #expect(run.error == nil)
        #expect(run.continueCount == 0)
        #expect(run.requests.map(\.body) == [raw("ok")])
        let unknown = parse("POST / HTTP/1.0\r\nExpect: something-else\r\nContent-Length: 2\r\n\r\nok")
        #expect(unknown.error == nil)
        #expect(unknown.requests.count == 1)
    }

    @Test
    func rejectsExpectationOtherThanContinueWith417() {
        expectError(.expectationFailed, "POST / HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\nx")
        expectError(.expectationFailed, "GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue, foo\r\n\r\n")
        expectError(.expectationFailed, "GET / HTTP/1.1\r\nHost: h\r\nExpect:\r\n\r\n")
        #expect(HTTPParseError.expectationFailed.status == 417)
    }

    // MARK: - isIdle / isReadingBody

    @Test
    func reportsIdleAndReadingBodyThroughContentLengthRequest() throws {
        var parser = HTTPParser()
        #expect(parser.isIdle)
        #expect(!parser.isReadingBody)

        parser.append(raw("POST / HTTP/1.1\r\nHost: h\r\n"))
        #expect(!parser.isIdle)
        guard case .needMore = try parser.next() else { Issue.record("expected .needMore"); return }
        #expect(!parser.isIdle)
        #expect(!parser.isReadingBody)

        parser.append(raw("Content-Length: 4\r\n\r\nab"))
        guard case .needMore = try parser.next() else { Issue.record("expected .needMore"); return }
        #expect(!parser.isIdle)
        #expect(parser.isReadingBody)
        #expect(parser.bufferedByteCount == 0)

        parser.append(raw("cd"))
        guard case .request = try parser.next() else { Issue.record("expected a request"); return }
        #expect(parser.isIdle)
        #expect(!parser.isReadingBody)
        #expect(parser.bufferedByteCount == 0)
    }

    @Test
    func reportsReadingBodyThroughChunksAndTrailers() throws {
        var parser = HTTPParser()
        parser.append(raw("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"))
        guard case .needMore = try parser.next() else { Issue.record("expected .needMore"); return }
        #expect(parser.isReadingBody)
        for piece in ["3\r", "\nab", "c", "\r\n", "0\r\n", "X-T: 1\r\n"] {
            parser.append(raw(piece))
            guard case .needMore = try parser.next() else { Issue.record("expected .needMore after \(piece.debugDescription)"); return }
            #expect(parser.isReadingBody, "after \(piece.debugDescription)")
            #expect(!parser.isIdle)
        }
        parser.append(raw("\r\n"))
        guard case .request(let request) = try parser.next() else { Issue.record("expected a request"); return }
        #expect(request.body == raw("abc"))
        #expect(parser.isIdle)
        #expect(!parser.isReadingBody)
    }

    @Test
    func isNotIdleWhilePipelinedBytesRemain() throws {
        var parser = HTTPParser()
        parser.append(raw("GET /a HTTP/1.1\r\nHost: h\r\n\r\nG"))
        guard case .request = try parser.next() else { Issue.record("expected a request"); return }
        #expect(!parser.isIdle)
        #expect(!parser.isReadingBody)
        #expect(parser.bufferedByteCount == 1)
    }

    @Test
    func becomesIdleAfterOnlyEmptyLines() throws {
        var parser = HTTPParser()
        parser.append(raw("\r\n\r\n"))
        #expect(!parser.isIdle)
        guard case .needMore = try parser.next() else { Issue.record("expected .needMore"); return }
        #expect(parser.isIdle)
        #expect(parser.bufferedByteCount == 0)
    }

    @Test
    func acceptsBytesThroughUnsafeRawBufferPointer() throws {
        var parser = HTTPParser()
        let bytes = raw("GET /raw HTTP/1.1\r\nHost: h\r\n\r\n")
        bytes.withUnsafeBytes { parser.append($0) }
        guard case .request(let request) = try parser.next() else { Issue.record("expected a request"); return }
        #expect(request.target == "/raw")
    }
}
