/// Why a request could not be framed. Each case maps to exactly one status; after any of them
/// the connection is closed, because the stream position is no longer trustworthy.
package enum HTTPParseError: Error, Equatable, Sendable {
    /// Malformed syntax or a request-smuggling shape (RFC 9112 §6.3).
    case badRequest(String)
    /// The request line alone is longer than the header limit.
    case uriTooLong
    /// Request line plus headers (or trailers) exceed the header limit, or there are too many fields.
    case headersTooLarge
    /// The body, after decompression, exceeds the body limit.
    case bodyTooLarge
    /// A transfer coding other than chunked (RFC 9112 §6.1).
    case notImplemented(String)
    /// A content coding Parley cannot decode (RFC 9110 §15.5.16).
    case unsupportedMediaType(String)
    /// An `Expect` other than 100-continue (RFC 9110 §10.1.1).
    case expectationFailed
    /// A major version other than 1.
    case versionNotSupported

    /// The status this error is answered with.
    package var status: Int {
        switch self {
        case .badRequest: 400
        case .uriTooLong: 414
        case .headersTooLarge: 431
        case .bodyTooLarge: 413
        case .notImplemented: 501
        case .unsupportedMediaType: 415
        case .expectationFailed: 417
        case .versionNotSupported: 505
        }
    }

    /// The `error` field of the JSON body.
    package var code: String {
        switch self {
        case .badRequest: "BadRequest"
        case .uriTooLong: "URITooLong"
        case .headersTooLarge: "RequestHeaderFieldsTooLarge"
        case .bodyTooLarge: "PayloadTooLarge"
        case .notImplemented: "NotImplemented"
        case .unsupportedMediaType: "UnsupportedMediaType"
        case .expectationFailed: "ExpectationFailed"
        case .versionNotSupported: "HTTPVersionNotSupported"
        }
    }

    /// A human-readable `message` for the JSON body.
    package var message: String {
        switch self {
        case .badRequest(let reason): "Bad request: \(reason)"
        case .uriTooLong: "Request line exceeds the header size limit"
        case .headersTooLarge: "Request header fields exceed the size or count limit"
        case .bodyTooLarge: "Request body exceeds the size limit"
        case .notImplemented(let what): "Not implemented: \(what)"
        case .unsupportedMediaType(let what): "Unsupported content encoding: \(what)"
        case .expectationFailed: "Only 'Expect: 100-continue' is supported"
        case .versionNotSupported: "Only HTTP/1.0 and HTTP/1.1 are supported"
        }
    }
}
