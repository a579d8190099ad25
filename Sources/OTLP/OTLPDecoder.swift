import Foundation
import Model
import SwiftProtobuf

/// The spans of one export, and the ones that could not be accepted.
///
/// A body that cannot be read at all is an `OTLPDecodingError` (HTTP 400). A readable body
/// whose individual spans are unusable (ids of the wrong length, not hex, or all zero, which
/// the OpenTelemetry trace API defines as invalid) loses only those spans: the export is
/// answered 200 with `partialSuccess` naming how many and why, per the OTLP/HTTP spec
/// (https://opentelemetry.io/docs/specs/otlp/#partial-success-1).
package struct OTLPExport: Sendable {
    package var spans: [OTLPSpan] = []
    /// One reason per rejected span.
    package var rejections: [String] = []

    /// The `errorMessage` of `partialSuccess`: the distinct reasons, in first-seen order.
    package var rejectionMessage: String {
        var seen = Set<String>()
        return rejections.filter { seen.insert($0).inserted }.joined(separator: "; ")
    }
}

/// Decodes `ExportTraceServiceRequest` bodies, binary protobuf or OTLP/JSON
/// (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding), into `OTLPSpan`s.
package enum OTLPDecoder {
    /// Binary protobuf (`application/x-protobuf`).
    package static func decodeProtobuf(_ bytes: [UInt8]) throws(OTLPDecodingError) -> OTLPExport {
        let request: Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceRequest
        do {
            request = try Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceRequest(serializedBytes: bytes)
        } catch {
            throw OTLPDecodingError(message: "body is not a valid OTLP protobuf ExportTraceServiceRequest")
        }
        var export = OTLPExport()
        for resourceSpans in request.resourceSpans {
            let resource = resourceSpans.resource.attributes.map(keyValue)
            for scopeSpans in resourceSpans.scopeSpans {
                let scope = scopeSpans.scope
                let scopeAttributes = scope.attributes.map(keyValue)
                for span in scopeSpans.spans {
                    if let problem = idProblem(trace: span.traceID, span: span.spanID, parent: span.parentSpanID) {
                        export.rejections.append(problem)
                        continue
                    }
                    export.spans.append(OTLPSpan(
                        traceID: hex(span.traceID), spanID: hex(span.spanID),
                        parentSpanID: span.parentSpanID.isEmpty ? nil : hex(span.parentSpanID),
                        name: span.name, startNanos: span.startTimeUnixNano, endNanos: span.endTimeUnixNano,
                        attributes: span.attributes.map(keyValue),
                        events: span.events.map { OTLPSpan.Event(name: $0.name, timeNanos: $0.timeUnixNano, attributes: $0.attributes.map(keyValue)) },
                        statusCode: span.status.code.rawValue, statusMessage: span.status.message,
                        resourceAttributes: resource, scopeName: scope.name, scopeVersion: scope.version,
                        scopeAttributes: scopeAttributes))
                }
            }
        }
        return export
    }

    /// Why a span's ids are unusable, or nil.
    static func idProblem(trace: Data, span: Data, parent: Data) -> String? {
        if trace.count != 16 || trace.allSatisfy({ $0 == 0 }) { return "traceId must be 16 bytes, not all zero" }
        if span.count != 8 || span.allSatisfy({ $0 == 0 }) { return "spanId must be 8 bytes, not all zero" }
        if !parent.isEmpty && parent.count != 8 { return "parentSpanId must be empty or 8 bytes" }
        return nil
    }

    private static func keyValue(_ pair: Opentelemetry_Proto_Common_V1_KeyValue) -> (String, JSONValue) {
        (pair.key, anyValue(pair.value))
    }

    private static func anyValue(_ value: Opentelemetry_Proto_Common_V1_AnyValue) -> JSONValue {
        switch value.value {
        case .stringValue(let text): .string(text)
        case .boolValue(let flag): .bool(flag)
        case .intValue(let number): .number(String(number))
        case .doubleValue(let number): JSONValue(number)
        case .arrayValue(let array): .array(array.values.map(anyValue))
        case .kvlistValue(let list): .string(JSONValue.object(list.values.map(keyValue)).jsonText)
        case .bytesValue(let bytes): .string(bytes.base64EncodedString())
        case nil: .null
        }
    }

    static func hex(_ data: Data) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(data.count * 2)
        for byte in data {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: OTLP/JSON

    /// OTLP/JSON (`application/json`): ids are hex strings, 64-bit integers may be numbers or
    /// decimal strings, enums are integers.
    package static func decodeJSON(_ bytes: [UInt8]) throws(OTLPDecodingError) -> OTLPExport {
        let document: JSONValue
        do {
            document = try JSONParser.parse(bytes)
        } catch {
            throw OTLPDecodingError(message: "body is not valid JSON (\(error))")
        }
        guard document.objectValue != nil else { throw OTLPDecodingError(message: "expected an ExportTraceServiceRequest object") }
        var export = OTLPExport()
        for resourceSpans in try array(document, "resourceSpans") {
            let resource = try attributes(resourceSpans["resource"] ?? .object([]))
            for scopeSpans in try array(resourceSpans, "scopeSpans") {
                let scope = scopeSpans["scope"] ?? .object([])
                let scopeAttributes = try attributes(scope)
                for span in try array(scopeSpans, "spans") {
                    guard span.objectValue != nil else { throw OTLPDecodingError(message: "each span must be an object") }
                    let traceID = span["traceId"]?.stringValue?.lowercased() ?? ""
                    let spanID = span["spanId"]?.stringValue?.lowercased() ?? ""
                    let parent = span["parentSpanId"]?.stringValue?.lowercased()
                    if traceID.count != 32 || !isHex(traceID) || traceID.allSatisfy({ $0 == "0" }) {
                        export.rejections.append("traceId must be 32 hex digits, not all zero")
                        continue
                    }
                    if spanID.count != 16 || !isHex(spanID) || spanID.allSatisfy({ $0 == "0" }) {
                        export.rejections.append("spanId must be 16 hex digits, not all zero")
                        continue
                    }
                    if let parent, !parent.isEmpty, parent.count != 16 || !isHex(parent) {
                        export.rejections.append("parentSpanId must be empty or 16 hex digits")
                        continue
                    }
                    var events: [OTLPSpan.Event] = []
                    for event in try array(span, "events") {
                        events.append(OTLPSpan.Event(
                            name: event["name"]?.stringValue ?? "", timeNanos: try uint64(event["timeUnixNano"]),
                            attributes: try attributes(event)))
                    }
                    let status = span["status"] ?? .object([])
                    export.spans.append(OTLPSpan(
                        traceID: traceID, spanID: spanID, parentSpanID: (parent?.isEmpty ?? true) ? nil : parent,
                        name: span["name"]?.stringValue ?? "", startNanos: try uint64(span["startTimeUnixNano"]),
                        endNanos: try uint64(span["endTimeUnixNano"]), attributes: try attributes(span), events: events,
                        statusCode: Int(status["code"]?.intValue ?? 0), statusMessage: status["message"]?.stringValue ?? "",
                        resourceAttributes: resource, scopeName: scope["name"]?.stringValue ?? "",
                        scopeVersion: scope["version"]?.stringValue ?? "", scopeAttributes: scopeAttributes))
                }
            }
        }
        return export
    }

    private static func array(_ object: JSONValue, _ key: String) throws(OTLPDecodingError) -> [JSONValue] {
        guard let value = object[key], !value.isNull else { return [] }
        guard let values = value.arrayValue else { throw OTLPDecodingError(message: "\(key) must be an array") }
        return values
    }

    private static func attributes(_ object: JSONValue) throws(OTLPDecodingError) -> [(String, JSONValue)] {
        try array(object, "attributes").map { pair throws(OTLPDecodingError) in
            guard let key = pair["key"]?.stringValue else { throw OTLPDecodingError(message: "attribute without a key") }
            return (key, try jsonAnyValue(pair["value"] ?? .null))
        }
    }

    private static func jsonAnyValue(_ value: JSONValue) throws(OTLPDecodingError) -> JSONValue {
        if let text = value["stringValue"]?.stringValue { return .string(text) }
        if let flag = value["boolValue"]?.boolValue { return .bool(flag) }
        if let number = value["intValue"] {
            if let integer = number.intValue { return .number(String(integer)) }
            if let text = number.stringValue, let integer = Int64(text) { return .number(String(integer)) }
            throw OTLPDecodingError(message: "intValue must be an integer")
        }
        if let number = value["doubleValue"] {
            if case .number = number { return number }
            if let text = number.stringValue, let double = Double(text) { return JSONValue(double) }
            throw OTLPDecodingError(message: "doubleValue must be a number")
        }
        if let array = value["arrayValue"] {
            return .array(try self.array(array, "values").map { item throws(OTLPDecodingError) in try jsonAnyValue(item) })
        }
        if let list = value["kvlistValue"] {
            return .string(JSONValue.object(try attributes(.object([("attributes", list["values"] ?? .array([]))]))).jsonText)
        }
        if let bytes = value["bytesValue"]?.stringValue { return .string(bytes) }
        return .null
    }

    private static func uint64(_ value: JSONValue?) throws(OTLPDecodingError) -> UInt64 {
        guard let value, !value.isNull else { return 0 }
        if case .number(let text) = value, let number = UInt64(text) { return number }
        if let text = value.stringValue, let number = UInt64(text) { return number }
        throw OTLPDecodingError(message: "time fields must be unsigned 64-bit integers (numbers or decimal strings)")
    }

    private static func isHex(_ text: String) -> Bool {
        text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}
