import Model

/// Counts the data points of an OTLP metrics export and the records of a logs export, which
/// Parley answers without keeping (docs/DATA_MODEL.md, "OTLP metrics and logs"): the answer's
/// `partialSuccess` names how many it rejected, as the OTLP specification asks of a server that
/// does not accept everything (https://opentelemetry.io/docs/specs/otlp/#partial-success-1).
///
/// The protobuf form is walked on the wire format alone (no generated types for these
/// signals): a fixed path of length-delimited fields, linear in the body's size.
package enum OTLPItemCounter {
    /// The signal of an export.
    package enum Signal: Sendable {
        case metrics
        case logs
    }

    /// Data points (metrics) or log records (logs) in a protobuf `Export…ServiceRequest`.
    package static func countProtobuf(_ bytes: [UInt8], signal: Signal) throws(OTLPDecodingError) -> Int {
        // ExportMetricsServiceRequest.resource_metrics = 1 → ResourceMetrics.scope_metrics = 2 →
        // ScopeMetrics.metrics = 2 → Metric.{gauge 5, sum 7, histogram 9, exponential_histogram 10,
        // summary 11} → <kind>.data_points = 1. ExportLogsServiceRequest.resource_logs = 1 →
        // ResourceLogs.scope_logs = 2 → ScopeLogs.log_records = 2.
        var total = 0
        for resource in try fields(bytes, 0..<bytes.count, number: 1) {
            for scope in try fields(bytes, resource, number: 2) {
                for item in try fields(bytes, scope, number: 2) {
                    switch signal {
                    case .logs: total += 1
                    case .metrics:
                        for kind in [5, 7, 9, 10, 11] {
                            for data in try fields(bytes, item, number: kind) {
                                total += try fields(bytes, data, number: 1).count
                            }
                        }
                    }
                }
            }
        }
        return total
    }

    /// The same count for OTLP/JSON.
    package static func countJSON(_ bytes: [UInt8], signal: Signal) throws(OTLPDecodingError) -> Int {
        guard let document = try? JSONParser.parse(bytes), document.objectValue != nil else {
            throw OTLPDecodingError(message: "body is not OTLP/JSON (a JSON object)")
        }
        let (resources, scopes, items) = signal == .metrics
            ? ("resourceMetrics", "scopeMetrics", "metrics") : ("resourceLogs", "scopeLogs", "logRecords")
        var total = 0
        for resource in document[resources]?.arrayValue ?? [] {
            for scope in resource[scopes]?.arrayValue ?? [] {
                for item in scope[items]?.arrayValue ?? [] {
                    switch signal {
                    case .logs: total += 1
                    case .metrics:
                        for kind in ["gauge", "sum", "histogram", "exponentialHistogram", "summary"] {
                            total += item[kind]?["dataPoints"]?.arrayValue?.count ?? 0
                        }
                    }
                }
            }
        }
        return total
    }

    /// The answer's `partialSuccess` message in protobuf: `Export…ServiceResponse` with field 1
    /// `{1: rejected, 2: message}` (`rejected_data_points` / `rejected_log_records`, `error_message`).
    package static func protobufResponse(rejected: Int, message: String) -> [UInt8] {
        guard rejected > 0 else { return [] }
        var inner: [UInt8] = [0x08]
        varint(UInt64(rejected), into: &inner)
        inner.append(0x12)
        varint(UInt64(message.utf8.count), into: &inner)
        inner += Array(message.utf8)
        var outer: [UInt8] = [0x0A]
        varint(UInt64(inner.count), into: &outer)
        return outer + inner
    }

    static func varint(_ value: UInt64, into bytes: inout [UInt8]) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(rest & 0x7F) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// The byte ranges of every length-delimited field `number` directly inside `range`.
    static func fields(_ bytes: [UInt8], _ range: Range<Int>, number: Int) throws(OTLPDecodingError) -> [Range<Int>] {
        var found: [Range<Int>] = []
        var index = range.lowerBound
        func fail() -> OTLPDecodingError { OTLPDecodingError(message: "body is not a valid OTLP protobuf export") }
        func readVarint() throws(OTLPDecodingError) -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard index < range.upperBound, shift < 64 else { throw fail() }
                let byte = bytes[index]
                index += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
        }
        while index < range.upperBound {
            let key = try readVarint()
            let field = key >> 3
            switch key & 7 {
            case 0: _ = try readVarint()
            case 1: index += 8
            case 5: index += 4
            case 2:
                let length = try readVarint()
                guard length <= UInt64(range.upperBound - index) else { throw fail() }
                let end = index + Int(length)
                if field == UInt64(number) { found.append(index..<end) }
                index = end
            default: throw fail()
            }
            guard index <= range.upperBound else { throw fail() }
        }
        return found
    }
}
