import Model

/// A span as Parley needs it, whatever encoding it arrived in: ids as lowercase hex,
/// attribute values as JSON (OTLP's AnyValue mapped to scalars and arrays; kvlist and bytes as
/// JSON text, as Langfuse does), and the resource and scope it came with.
public struct OTLPSpan: Sendable {
    public var traceID: String
    public var spanID: String
    public var parentSpanID: String?
    public var name: String
    public var startNanos: UInt64
    public var endNanos: UInt64
    public var attributes: [(String, JSONValue)]
    public var events: [Event]
    /// 0 unset, 1 ok, 2 error.
    public var statusCode: Int
    public var statusMessage: String
    public var resourceAttributes: [(String, JSONValue)]
    public var scopeName: String
    public var scopeVersion: String
    public var scopeAttributes: [(String, JSONValue)]

    public struct Event: Sendable {
        public var name: String
        public var timeNanos: UInt64
        public var attributes: [(String, JSONValue)]
    }

    public func attribute(_ key: String) -> JSONValue? {
        attributes.last { $0.0 == key }?.1
    }

    public func resourceAttribute(_ key: String) -> JSONValue? {
        resourceAttributes.last { $0.0 == key }?.1
    }
}

/// Why an export could not be read.
public struct OTLPDecodingError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
