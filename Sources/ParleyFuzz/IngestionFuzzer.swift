import Ingest
import Model

/// A `POST /api/public/ingestion` body as the handler reads it (IngestionHandlers.batch): the
/// JSON document, its `batch` array, each event validated on its own, and the accepted ones
/// through `EventFold`.
enum IngestionFuzzer {
    static func run(_ input: [UInt8]) {
        guard let document = try? JSONParser.parse(input), let batch = document["batch"]?.arrayValue else { return }
        var random = InputRandom(input)
        var accepted: [IngestionEvent] = []
        for raw in batch {
            switch EventValidator.validate(raw) {
            case .success(let event):
                accepted.append(event)
            case .failure:
                let id = EventValidator.reportedID(raw)
                fuzzCheck(!id.isEmpty, "empty reported id")
            }
        }
        EventFold.apply(accepted, policy: EventFold.policies[random.next(in: 0...(EventFold.policies.count - 1))])
    }
}
