import Transport

/// Feeds the input to `HTTPParser` as a connection does (append what arrived, then `next()`
/// until it needs more), once whole and once in chunks of random size. TCP may split a stream
/// anywhere, so both runs must yield the same requests and stop with the same error; every
/// request must also respect the limits it was parsed under.
enum HTTPParserFuzzer {
    /// Small limits, so that inputs of a few kilobytes reach every limit check.
    static let smallLimits: HTTPParser.Limits = {
        var limits = HTTPParser.Limits()
        limits.maxHeaderBytes = 256
        limits.maxHeaderCount = 8
        limits.maxBodyBytes = 512
        limits.maxChunkLineBytes = 16
        return limits
    }()

    /// Past this many consumed bytes `HTTPParser.append` compacts its buffer, a path only long
    /// pipelined streams reach: one input in 16 is repeated until it gets there.
    static let compactionThreshold = 64 * 1024

    static func run(_ input: [UInt8]) {
        var random = InputRandom(input)
        let limits = random.next() % 2 == 0 ? HTTPParser.Limits() : smallLimits
        var bytes = input
        if !input.isEmpty && random.next() % 16 == 0 {
            bytes = Array(repeating: input, count: compactionThreshold / input.count + 2).flatMap { $0 }
        }
        let whole = ParseTranscript(feeding: [bytes[...]], limits: limits)
        let chunks = split(bytes, &random)
        let chunked = ParseTranscript(feeding: chunks, limits: limits)
        fuzzCheck(whole == chunked, """
            whole and chunked parses differ (chunks \(chunks.map(\.count)))
            whole:   \(whole)
            chunked: \(chunked)
            """)
    }

    /// One byte at a time, or up to 8, 64 or 4096 bytes per chunk.
    static func split(_ input: [UInt8], _ random: inout InputRandom) -> [ArraySlice<UInt8>] {
        let largest = [1, 8, 64, 4096][random.next(in: 0...3)]
        var chunks: [ArraySlice<UInt8>] = []
        var start = 0
        while start < input.count {
            let end = min(input.count, start + random.next(in: 1...largest))
            chunks.append(input[start..<end])
            start = end
        }
        return chunks
    }
}

/// What a connection would have seen: the requests in order, then the error that closed it or
/// the state it was left waiting in.
struct ParseTranscript: Equatable, CustomStringConvertible {
    enum Ending: Equatable {
        case failed(HTTPParseError)
        /// Out of bytes: between requests (`idle`) or inside one.
        case waiting(idle: Bool, readingBody: Bool)
    }

    var requests: [ParsedRequest] = []
    var ending: Ending = .waiting(idle: true, readingBody: false)

    init(feeding chunks: [ArraySlice<UInt8>], limits: HTTPParser.Limits) {
        var parser = HTTPParser(limits: limits)
        for chunk in chunks {
            chunk.withUnsafeBytes { parser.append($0) }
            do {
                while true {
                    let step = try parser.next()
                    if case .needMore = step { break }
                    // `continueExpected` depends on where the stream was cut (it is sent only when
                    // no body byte has arrived yet), so it is not part of the transcript.
                    if case .request(let request) = step {
                        let parsed = ParsedRequest(request)
                        parsed.checkLimits(limits)
                        requests.append(parsed)
                    }
                }
            } catch {
                ending = .failed(error)
                return
            }
        }
        ending = .waiting(idle: parser.isIdle, readingBody: parser.isReadingBody)
    }

    var description: String { "\(requests.count) requests \(requests), then \(ending)" }
}

/// The comparable parts of an `HTTPRequest` (it has an arrival time and tuple headers).
struct ParsedRequest: Equatable, CustomStringConvertible {
    var method: String
    var target: String
    var version: HTTPVersion
    var headers: [String]
    var body: [UInt8]
    var keepAlive: Bool

    init(_ request: HTTPRequest) {
        method = request.method
        target = request.target
        version = request.version
        headers = request.headers.map { "\($0.name): \($0.value)" }
        body = request.body
        keepAlive = request.keepAlive
    }

    func checkLimits(_ limits: HTTPParser.Limits) {
        fuzzCheck(!method.isEmpty, "empty method")
        fuzzCheck(target.hasPrefix("/") || target == "*", "target \(target.debugDescription) is neither a path nor *")
        fuzzCheck(headers.count <= limits.maxHeaderCount, "\(headers.count) header fields")
        fuzzCheck(body.count <= limits.maxBodyBytes, "a body of \(body.count) bytes")
    }

    var description: String { "\(method) \(target) \(version) \(headers) body \(body.count) B keepAlive \(keepAlive)" }
}
