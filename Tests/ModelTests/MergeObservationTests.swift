import Model
import Testing

/// `Merge.observation`: the observation rules of langfuse-api.md §3.7 (and §3.2 for types).
@Suite("Merge: observations")
struct MergeObservationTests {
    @Test func laterValuesOverwriteAndNullClears() throws {
        let record = Merge.observation(id: "o", events: [
            try event(.generationCreate, at: 1, #"{"id":"o","traceId":"t","name":"llm","model":"gpt-4o-mini","statusMessage":"running","version":"1","modelParameters":{"temperature":"0.2"}}"#),
            try event(.generationUpdate, at: 2, #"{"id":"o","model":"gpt-4o","statusMessage":null,"modelParameters":{"max_tokens":256}}"#),
        ])
        #expect(record.name == "llm")
        #expect(record.model == "gpt-4o")
        #expect(record.statusMessage == nil)
        #expect(record.version == "1")
        // modelParameters is a value, not a map to merge: the later one replaces it.
        #expect(try parsed(record.modelParameters) == json(#"{"max_tokens":256}"#))
    }

    @Test func traceIDStartTimeAndEnvironmentKeepTheirFirstValue() throws {
        let record = Merge.observation(id: "o", events: [
            try event(.spanCreate, at: 1, #"{"id":"o","traceId":"t1","startTime":"2026-01-01T00:00:01Z","environment":"production"}"#),
            try event(.spanUpdate, at: 2, #"{"id":"o","traceId":"t2","startTime":"2026-01-01T00:00:02Z","environment":"staging"}"#),
        ])
        #expect(record.observationID == "o")
        #expect(record.traceID == "t1")
        #expect(record.startTimeMillis == millis(at: 1))
        #expect(record.environment == "production")
    }

    @Test func startTimeDefaultsToTheFirstEnvelopeTimeEvenForAnEarlyUpdate() throws {
        // §3.7 rule 8: an update arriving before its create fixes the start time to its own envelope time.
        let record = Merge.observation(id: "o", events: [
            try event(.spanCreate, at: 5, #"{"id":"o","startTime":"2026-01-01T00:00:04Z"}"#),
            try event(.spanUpdate, at: 3, #"{"id":"o","output":"done"}"#),
        ])
        #expect(record.startTimeMillis == millis(at: 3))
    }

    @Test func endTimeBeforeStartTimeIsMovedToStartTime() throws {
        let record = Merge.observation(id: "o", events: [
            try event(.spanCreate, at: 1, #"{"id":"o","startTime":"2026-01-01T00:00:10Z"}"#),
            try event(.spanUpdate, at: 2, #"{"id":"o","endTime":"2026-01-01T00:00:04Z"}"#),
        ])
        #expect(record.endTimeMillis == millis(at: 10))

        let ordinary = Merge.observation(id: "o", events: [
            try event(.spanCreate, at: 1, #"{"id":"o","startTime":"2026-01-01T00:00:10Z","endTime":"2026-01-01T00:00:12.5Z"}"#),
        ])
        #expect(ordinary.endTimeMillis == millis(at: 12) + 500)
    }

    @Test func endTimeCanBeClearedWithNull() throws {
        let record = Merge.observation(id: "o", events: [
            try event(.spanCreate, at: 1, #"{"id":"o","endTime":"2026-01-01T00:00:10Z","completionStartTime":"2026-01-01T00:00:05Z"}"#),
            try event(.spanUpdate, at: 2, #"{"id":"o","endTime":null,"completionStartTime":null}"#),
        ])
        #expect(record.endTimeMillis == nil)
        #expect(record.completionStartTimeMillis == nil)
    }

    @Test func levelDefaultsToDEFAULTAndIsUpperCased() throws {
        let missing = Merge.observation(id: "o", events: [try event(.spanCreate, at: 1, #"{"id":"o"}"#)])
        #expect(missing.level == "DEFAULT")
        let given = Merge.observation(id: "o", events: [try event(.spanCreate, at: 1, #"{"id":"o","level":"warning"}"#)])
        #expect(given.level == "WARNING")
        let cleared = Merge.observation(id: "o", events: [
            try event(.spanCreate, at: 1, #"{"id":"o","level":"ERROR"}"#),
            try event(.spanUpdate, at: 2, #"{"id":"o","level":null}"#),
        ])
        #expect(cleared.level == "DEFAULT")
    }

    @Test func typeComesFromTheLastEventType() throws {
        let record = Merge.observation(id: "o", events: [
            try event(.spanCreate, at: 1, #"{"id":"o"}"#),
            try event(.generationUpdate, at: 2, #"{"id":"o"}"#),
        ])
        #expect(record.type == "GENERATION")
        let reversed = Merge.observation(id: "o", events: [
            try event(.generationCreate, at: 1, #"{"id":"o"}"#),
            try event(.spanUpdate, at: 2, #"{"id":"o"}"#),
        ])
        #expect(reversed.type == "SPAN")
    }

    @Test(arguments: [
        (IngestionEventType.eventCreate, "EVENT"), (.agentCreate, "AGENT"), (.toolCreate, "TOOL"), (.chainCreate, "CHAIN"),
        (.retrieverCreate, "RETRIEVER"), (.evaluatorCreate, "EVALUATOR"), (.embeddingCreate, "EMBEDDING"),
        (.guardrailCreate, "GUARDRAIL"), (.spanCreate, "SPAN"), (.generationCreate, "GENERATION"),
    ])
    func eachCreateEventSetsItsObservationType(type: IngestionEventType, expected: String) throws {
        let record = Merge.observation(id: "o", events: [try event(type, at: 1, #"{"id":"o"}"#)])
        #expect(record.type == expected)
    }

    @Test func legacyObservationEventsTakeTheTypeFromTheBody() throws {
        let record = Merge.observation(id: "o", events: [
            try event(.observationCreate, at: 1, #"{"id":"o","type":"generation"}"#),
        ])
        #expect(record.type == "GENERATION")
        let updated = Merge.observation(id: "o", events: [
            try event(.observationCreate, at: 1, #"{"id":"o","type":"SPAN"}"#),
            try event(.observationUpdate, at: 2, #"{"id":"o","type":"EVENT"}"#),
        ])
        #expect(updated.type == "EVENT")
    }

    @Test func metadataDeepMergesAndInputOutputKeepTheLastTruthyValue() throws {
        let record = Merge.observation(id: "o", events: [
            try event(.spanCreate, at: 1, #"{"id":"o","metadata":{"agent":"travel","n":{"a":1}},"input":{"q":1},"output":{"a":1}}"#),
            try event(.spanUpdate, at: 2, #"{"id":"o","metadata":{"n":{"b":2}},"input":"","output":{"a":2}}"#),
        ])
        #expect(try parsed(record.metadata) == json(#"{"agent":"travel","n":{"a":1,"b":2}}"#))
        #expect(try parsed(record.input) == json(#"{"q":1}"#))
        #expect(try parsed(record.output) == json(#"{"a":2}"#))
    }

    @Test func promptLinkIsOverwrittenTogether() throws {
        let record = Merge.observation(id: "o", events: [
            try event(.generationCreate, at: 1, #"{"id":"o","promptName":"p","promptVersion":3}"#),
            try event(.generationUpdate, at: 2, #"{"id":"o","promptName":"q","promptVersion":4}"#),
        ])
        #expect(record.promptName == "q")
        #expect(record.promptVersion == 4)
    }

    @Test func parentObservationIsRecorded() throws {
        let record = Merge.observation(id: "o", events: [
            try event(.spanCreate, at: 1, #"{"id":"o","traceId":"t","parentObservationId":"root"}"#),
        ])
        #expect(record.parentObservationID == "root")
        #expect(record.traceID == "t")
    }
}
