import Model
import Testing

/// The fold is a function of the set of events (langfuse-api.md §3.8): shuffling the events of
/// an entity never changes its record.
@Suite("Merge: order independence")
struct MergeOrderTests {
    /// Every event of both 2.60.10 batches, grouped by entity.
    static func capturedEntities() throws -> [(kind: EntityKind, id: String, events: [StoredEvent])] {
        let all = try Fixtures.storedEvents("langfuse-python-2.60.10/ingestion-batch-1.json")
            + Fixtures.storedEvents("langfuse-python-2.60.10/ingestion-batch-2.json")
            + Fixtures.storedEvents("langfuse-python-2.60.10/retry-207-partial-error-first-attempt.json")
        var order: [String] = []
        var groups: [String: (kind: EntityKind, id: String, events: [StoredEvent])] = [:]
        for (kind, id, event) in all {
            let key = "\(kind.rawValue)/\(id)"
            if groups[key] == nil {
                order.append(key)
                groups[key] = (kind, id, [])
            }
            groups[key]?.events.append(event)
        }
        return order.compactMap { groups[$0] }
    }

    @Test func capturedEntitiesFoldTheSameInEveryShuffledOrder() throws {
        let entities = try Self.capturedEntities()
        #expect(entities.count > 20)
        #expect(entities.contains { $0.events.count > 1 })
        var generator = SeededGenerator(seed: 0x5EED)
        for entity in entities {
            let orders = [entity.events, entity.events.reversed()]
                + (0..<20).map { _ in entity.events.shuffled(using: &generator) }
            switch entity.kind {
            case .trace:
                let expected = Merge.trace(id: entity.id, events: entity.events)
                for order in orders { #expect(Merge.trace(id: entity.id, events: order) == expected) }
            case .observation:
                let expected = Merge.observation(id: entity.id, events: entity.events)
                for order in orders { #expect(Merge.observation(id: entity.id, events: order) == expected) }
            case .score:
                let expected = Merge.score(id: entity.id, events: entity.events)
                for order in orders { #expect(Merge.score(id: entity.id, events: order) == expected) }
            }
        }
    }

    @Test func repeatedEventsDoNotChangeTheRecord() throws {
        for entity in try Self.capturedEntities() where entity.kind == .observation {
            let once = Merge.observation(id: entity.id, events: entity.events)
            let twice = Merge.observation(id: entity.id, events: entity.events + entity.events.reversed())
            #expect(once == twice)
        }
    }

    @Test func equalTimestampsPutCreatesBeforeUpdates() throws {
        let create = try event(.spanCreate, at: 1, #"{"id":"o","name":"from create","startTime":"2026-01-01T00:00:00Z"}"#)
        let update = try event(.spanUpdate, at: 1, #"{"id":"o","name":"from update"}"#)
        #expect(Merge.observation(id: "o", events: [update, create]).name == "from update")
        #expect(Merge.observation(id: "o", events: [create, update]).name == "from update")
        #expect(Merge.observation(id: "o", events: [update, create]).startTimeMillis == millis(at: 0))
    }

    @Test func exactTiesBetweenCreatesResolveTheSameWayInEveryOrder() throws {
        let events = try (0..<6).map { index in
            try event(.traceCreate, at: 1, #"{"id":"t","name":"writer-\#(index)","tags":["t\#(index)"],"metadata":{"k":\#(index)},"input":"in-\#(index)"}"#)
        }
        let expected = Merge.trace(id: "t", events: events)
        var generator = SeededGenerator(seed: 42)
        for _ in 0..<50 {
            #expect(Merge.trace(id: "t", events: events.shuffled(using: &generator)) == expected)
        }
        #expect(expected.tags == ["t0", "t1", "t2", "t3", "t4", "t5"])
    }

    @Test func syntheticMixOfEveryRuleIsOrderIndependent() throws {
        let events = [
            try event(.generationUpdate, at: 4, #"{"id":"g","usageDetails":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12,"prompt_tokens_details":{"cached_tokens":2}},"endTime":"2026-01-01T00:00:01Z"}"#),
            try event(.generationCreate, at: 2, #"{"id":"g","traceId":"t","name":"llm","metadata":{"a":{"x":1}},"input":"q","environment":"LANGFUSE_Prod"}"#),
            try event(.generationUpdate, at: 3, #"{"id":"g","metadata":{"a":{"y":2}},"output":"","level":"ERROR","costDetails":{"input":0.1}}"#),
            try event(.spanUpdate, at: 5, #"{"id":"g","output":{"done":true},"statusMessage":"ok","usageDetails":{}}"#),
            try event(.generationUpdate, at: 6, #"{"id":"g","statusMessage":null,"traceId":"other"}"#),
        ]
        let expected = Merge.observation(id: "g", events: events)
        #expect(expected.type == "GENERATION")
        #expect(expected.environment == "prod")
        #expect(expected.traceID == "t")
        #expect(expected.statusMessage == nil)
        #expect(expected.level == "ERROR")
        #expect(expected.startTimeMillis == millis(at: 2))
        #expect(expected.endTimeMillis == millis(at: 2))  // end before start: moved up
        #expect(expected.inputTokens == 7)
        #expect(expected.totalTokens == 12)
        #expect(expected.totalCost == 0.1)
        var generator = SeededGenerator(seed: 9)
        for _ in 0..<50 {
            #expect(Merge.observation(id: "g", events: events.shuffled(using: &generator)) == expected)
        }
    }
}
