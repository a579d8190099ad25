import Testing
@testable import Transport

@Suite("Content-Encoding of request bodies")
struct ContentDecoderTests {
    private static let text = raw(
        "{\"traces\":[" + (0..<40).map { "{\"id\":\($0),\"name\":\"span-\($0)\"}" }.joined(separator: ",") + "]}")

    /// A request whose body is `body` sent with the given Content-Encoding field values.
    private static func request(_ body: [UInt8], encodings: [String], chunked: Bool = false) -> [UInt8] {
        var head = "POST /ingest HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
        for encoding in encodings { head += "Content-Encoding: \(encoding)\r\n" }
        guard chunked else {
            return raw(head + "Content-Length: \(body.count)\r\n\r\n") + body
        }
        // Two chunks, so that the compressed stream is cut in the middle.
        let half = body.count / 2
        return raw(head + "Transfer-Encoding: chunked\r\n\r\n")
            + raw(String(half, radix: 16) + "\r\n") + body[..<half] + raw("\r\n")
            + raw(String(body.count - half, radix: 16) + "\r\n") + body[half...] + raw("\r\n0\r\n\r\n")
    }

    // MARK: - Decoding

    @Test
    func decodesGzipBodyAndRemovesContentEncoding() throws {
        let compressed = try CompressionFixtures.gzip(Self.text)
        #expect(compressed != Self.text)
        let request = try parseOne(Self.request(compressed, encodings: ["gzip"]))
        #expect(request.body == Self.text)
        #expect(request.headers.value("Content-Encoding") == nil)
        // Content-Length now describes the decoded body; everything else is left as sent.
        #expect(request.headers == [
            Field("Host", "h"), Field("Content-Type", "application/json"),
            Field("Content-Length", String(Self.text.count)),
        ])
    }

    @Test
    func decodesXGzipAndCodingNamesInAnyCase() throws {
        let compressed = try CompressionFixtures.gzip(Self.text)
        #expect(try parseOne(Self.request(compressed, encodings: ["x-gzip"])).body == Self.text)
        #expect(try parseOne(Self.request(compressed, encodings: ["GZip"])).body == Self.text)
    }

    @Test
    func decodesZlibWrappedDeflate() throws {
        let compressed = try CompressionFixtures.zlib(Self.text)
        let request = try parseOne(Self.request(compressed, encodings: ["deflate"]))
        #expect(request.body == Self.text)
        #expect(request.headers.value("Content-Encoding") == nil)
    }

    @Test
    func decodesRawDeflate() throws {
        let compressed = try CompressionFixtures.rawDeflate(Self.text)
        let request = try parseOne(Self.request(compressed, encodings: ["deflate"]))
        #expect(request.body == Self.text)
        #expect(request.headers.value("Content-Encoding") == nil)
    }

    @Test
    func decodesGzipSentInChunks() throws {
        let compressed = try CompressionFixtures.gzip(Self.text)
        let request = try parseOne(Self.request(compressed, encodings: ["gzip"], chunked: true))
        #expect(request.body == Self.text)
    }

    @Test
    func decodesGzipBodyIdenticallyWhateverTheSplit() throws {
        let compressed = try CompressionFixtures.gzip(raw("split me at every offset"))
        let run = expectSameResultWhateverTheSplit(Self.request(compressed, encodings: ["gzip"], chunked: true))
        #expect(run.error == nil)
        #expect(run.requests.map(\.body) == [raw("split me at every offset")])
    }

    @Test
    func undoesStackedCodingsInReverseOrder() throws {
        // "gzip, gzip": gzip applied twice.
        let twice = try CompressionFixtures.gzip(CompressionFixtures.gzip(Self.text))
        let request = try parseOne(Self.request(twice, encodings: ["gzip, gzip"]))
        #expect(request.body == Self.text)
        #expect(request.headers.value("Content-Encoding") == nil)

        // gzip first, then deflate, listed over two fields: deflate must be undone first.
        let gzipThenDeflate = try CompressionFixtures.zlib(CompressionFixtures.gzip(Self.text))
        #expect(try parseOne(Self.request(gzipThenDeflate, encodings: ["gzip", "deflate"])).body == Self.text)
        // Listed the other way round the body cannot be decoded.
        expectBadRequest(Self.request(gzipThenDeflate, encodings: ["deflate", "gzip"]), mentioning: "Content-Encoding")
    }

    @Test
    func passesIdentityCodedBodyThrough() throws {
        let request = try parseOne(Self.request(raw("plain"), encodings: ["identity"]))
        #expect(request.body == raw("plain"))
        let mixed = try CompressionFixtures.gzip(Self.text)
        #expect(try parseOne(Self.request(mixed, encodings: ["identity, gzip"])).body == Self.text)
    }

    @Test
    func decodesConcatenatedGzipMembers() throws {
        // RFC 1952 §2.2: a gzip file is a series of members; `gzip -d` outputs all of them.
        let first = raw("first member, ")
        let second = raw("second member")
        let members = try CompressionFixtures.gzip(first) + CompressionFixtures.gzip(second)
        let request = try parseOne(Self.request(members, encodings: ["gzip"]))
        #expect(request.body == first + second)
    }

    @Test
    func decodesPipelinedCompressedRequestsIndependently() throws {
        let one = try CompressionFixtures.gzip(raw("one"))
        let two = try CompressionFixtures.zlib(raw("two"))
        let run = parse(Self.request(one, encodings: ["gzip"]) + Self.request(two, encodings: ["deflate"]))
        #expect(run.error == nil)
        #expect(run.requests.map(\.body) == [raw("one"), raw("two")])
    }

    // MARK: - Refusals

    @Test(arguments: ["br", "compress", "zstd", "gzip, br", "br, gzip"])
    func returns415ForUnknownContentCoding(_ coding: String) throws {
        let compressed = try CompressionFixtures.gzip(Self.text)
        let run = parse(Self.request(compressed, encodings: [coding]))
        guard case .unsupportedMediaType? = run.error else {
            Issue.record("expected 415, got \(run)")
            return
        }
        #expect(run.error?.status == 415)
    }

    @Test
    func returns400ForCorruptGzip() throws {
        var corrupt = try CompressionFixtures.gzip(Self.text)
        // Damage the deflate data in the middle of the member.
        for index in (corrupt.count / 2)..<(corrupt.count / 2 + 8) { corrupt[index] ^= 0xFF }
        expectError400(Self.request(corrupt, encodings: ["gzip"]))
    }

    @Test
    func returns400ForGzipWithWrongChecksum() throws {
        var member = try CompressionFixtures.gzip(Self.text)
        member[member.count - 8] ^= 0x01  // first byte of the CRC-32 trailer
        expectError400(Self.request(member, encodings: ["gzip"]))
    }

    @Test
    func returns400ForTruncatedGzip() throws {
        let member = try CompressionFixtures.gzip(Self.text)
        expectError400(Self.request(Array(member.dropLast(12)), encodings: ["gzip"]))
        expectError400(Self.request(Array(member.prefix(5)), encodings: ["gzip"]))
    }

    @Test
    func returns400ForBodyThatIsNotCompressed() {
        expectError400(Self.request(Self.text, encodings: ["gzip"]))
        expectError400(Self.request(Self.text, encodings: ["deflate"]))
    }

    @Test
    func returns400ForTrailingBytesAfterCompressedStream() throws {
        let garbage = raw("trailing garbage")
        expectError400(Self.request(try CompressionFixtures.gzip(Self.text) + garbage, encodings: ["gzip"]))
        expectError400(Self.request(try CompressionFixtures.zlib(Self.text) + garbage, encodings: ["deflate"]))
        expectError400(Self.request(try CompressionFixtures.rawDeflate(Self.text) + garbage, encodings: ["deflate"]))
    }

    @Test
    func returns413WhenDecodedBodyExceedsLimit() throws {
        let body = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        let compressed = try CompressionFixtures.gzip(body)
        #expect(compressed.count < 100)
        let atLimit = HTTPParser.Limits.with { $0.maxBodyBytes = 1000 }
        #expect(try parseOne(Self.request(compressed, encodings: ["gzip"]), limits: atLimit).body == body)
        let underLimit = HTTPParser.Limits.with { $0.maxBodyBytes = 999 }
        expectError(.bodyTooLarge, Self.request(compressed, encodings: ["gzip"]), limits: underLimit)
        expectError(
            .bodyTooLarge, Self.request(try CompressionFixtures.zlib(body), encodings: ["deflate"]), limits: underLimit)
        expectError(
            .bodyTooLarge, Self.request(try CompressionFixtures.rawDeflate(body), encodings: ["deflate"]),
            limits: underLimit)
    }

    @Test
    func stopsGzipBombWithoutAllocatingItsOutput() throws {
        let expanded = 128 << 20
        let bomb = try CompressionFixtures.gzippedZeros(count: expanded)
        // A real bomb: well under the 1 MiB limit on the wire, 128 MiB once inflated.
        #expect(bomb.count < 256 << 10)
        #expect(CompressionFixtures.declaredSize(ofGzip: bomb) == UInt32(expanded))
        let limits = HTTPParser.Limits.with { $0.maxBodyBytes = 1 << 20 }
        let bytes = Self.request(bomb, encodings: ["gzip"])

        let resetWorked = PeakMemory.reset()
        let before = try #require(PeakMemory.peakBytes())
        let run = parse(bytes, limits: limits)
        let after = try #require(PeakMemory.peakBytes())

        #expect(run.error == .bodyTooLarge)
        #expect(run.error?.status == 413)
        // Inflating it whole would raise the peak by at least 128 MiB. Without the reset, the
        // earlier peak can hide growth, so the check is weaker but still never fails wrongly.
        #expect(after - before < 64 << 20, "peak grew by \(after - before) bytes (reset: \(resetWorked))")
    }

    @Test
    func stopsGzipBombUnderSecondGzipLayer() throws {
        let bomb = try CompressionFixtures.gzippedZeros(count: 64 << 20)
        let wrapped = try CompressionFixtures.gzip(bomb)
        let limits = HTTPParser.Limits.with { $0.maxBodyBytes = 1 << 20 }
        expectError(.bodyTooLarge, Self.request(wrapped, encodings: ["gzip, gzip"]), limits: limits)
        expectError(.bodyTooLarge, Self.request(wrapped, encodings: ["gzip", "gzip"]), limits: limits)
    }

    // MARK: - ContentDecoder directly

    @Test
    func decoderReturnsBodyUnchangedForNoCodings() throws {
        #expect(try ContentDecoder.decode(Self.text, codings: [], limit: 10_000) == Self.text)
    }

    @Test
    func decoderRejectsEmptyCompressedInput() {
        #expect(throws: HTTPParseError.self) { try ContentDecoder.decode([], codings: ["gzip"], limit: 100) }
        #expect(throws: HTTPParseError.self) { try ContentDecoder.decode([], codings: ["deflate"], limit: 100) }
    }

    @Test
    func decoderDecodesOutputLargerThanOneInternalChunk() throws {
        // More than the decoder's 64 KiB output step, with content that shows misordered pieces.
        let body = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
        let compressed = try CompressionFixtures.gzip(body)
        #expect(try ContentDecoder.decode(compressed, codings: ["gzip"], limit: body.count) == body)
        #expect(throws: HTTPParseError.bodyTooLarge) {
            try ContentDecoder.decode(compressed, codings: ["gzip"], limit: body.count - 1)
        }
    }

    private func expectError400(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        let run = parse(bytes)
        guard case .badRequest? = run.error else {
            Issue.record("expected 400, got \(run)", sourceLocation: sourceLocation)
            return
        }
        #expect(run.requests.isEmpty, sourceLocation: sourceLocation)
    }
}
