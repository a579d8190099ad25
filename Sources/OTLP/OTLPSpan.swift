import Model

/// A span as Parley needs it, whatever encoding it arrived in: ids as lowercase hex,
/// attribute values as JSON (OTLP's AnyValue mapped to scalars and arrays; kvlist and bytes as
/// JSON text, as Langfuse does), and the resource and scope it came with.
package struct OTLPSpan: Sendable {
    package var traceID: String
    package var spanID: String
    package var parentSpanID: String?
    package var name: String
    package var startNanos: UInt64
    package var endNanos: UInt64
    package var attributes: [(String, JSONValue)]
    package var events: [Event]
    /// 0 unset, 1 ok, 2 error.
    package var statusCode: Int
    package var statusMessage: String
    package var resourceAttributes: [(String, JSONValue)]
    package var scopeName: String
    package var scopeVersion: String
    package var scopeAttributes: [(String, JSONValue)]

    package struct Event: Sendable {
        package var name: String
        package var timeNanos: UInt64
        package var attributes: [(String, JSONValue)]
    }

    package func attribute(_ key: String) -> JSONValue? {
        attributes.last { $0.0 == key }?.1
    }

    package func resourceAttribute(_ key: String) -> JSONValue? {
        resourceAttributes.last { $0.0 == key }?.1
    }
}

/// Why an export could not be read.
package struct OTLPDecodingError: Error, Equatable, Sendable, CustomStringConvertible {
    package let message: String
    package var description: String { message }
}
