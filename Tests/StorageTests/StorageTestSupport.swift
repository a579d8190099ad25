import Model
import Storage
import TestSupport

/// The events of a captured ingestion batch (`Tests/Fixtures/sdk/…`) as the ingestion handler
/// hands them to `IngestionStore.apply`: envelope id, type, envelope time and body.
func capturedEvents(_ relativePath: String) throws -> [IngestionEvent] {
    let document = try JSONParser.parse(try SDKFixtures.bytes(relativePath))
    return try (document["batch"]?.arrayValue ?? []).map { envelope in
        guard let id = envelope["id"]?.stringValue,
              let type = envelope["type"]?.stringValue.flatMap(IngestionEventType.init(rawValue:)),
              let timestamp = envelope["timestamp"]?.stringValue.flatMap(Timestamp.parseMicros),
              let body = envelope["body"]
        else { throw FixtureError(path: relativePath, reason: "unexpected event \(envelope.jsonText.prefix(80))") }
        return IngestionEvent(id: id, type: type, timestampMicros: timestamp, body: body)
    }
}

/// Both 2.60.10 batches: three chat turns, one score.
func capturedConversation() throws -> [IngestionEvent] {
    try capturedEvents("langfuse-python-2.60.10/ingestion-batch-1.json")
        + capturedEvents("langfuse-python-2.60.10/ingestion-batch-2.json")
}

/// An event built in a test; `seconds` after 2026-01-01T00:00:00Z.
func makeEvent(_ id: String, _ type: IngestionEventType, at seconds: Int64, _ body: String) throws -> IngestionEvent {
    IngestionEvent(id: id, type: type, timestampMicros: 1_767_225_600_000_000 + seconds * 1_000_000,
                   body: try JSONParser.parse(body))
}

extension TestDatabase {
    /// `IngestionStore.apply` through the real writer, as the ingestion handler calls it.
    func apply(_ events: [IngestionEvent], projectID: Int64, now: Int64 = 1_000) async throws -> [IngestionStore.Outcome] {
        try await database.writer.write { db in
            try IngestionStore.apply(events, projectID: projectID, now: now, on: db)
        }
    }
}
