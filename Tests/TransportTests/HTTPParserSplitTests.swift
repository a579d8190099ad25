import Testing
@testable import Transport

/// A well-formed byte stream and the requests it must produce.
struct ValidFixture: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    let expected: [RequestSnapshot]
    var limits = HTTPParser.Limits()

    var testDescription: String { name }
}

/// A malformed byte stream and the status it must be answered with.
struct InvalidFixture: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    let status: Int
    var limits = HTTPParser.Limits()

    var testDescription: String { name }
}

private let validFixtures: [ValidFixture] = [
    ValidFixture(
        name: "GET with a query and repeated headers",
        bytes: raw(
            "GET /api/items?page=2&sort=asc HTTP/1.1\r\nHost: example.com\r\nAccept: text/html\r\n"
                + "X-Multi: one\r\nAccept: application/json\r\nX-Multi: two\r\n\r\n"),
        expected: [
            RequestSnapshot(
                method: "GET", target: "/api/items?page=2&sort=asc", path: "/api/items", query: "page=2&sort=asc",
                headers: [
                    Field("Host", "example.com"), Field("Accept", "text/html"), Field("X-Multi", "one"),
                    Field("Accept", "application/json"), Field("X-Multi", "two"),
                ])
        ]),
    ValidFixture(
        name: "POST with a Content-Length body",
        bytes: raw(
            "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\nContent-Type: text/plain\r\n\r\nhello world"),
        expected: [
            RequestSnapshot(
                method: "POST", target: "/upload",
                headers: [Field("Host", "h"), Field("Content-Length", "11"), Field("Content-Type", "text/plain")],
                body: raw("hello world"))
        ]),
    ValidFixture(
        name: "chunked body with extensions, upper- and lowercase hex and trailers",
        bytes: raw(
            "POST /chunks HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "5;name=value\r\nhello\r\n"
                + "A ; quoted=\"x;y\"\r\n0123456789\r\n"
                + "1a\r\nabcdefghijklmnopqrstuvwxyz\r\n"
                + "1F\r\n\(String(repeating: "!", count: 31))\r\n"
                + "0;last\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n"),
        expected: [
            RequestSnapshot(
                method: "POST", target: "/chunks",
                headers: [Field("Host", "h"), Field("Transfer-Encoding", "chunked")],
                body: raw("hello0123456789abcdefghijklmnopqrstuvwxyz" + String(repeating: "!", count: 31)))
        ]),
    ValidFixture(
        name: "zero Content-Length",
        bytes: raw("POST /empty HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"),
        expected: [
            RequestSnapshot(
                method: "POST", target: "/empty", headers: [Field("Host", "h"), Field("Content-Length", "0")])
        ]),
    ValidFixture(
        name: "chunked body that is only the last chunk",
        bytes: raw("POST /empty HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        expected: [
            RequestSnapshot(
                method: "POST", target: "/empty", headers: [Field("Host", "h"), Field("Transfer-Encoding", "chunked")])
        ]),
    ValidFixture(
        name: "HTTP/1.0 without Host closes by default",
        bytes: raw("GET /old HTTP/1.0\r\n\r\n"),
        expected: [RequestSnapshot(method: "GET", target: "/old", version: .http1_0, headers: [], keepAlive: false)]),
    ValidFixture(
        name: "HTTP/1.0 with Connection: keep-alive",
        bytes: raw("GET /old HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"),
        expected: [
            RequestSnapshot(
                method: "GET", target: "/old", version: .http1_0, headers: [Field("Connection", "Keep-Alive")],
                keepAlive: true)
        ]),
    ValidFixture(
        name: "HTTP/1.1 with Connection: close among other tokens",
        bytes: raw("GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, CLOSE\r\n\r\n"),
        expected: [
            RequestSnapshot(
                method: "GET", target: "/", headers: [Field("Host", "h"), Field("Connection", "Upgrade, CLOSE")],
                keepAlive: false)
        ]),
    ValidFixture(
        name: "absolute-form target",
        bytes: raw("GET http://example.com:8080/api/x?y=1 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n"),
        expected: [
            RequestSnapshot(
                method: "GET", target: "/api/x?y=1", path: "/api/x", query: "y=1",
                headers: [Field("Host", "example.com:8080")])
        ]),
    ValidFixture(
        name: "absolute-form target without a path",
        bytes: raw("GET https://example.com?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n"),
        expected: [
            RequestSnapshot(
                method: "GET", target: "/?x=1", path: "/", query: "x=1", headers: [Field("Host", "example.com")])
        ]),
    ValidFixture(
        name: "empty lines before the request line",
        bytes: raw("\r\n\r\nGET /after-blank HTTP/1.1\r\nHost: h\r\n\r\n"),
        expected: [RequestSnapshot(method: "GET", target: "/after-blank", headers: [Field("Host", "h")])]),
    ValidFixture(
        name: "header names in any case",
        bytes: raw("POST /ci HTTP/1.1\r\nhOsT: h\r\ncontent-LENGTH: 3\r\n\r\nabc"),
        expected: [
            RequestSnapshot(
                method: "POST", target: "/ci", headers: [Field("hOsT", "h"), Field("content-LENGTH", "3")],
                body: raw("abc"))
        ]),
    ValidFixture(
        name: "Transfer-Encoding name and value in any case",
        bytes: raw("PUT /ci HTTP/1.1\r\nHost: h\r\nTRANSFER-encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
        expected: [
            RequestSnapshot(
                method: "PUT", target: "/ci", headers: [Field("Host", "h"), Field("TRANSFER-encoding", "Chunked")],
                body: raw("abc"))
        ]),
    ValidFixture(
        name: "field values trimmed of optional whitespace only at the ends",
        bytes: raw(
            "GET / HTTP/1.1\r\nHost: h\r\nX-Padded: \t spaced  value \t\r\nX-Empty:\r\nX-Tab: a\tb\r\nX-Bare:v\r\n\r\n"),
        expected: [
            RequestSnapshot(
                method: "GET", target: "/",
                headers: [
                    Field("Host", "h"), Field("X-Padded", "spaced  value"), Field("X-Empty", ""),
                    Field("X-Tab", "a\tb"), Field("X-Bare", "v"),
                ])
        ]),
    ValidFixture(
        name: "four pipelined requests",
        bytes: raw(
            "GET /one HTTP/1.1\r\nHost: h\r\n\r\n"
                + "POST /two HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
                + "POST /three HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\n\r\n"
                + "GET /four HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"),
        expected: [
            RequestSnapshot(method: "GET", target: "/one", headers: [Field("Host", "h")]),
            RequestSnapshot(
                method: "POST", target: "/two", headers: [Field("Host", "h"), Field("Content-Length", "3")],
                body: raw("abc")),
            RequestSnapshot(
                method: "POST", target: "/three", headers: [Field("Host", "h"), Field("Transfer-Encoding", "chunked")],
                body: raw("de")),
            RequestSnapshot(
                method: "GET", target: "/four", headers: [Field("Host", "h"), Field("Connection", "close")],
                keepAlive: false),
        ]),
    ValidFixture(
        name: "Expect: 100-continue with a Content-Length body",
        bytes: raw("POST /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nbody"),
        expected: [
            RequestSnapshot(
                method: "POST", target: "/e",
                headers: [Field("Host", "h"), Field("Expect", "100-continue"), Field("Content-Length", "4")],
                body: raw("body"))
        ]),
    ValidFixture(
        name: "asterisk-form target",
        bytes: raw("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"),
        expected: [RequestSnapshot(method: "OPTIONS", target: "*", headers: [Field("Host", "h")])]),
    ValidFixture(
        name: "identical repeated Content-Length",
        bytes: raw("POST /cl HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3, 3\r\n\r\nxyz"),
        expected: [
            RequestSnapshot(
                method: "POST", target: "/cl",
                headers: [Field("Host", "h"), Field("Content-Length", "3"), Field("Content-Length", "3, 3")],
                body: raw("xyz"))
        ]),
    ValidFixture(
        name: "body bytes that look like a head",
        bytes: raw("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n\r\n\r\nGET \r\n"),
        expected: [
            RequestSnapshot(
                method: "POST", target: "/x", headers: [Field("Host", "h"), Field("Content-Length", "10")],
                body: raw("\r\n\r\nGET \r\n"))
        ]),
    ValidFixture(
        name: "body exactly at the limit",
        bytes: raw("POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"),
        expected: [
            RequestSnapshot(
                method: "POST", target: "/x", headers: [Field("Host", "h"), Field("Transfer-Encoding", "chunked")],
                body: raw("abcde"))
        ],
        limits: .with { $0.maxBodyBytes = 5 }),
]

private let invalidFixtures: [InvalidFixture] = [
    InvalidFixture(name: "missing Host", bytes: raw("GET / HTTP/1.1\r\nAccept: x\r\n\r\n"), status: 400),
    InvalidFixture(name: "bare LF", bytes: raw("GET / HTTP/1.1\nHost: h\r\n\r\n"), status: 400),
    InvalidFixture(name: "obs-fold", bytes: raw("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n"), status: 400),
    InvalidFixture(
        name: "Content-Length with Transfer-Encoding",
        bytes: raw(
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
        status: 400),
    InvalidFixture(
        name: "gzip, chunked", bytes: raw("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
        status: 501),
    InvalidFixture(name: "HTTP/2.0", bytes: raw("GET / HTTP/2.0\r\nHost: h\r\n\r\n"), status: 505),
    InvalidFixture(
        name: "Expect other than 100-continue",
        bytes: raw("POST / HTTP/1.1\r\nHost: h\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\nx"), status: 417),
    InvalidFixture(
        name: "headers over the limit", bytes: raw("GET / HTTP/1.1\r\nHost: h\r\nX-Long: \(String(repeating: "v", count: 200))\r\n\r\n"),
        status: 431, limits: .with { $0.maxHeaderBytes = 128 }),
    InvalidFixture(
        name: "request line over the limit",
        bytes: raw("GET /\(String(repeating: "p", count: 200)) HTTP/1.1\r\nHost: h\r\n\r\n"),
        status: 414, limits: .with { $0.maxHeaderBytes = 128 }),
    InvalidFixture(
        name: "Content-Length over the limit",
        bytes: raw("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world"),
        status: 413, limits: .with { $0.maxBodyBytes = 10 }),
    InvalidFixture(
        name: "chunks over the limit",
        bytes: raw("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n"),
        status: 413, limits: .with { $0.maxBodyBytes = 10 }),
    InvalidFixture(
        name: "chunk data without CRLF",
        bytes: raw("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n"), status: 400),
    InvalidFixture(
        name: "malformed chunk size",
        bytes: raw("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), status: 400),
    InvalidFixture(
        name: "chunk line over the limit",
        bytes: raw(
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;\(String(repeating: "e", count: 40))\r\nabc\r\n0\r\n\r\n"),
        status: 400, limits: .with { $0.maxChunkLineBytes = 32 }),
    InvalidFixture(
        name: "trailers over the limit",
        bytes: raw(
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: \(String(repeating: "t", count: 200))\r\n\r\n"),
        status: 431, limits: .with { $0.maxHeaderBytes = 128 }),
    InvalidFixture(
        name: "malformed trailer field",
        bytes: raw("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T : t\r\n\r\n"), status: 400),
]

@Suite("HTTPParser fed whole, split at every offset, and byte by byte")
struct HTTPParserSplitTests {
    @Test(arguments: validFixtures)
    func parsesValidRequestsIdenticallyWhateverTheSplit(_ fixture: ValidFixture) {
        let whole = expectSameResultWhateverTheSplit(fixture.bytes, limits: fixture.limits)
        #expect(whole.error == nil, "\(whole)")
        #expect(whole.requests == fixture.expected)
        #expect(whole.isIdle)
        #expect(!whole.isReadingBody)
        #expect(whole.bufferedByteCount == 0)
    }

    @Test(arguments: invalidFixtures)
    func rejectsMalformedRequestsIdenticallyWhateverTheSplit(_ fixture: InvalidFixture) {
        let whole = expectSameResultWhateverTheSplit(fixture.bytes, limits: fixture.limits)
        #expect(whole.error?.status == fixture.status, "\(whole)")
        #expect(whole.requests.isEmpty)
    }

    @Test(arguments: validFixtures)
    func parsesEachFixtureAfterAnEarlierRequestOnTheSameParser(_ fixture: ValidFixture) {
        // The same bytes behind a complete request: the parser's state is fully reset between requests.
        let first = raw("GET /first HTTP/1.1\r\nHost: h\r\n\r\n")
        let run = parse(chunks: [first, fixture.bytes], limits: fixture.limits)
        #expect(run.error == nil)
        #expect(run.requests == [RequestSnapshot(method: "GET", target: "/first", headers: [Field("Host", "h")])] + fixture.expected)
        #expect(run.isIdle)
    }

    @Test
    func asksForContinueOnlyWhenTheHeadArrivesWithoutItsBody() {
        let bytes = validFixtures.first { $0.name.hasPrefix("Expect") }!.bytes
        let headLength = bytes.count - 4
        for offset in 0...bytes.count {
            let run = parse(chunks: [Array(bytes[..<offset]), Array(bytes[offset...])])
            // Only a split exactly after the head leaves the body unsent when the head completes.
            let expectedEvents = offset == headLength ? 1 : 0
            #expect(run.continueCount == expectedEvents, "split at \(offset): \(run)")
            if offset == headLength { #expect(run.events.first == .continueExpected) }
        }
        let byByte = parse(chunks: bytes.map { [$0] })
        #expect(byByte.events.first == .continueExpected)
        #expect(byByte.continueCount == 1)
        #expect(byByte.requests.count == 1)
    }
}
