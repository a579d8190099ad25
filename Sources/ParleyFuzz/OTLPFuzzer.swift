import Ingest
import OTLP

/// An OTLP/HTTP trace export as the handler reads it (OTLPHandlers.traces): decoded from
/// protobuf or OTLP/JSON, mapped to ingestion events, and those through `EventFold`.
enum OTLPFuzzer {
    static func runProtobuf(_ input: [UInt8]) {
        guard let export = try? OTLPDecoder.decodeProtobuf(input) else { return }
        map(export, input)
    }

    static func runJSON(_ input: [UInt8]) {
        guard let export = try? OTLPDecoder.decodeJSON(input) else { return }
        map(export, input)
    }

    static func map(_ export: OTLPExport, _ input: [UInt8]) {
        var random = InputRandom(input)
        _ = export.rejectionMessage
        for span in export.spans {
            fuzzCheck(span.traceID.utf8.count == 32 && span.spanID.utf8.count == 16, "span ids of the wrong length passed")
        }
        let events = OTLPMapper.events(for: export.spans)
        EventFold.apply(events, policy: EventFold.policies[random.next(in: 0...(EventFold.policies.count - 1))])
    }
}
