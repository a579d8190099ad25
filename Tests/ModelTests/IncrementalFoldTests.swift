import Model
import Testing

/// The writer applies an event that sorts after everything an entity has seen as one step on
/// the entity's cached fold, and re-folds from the log otherwise (issue #18). Property: over
/// random events arriving in random orders and chunks, that gives exactly the whole fold
/// (`Merge`) of the events arrived so far, after every chunk.
@Suite("Merge: incremental folds")
struct IncrementalFoldTests {
    /// Timestamps from a small pool, so that ties (the rule that makes a fold re-read) happen.
    static func timestamp(_ generator: inout SeededGenerator) -> Int64 {
        1_700_000_000_000_000 + Int64.random(in: 0..<12, using: &generator) * 1_000
    }

    static func pick<T>(_ values: [T], _ generator: inout SeededGenerator) -> T {
        values[Int.random(in: 0..<values.count, using: &generator)]
    }

    static func text(_ generator: inout SeededGenerator) -> JSONValue {
        pick([.string("a"), .string("b"), .string(""), .null, .number("0"), .number("7"), .bool(true),
              .object([("k", .string("v"))]), .array([.string("x")])], &generator)
    }

    static func metadata(_ generator: inout SeededGenerator) -> JSONValue {
        pick([
            .object([("turn.number", .number("\(Int.random(in: 1...4, using: &generator))"))]),
            .object([("session.id", .string("s-\(Int.random(in: 1...2, using: &generator))")), ("nested", .object([("a", .number("1"))]))]),
            .object([("nested", .object([("b", .string("two"))]))]),
            .string("not an object"), .null,
        ], &generator)
    }

    /// A body of random keys from `keys` (each present with probability one half).
    static func body(_ keys: [(String, (inout SeededGenerator) -> JSONValue)], _ generator: inout SeededGenerator) -> JSONValue {
        var members: [(String, JSONValue)] = []
        for (key, value) in keys where Bool.random(using: &generator) {
            members.append((key, value(&generator)))
        }
        return .object(members)
    }

    static func iso(_ generator: inout SeededGenerator) -> JSONValue {
        .string("2026-11-24T10:00:0\(Int.random(in: 0...9, using: &generator))Z")
    }

    static func traceEvent(_ generator: inout SeededGenerator) -> StoredEvent {
        StoredEvent(type: .traceCreate, timestampMicros: timestamp(&generator), body: body([
            ("name", text), ("userId", text), ("sessionId", text), ("release", text), ("input", text), ("output", text),
            ("metadata", metadata), ("tags", { g in .array([pick([.string("t1"), .string("t2"), .number("3")], &g)]) }),
            ("public", { g in .bool(Bool.random(using: &g)) }), ("environment", { g in pick([.string("prod"), .string("default")], &g) }),
            ("timestamp", iso),
        ], &generator))
    }

    static func observationEvent(_ generator: inout SeededGenerator) -> StoredEvent {
        let type = pick([IngestionEventType.spanCreate, .spanUpdate, .generationCreate, .generationUpdate,
                         .eventCreate, .observationCreate, .observationUpdate], &generator)
        return StoredEvent(type: type, timestampMicros: timestamp(&generator), body: body([
            ("traceId", { g in pick([.string("t1"), .string("t2")], &g) }), ("name", text), ("input", text), ("output", text),
            ("type", { g in pick([.string("tool"), .string("AGENT"), .string("nonsense")], &g) }),
            ("parentObservationId", text), ("startTime", iso), ("endTime", { g in pick([iso(&g), .null], &g) }),
            ("completionStartTime", iso), ("model", text), ("modelParameters", text), ("metadata", metadata),
            ("level", { g in pick([.string("error"), .string("WARNING"), .string("bogus"), .null], &g) }),
            ("statusMessage", text), ("promptVersion", { g in .number("\(Int.random(in: 1...3, using: &g))") }),
            ("usageDetails", { g in pick([.object([("input", .number("10")), ("output", .number("\(Int.random(in: 1...9, using: &g))"))]),
                                          .object([]), .object([("prompt_tokens", .number("5")), ("completion_tokens", .number("2")), ("total_tokens", .number("7"))])], &g) }),
            ("costDetails", { g in pick([.object([("total", .number("0.25"))]), .object([])], &g) }),
            ("usage", { g in .object([("promptTokens", .number("\(Int.random(in: 1...9, using: &g))"))]) }),
        ], &generator))
    }

    static func scoreEvent(_ generator: inout SeededGenerator) -> StoredEvent {
        StoredEvent(type: .scoreCreate, timestampMicros: timestamp(&generator), body: body([
            ("name", { g in pick([.string("quality"), .string("helpful")], &g) }),
            ("value", { g in pick([.number("0.5"), .number("1"), .string("good"), .bool(true)], &g) }),
            ("dataType", { g in pick([.string("NUMERIC"), .string("BOOLEAN"), .string("CATEGORICAL")], &g) }),
            ("traceId", text), ("sessionId", text), ("comment", text), ("metadata", metadata),
            ("source", { g in pick([.string("api"), .string("EVAL")], &g) }), ("timestamp", iso),
        ], &generator))
    }

    /// What the writer does, for one entity: events arrive in chunks; each chunk is applied on
    /// the kept fold when it sorts after it, else everything arrived is re-folded. After every
    /// chunk the kept fold must equal the whole fold of the events arrived so far.
    static func replay<Fold: EntityFold, Record: Equatable>(
        _ events: [StoredEvent], chunks generator: inout SeededGenerator, make: (String) -> Fold,
        record: (Fold) -> Record, whole: ([StoredEvent]) -> Record
    ) -> (steps: Int, refolds: Int, mismatches: Int) {
        var arrived: [StoredEvent] = []
        var kept: Fold?
        var remaining = events
        var (steps, refolds, mismatches) = (0, 0, 0)
        while !remaining.isEmpty {
            let chunk = Array(remaining.prefix(Int.random(in: 1...3, using: &generator)))
            remaining.removeFirst(chunk.count)
            arrived += chunk
            let ordered = Merge.ordered(chunk)
            if var fold = kept, fold.acceptsNext(ordered[0]) {
                for event in ordered { fold.apply(event) }
                kept = fold
                steps += 1
            } else {
                var fold = make("entity")
                for event in Merge.ordered(arrived) { fold.apply(event) }
                kept = fold
                refolds += 1
            }
            if let kept, record(kept) != whole(arrived) { mismatches += 1 }
        }
        return (steps, refolds, mismatches)
    }

    @Test(arguments: 0..<8)
    func incrementalFoldsEqualTheWholeFoldAfterEveryChunk(seed: Int) {
        var generator = SeededGenerator(seed: 0xF01D + UInt64(seed))
        var totals = (steps: 0, refolds: 0)
        for _ in 0..<60 {
            let count = Int.random(in: 1...10, using: &generator)
            let traces = (0..<count).map { _ in Self.traceEvent(&generator) }
            let observations = (0..<count).map { _ in Self.observationEvent(&generator) }
            let scores = (0..<count).map { _ in Self.scoreEvent(&generator) }
            // Mostly in time order, as SDKs send them, sometimes shuffled.
            func arrival(_ events: [StoredEvent]) -> [StoredEvent] {
                Bool.random(using: &generator) ? events.shuffled(using: &generator) : events.sorted { $0.timestampMicros < $1.timestampMicros }
            }
            let results = [
                Self.replay(arrival(traces), chunks: &generator, make: TraceFold.init(id:), record: \.record,
                            whole: { Merge.trace(id: "entity", events: $0) }),
                Self.replay(arrival(observations), chunks: &generator, make: ObservationFold.init(id:), record: \.record,
                            whole: { Merge.observation(id: "entity", events: $0) }),
                Self.replay(arrival(scores), chunks: &generator, make: ScoreFold.init(id:), record: \.record,
                            whole: { Merge.score(id: "entity", events: $0) }),
            ]
            for result in results {
                #expect(result.mismatches == 0, "seed \(seed)")
                totals.steps += result.steps
                totals.refolds += result.refolds
            }
        }
        // Both paths ran, so the comparison above covered the incremental one.
        #expect(totals.steps > 100, "\(totals)")
        #expect(totals.refolds > 100, "\(totals)")
    }

    @Test func anEventBesideOrBeforeTheLastOneIsNotAcceptedAsANextStep() {
        var fold = ObservationFold(id: "o")
        fold.apply(StoredEvent(type: .spanCreate, timestampMicros: 100, body: .object([])))
        #expect(fold.acceptsNext(StoredEvent(type: .spanUpdate, timestampMicros: 100, body: .object([]))))  // creates sort first
        #expect(!fold.acceptsNext(StoredEvent(type: .spanCreate, timestampMicros: 100, body: .object([]))))  // tie: body order
        #expect(!fold.acceptsNext(StoredEvent(type: .spanUpdate, timestampMicros: 99, body: .object([]))))
        #expect(fold.acceptsNext(StoredEvent(type: .spanCreate, timestampMicros: 101, body: .object([]))))
        fold.apply(StoredEvent(type: .spanUpdate, timestampMicros: 100, body: .object([])))
        #expect(!fold.acceptsNext(StoredEvent(type: .spanUpdate, timestampMicros: 100, body: .object([]))))
    }
}
