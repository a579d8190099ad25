import Transport

/// Puts the input behind a request head with `Content-Encoding: gzip`, `deflate` or both, and
/// has the parser decode it (zlib through `ContentDecoder`). Any input must end in a request
/// whose decoded body is within the limit, a 400 or a 413; nothing else.
enum ContentCodingFuzzer {
    static let codings = ["gzip", "deflate", "x-gzip", "deflate, gzip", "gzip, identity"]

    /// Decoded bodies are capped well below the default 16 MB, so that compression bombs cost
    /// milliseconds per input, not seconds; the cap is checked the same way at any size.
    static let limits: HTTPParser.Limits = {
        var limits = HTTPParser.Limits()
        limits.maxBodyBytes = 256 * 1024
        return limits
    }()

    static func run(_ input: [UInt8]) {
        var random = InputRandom(input)
        let coding = codings[random.next(in: 0...(codings.count - 1))]
        var parser = HTTPParser(limits: limits)
        parser.append(Array("POST /api/public/otel/v1/traces HTTP/1.1\r\nHost: fuzz\r\nContent-Encoding: \(coding)\r\nContent-Length: \(input.count)\r\n\r\n".utf8))
        parser.append(input)
        do {
            switch try parser.next() {
            case .request(let request):
                fuzzCheck(request.body.count <= limits.maxBodyBytes, "decoded body of \(request.body.count) bytes")
                fuzzCheck(request.headers["Content-Encoding"] == nil, "Content-Encoding left on a decoded request")
                fuzzCheck(request.headers["Content-Length"] == String(request.body.count),
                          "Content-Length \(request.headers["Content-Length"] ?? "none") for \(request.body.count) decoded bytes")
            case .needMore, .continueExpected:
                // An empty body has no Content-Length framing left to wait for, so the request
                // comes at once; anything else means the parser lost track of the length.
                fuzzCheck(false, "no request for a complete \(input.count)-byte body")
            }
        } catch {
            switch error {
            case .badRequest, .bodyTooLarge: break
            default: fuzzCheck(false, "unexpected error \(error) for \(coding)")
            }
        }
    }
}
