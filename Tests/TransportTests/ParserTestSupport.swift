import Testing
@testable import Transport

// Helpers shared by the parser tests: raw request bytes, a comparable snapshot of a parsed
// request, and drivers that feed a parser whole, split at an offset, or one byte at a time.

/// The bytes of `text`; requests are written with explicit `\r\n`.
func raw(_ text: String) -> [UInt8] { Array(text.utf8) }

/// One header field, comparable (tuples are not `Equatable`).
struct Field: Equatable, Sendable, CustomStringConvertible {
    var name: String
    var value: String

    init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }

    var description: String { "\(name): \(value)" }
}

extension [Field] {
    /// The first value of `name`, compared case-insensitively like `HTTPHeaders`.
    func value(_ name: String) -> String? {
        first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// Everything observable about a parsed request except its arrival time.
struct RequestSnapshot: Equatable, Sendable, CustomStringConvertible {
    var method: String
    var target: String
    var path: String
    var query: String
    var version: HTTPVersion
    var headers: [Field]
    var body: [UInt8]
    var keepAlive: Bool

    init(
        method: String, target: String, path: String? = nil, query: String = "",
        version: HTTPVersion = .http1_1, headers: [Field], body: [UInt8] = [], keepAlive: Bool = true
    ) {
        self.method = method
        self.target = target
        self.path = path ?? target
        self.query = query
        self.version = version
        self.headers = headers
        self.body = body
        self.keepAlive = keepAlive
    }

    init(_ request: HTTPRequest) {
        method = request.method
        target = request.target
        path = String(request.path)
        query = String(request.query)
        version = request.version
        headers = request.headers.map { Field($0.name, $0.value) }
        body = request.body
        keepAlive = request.keepAlive
    }

    var description: String {
        "\(method) \(target) \(version) \(headers) body=\(String(decoding: body, as: UTF8.self).debugDescription) keepAlive=\(keepAlive)"
    }
}

/// What a parser produced from a sequence of appends.
struct ParseRun: Equatable, CustomStringConvertible {
    enum Event: Equatable {
        case continueExpected
        case request(RequestSnapshot)
    }

    var events: [Event] = []
    var error: HTTPParseError?
    /// Parser state after the last chunk (meaningless when `error` is set).
    var isIdle = false
    var isReadingBody = false
    var bufferedByteCount = 0

    var requests: [RequestSnapshot] {
        events.compactMap { if case .request(let request) = $0 { request } else { nil } }
    }

    var continueCount: Int { events.count { $0 == .continueExpected } }

    /// The run with `.continueExpected` removed: whether it appears depends on how the bytes were
    /// split, the requests and the error must not.
    var framingOutcome: ParseRun {
        var copy = self
        copy.events = events.filter { $0 != .continueExpected }
        return copy
    }

    var description: String { "events: \(events), error: \(String(describing: error))" }
}

/// Appends each chunk in turn, calling `next()` after each until it returns `.needMore`.
func parse(chunks: [[UInt8]], limits: HTTPParser.Limits = .init()) -> ParseRun {
    var parser = HTTPParser(limits: limits)
    var run = ParseRun()
    for chunk in chunks {
        parser.append(chunk)
        do throws(HTTPParseError) {
            // Bounded so that a parser that never returns `.needMore` fails instead of hanging.
            var steps = 0
            drain: while true {
                steps += 1
                guard steps < 100_000 else {
                    Issue.record("next() did not return .needMore after \(steps) steps")
                    break drain
                }
                switch try parser.next() {
                case .needMore: break drain
                case .continueExpected: run.events.append(.continueExpected)
                case .request(let request): run.events.append(.request(RequestSnapshot(request)))
                }
            }
        } catch {
            run.error = error
            return run
        }
    }
    run.isIdle = parser.isIdle
    run.isReadingBody = parser.isReadingBody
    run.bufferedByteCount = parser.bufferedByteCount
    return run
}

func parse(_ bytes: [UInt8], limits: HTTPParser.Limits = .init()) -> ParseRun {
    parse(chunks: [bytes], limits: limits)
}

func parse(_ text: String, limits: HTTPParser.Limits = .init()) -> ParseRun {
    parse(raw(text), limits: limits)
}

/// Feeds `bytes` split at every offset (0 and `count` included) and one byte at a time, and
/// records an issue for every way of feeding whose requests or error differ from feeding it whole.
/// Returns the whole-buffer run.
@discardableResult
func expectSameResultWhateverTheSplit(
    _ bytes: [UInt8], limits: HTTPParser.Limits = .init(),
    sourceLocation: SourceLocation = #_sourceLocation
) -> ParseRun {
    let whole = parse(bytes, limits: limits)
    for offset in 0...bytes.count {
        let split = parse(chunks: [Array(bytes[..<offset]), Array(bytes[offset...])], limits: limits)
        #expect(
            split.framingOutcome == whole.framingOutcome, "split at offset \(offset)",
            sourceLocation: sourceLocation)
        if split.framingOutcome != whole.framingOutcome { break }
    }
    let byByte = parse(chunks: bytes.map { [$0] }, limits: limits)
    #expect(byByte.framingOutcome == whole.framingOutcome, "one byte at a time", sourceLocation: sourceLocation)
    return whole
}

/// Parses `text` whole and expects it to fail with `error`.
func expectError(
    _ error: HTTPParseError, _ text: String, limits: HTTPParser.Limits = .init(),
    sourceLocation: SourceLocation = #_sourceLocation
) {
    expectError(error, raw(text), limits: limits, sourceLocation: sourceLocation)
}

func expectError(
    _ error: HTTPParseError, _ bytes: [UInt8], limits: HTTPParser.Limits = .init(),
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let run = parse(bytes, limits: limits)
    #expect(run.error == error, "\(run)", sourceLocation: sourceLocation)
    #expect(run.error?.status == error.status, sourceLocation: sourceLocation)
    #expect(run.requests.isEmpty, sourceLocation: sourceLocation)
}

/// Parses `text` whole and expects a 400 whose reason mentions `reason`, so that a fixture
/// rejected for some other defect does not pass by accident.
func expectBadRequest(
    _ text: String, mentioning reason: String, limits: HTTPParser.Limits = .init(),
    sourceLocation: SourceLocation = #_sourceLocation
) {
    expectBadRequest(raw(text), mentioning: reason, limits: limits, sourceLocation: sourceLocation)
}

func expectBadRequest(
    _ bytes: [UInt8], mentioning reason: String, limits: HTTPParser.Limits = .init(),
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let run = parse(bytes, limits: limits)
    guard case .badRequest(let message)? = run.error else {
        Issue.record("expected a 400 mentioning '\(reason)', got \(run)", sourceLocation: sourceLocation)
        return
    }
    #expect(run.error?.status == 400, sourceLocation: sourceLocation)
    #expect(
        message.lowercased().contains(reason.lowercased()), "reason was '\(message)'",
        sourceLocation: sourceLocation)
    #expect(run.requests.isEmpty, sourceLocation: sourceLocation)
}

/// Parses `text` whole and returns its single request, recording an issue otherwise.
func parseOne(
    _ text: String, limits: HTTPParser.Limits = .init(), sourceLocation: SourceLocation = #_sourceLocation
) throws -> RequestSnapshot {
    try parseOne(raw(text), limits: limits, sourceLocation: sourceLocation)
}

func parseOne(
    _ bytes: [UInt8], limits: HTTPParser.Limits = .init(), sourceLocation: SourceLocation = #_sourceLocation
) throws -> RequestSnapshot {
    let run = parse(bytes, limits: limits)
    #expect(run.error == nil, "\(run)", sourceLocation: sourceLocation)
    #expect(run.requests.count == 1, "\(run)", sourceLocation: sourceLocation)
    #expect(run.isIdle, "bytes left over: \(run.bufferedByteCount)", sourceLocation: sourceLocation)
    return try #require(run.requests.first, sourceLocation: sourceLocation)
}

extension HTTPParser.Limits {
    /// Default limits with some fields changed.
    static func with(_ change: (inout HTTPParser.Limits) -> Void) -> HTTPParser.Limits {
        var limits = HTTPParser.Limits()
        change(&limits)
        return limits
    }
}
