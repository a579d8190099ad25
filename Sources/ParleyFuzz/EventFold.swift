import Ingest
import Model

/// What the write path does with validated events short of SQL: the project's privacy policy,
/// the stored body's text (which storage parses again whenever it re-folds an entity), and the
/// merge of each entity's events into its record.
enum EventFold {
    /// Policies the fuzz targets rotate through, picked per input: pass-through, hashed user ids
    /// with masked input/output, and metadata-only.
    static let policies: [PrivacyPolicy] = [
        (false, ProjectSettings.IOPolicy.full), (true, .masked), (true, .metadataOnly),
    ].map { hash, io in
        PrivacyPolicy(settings: ProjectSettings(), salt: Array("fuzz-salt".utf8),
                      defaults: ProjectDefaults(hashUserIds: hash, ioPolicy: io))
    }

    /// The records a batch of events folds into, as storage would keep them.
    struct Records {
        var traces: [TraceRecord] = []
        var observations: [ObservationRecord] = []
        var scores: [ScoreRecord] = []
    }

    @discardableResult
    static func apply(_ events: [IngestionEvent], policy: PrivacyPolicy) -> Records {
        var records = Records()
        var byEntity: [String: (kind: EntityKind, id: String, events: [StoredEvent])] = [:]
        for event in events {
            let stored = policy.isPassThrough ? event : policy.apply(event)
            guard let kind = stored.type.entityKind, let id = stored.entityID else { continue }
            JSONFuzzer.checkRoundTrip(stored.body, "the body of event \(stored.id.debugDescription)")
            byEntity["\(kind.rawValue):\(id)", default: (kind, id, [])].events.append(
                StoredEvent(type: stored.type, timestampMicros: stored.timestampMicros, body: stored.body))
        }
        // In key order, so that a replayed input folds in the same order.
        for (_, entity) in byEntity.sorted(by: { $0.key < $1.key }) {
            switch entity.kind {
            case .trace:
                let record = Merge.trace(id: entity.id, events: entity.events)
                fuzzCheck(record.traceID == entity.id, "trace record for another id")
                records.traces.append(record)
            case .observation:
                let record = Merge.observation(id: entity.id, events: entity.events)
                fuzzCheck(record.observationID == entity.id, "observation record for another id")
                records.observations.append(record)
            case .score:
                if let record = Merge.score(id: entity.id, events: entity.events) { records.scores.append(record) }
            }
        }
        return records
    }
}
