import Transport

/// What a connection would have seen: the requests in order, then the error that closed it or
/// the state it was left waiting in.
struct ParseTranscript: Equatable, CustomStringConvertible {
    enum Ending: Equatable {
        case failed(HTTPParseError)
        /// Out of bytes: between requests (`idle`) or inside one.
        case waiting(idle: Bool, readingBody: Bool)
    }

    var requests: [Request] = []
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
                        let parsed = Request(request)
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

    /// The comparable parts of an `HTTPRequest` (it has an arrival time and tuple headers).
    struct Request: Equatable, CustomStringConvertible {
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
}
