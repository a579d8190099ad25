import Model
import Testing

/// `Merge.trace`: the merge rules of langfuse-api.md §3.7 as they apply to traces, one by one.
@Suite("Merge: traces")
struct MergeTraceTests {
    @Test func laterValuesOverwriteEarlierOnes() throws {
        let record = Merge.trace(id: "t", events: [
            try event(.traceCreate, at: 1, #"{"id":"t","name":"first","userId":"u1","release":"r1","version":"v1"}"#),
            try event(.traceCreate, at: 2, #"{"id":"t","name":"second","userId":"u2"}"#),
        ])
        #expect(record.name == "second")
        #expect(record.userID == "u2")
        #expect(record.release == "r1")  // absent later: kept
        #expect(record.version == "v1")
    }

    @Test func explicitNullClearsAValue() throws {
        let record = Merge.trace(id: "t", events: [
            try event(.traceCreate, at: 1, #"{"id":"t","name":"n","sessionId":"s","release":"r"}"#),
            try event(.traceCreate, at: 2, #"{"id":"t","name":null,"sessionId":null}"#),
        ])
        #expect(record.name == nil)
        #expect(record.sessionID == nil)
        #expect(record.release == "r")
    }

    @Test func idTimestampAndEnvironmentKeepTheirFirstValue() throws {
        let record = Merge.trace(id: "t", events: [
            try event(.traceCreate, at: 5, #"{"id":"t","timestamp":"2026-01-01T00:00:09Z","environment":"staging"}"#),
            try event(.traceCreate, at: 1, #"{"id":"t","timestamp":"2026-01-01T00:00:03Z","environment":"production"}"#),
        ])
        // The event at t=1 is first by envelope time, whatever the list order.
        #expect(record.traceID == "t")
        #expect(record.timestampMillis == millis(at: 3))
        #expect(record.environment == "production")
    }

    @Test func timestampDefaultsToTheFirstEnvelopeTime() throws {
        let record = Merge.trace(id: "t", events: [
            try event(.traceCreate, at: 7, #"{"id":"t","name":"n"}"#),
            try event(.traceCreate, at: 9, #"{"id":"t","timestamp":"2026-01-01T00:00:01Z"}"#),
        ])
        #expect(record.timestampMillis == millis(at: 7))
    }

    @Test func environmentIsNormalisedAndDefaults() throws {
        let normalised = Merge.trace(id: "t", events: [try event(.traceCreate, at: 1, #"{"id":"t","environment":"Langfuse-Prod"}"#)])
        #expect(normalised.environment == "prod")
        let invalid = Merge.trace(id: "t", events: [try event(.traceCreate, at: 1, #"{"id":"t","environment":"not valid"}"#)])
        #expect(invalid.environment == "default")
        let missing = Merge.trace(id: "t", events: [try event(.traceCreate, at: 1, #"{"id":"t"}"#)])
        #expect(missing.environment == "default")
    }

    @Test func metadataIsDeepMergedWithLaterKeysWinning() throws {
        let record = Merge.trace(id: "t", events: [
            try event(.traceCreate, at: 1, #"{"id":"t","metadata":{"a":{"x":1,"y":1},"b":1,"keep":"k"}}"#),
            try event(.traceCreate, at: 2, #"{"id":"t","metadata":{"a":{"y":2,"z":2},"b":{"now":"object"}}}"#),
            try event(.traceCreate, at: 3, #"{"id":"t","name":"no metadata here"}"#),
        ])
        let expected = try json(#"{"a":{"x":1,"y":2,"z":2},"b":{"now":"object"},"keep":"k"}"#)
        #expect(try parsed(record.metadata) == expected)
    }

    @Test func nonObjectMetadataIsWrappedUnderTheKeyMetadata() throws {
        let text = Merge.trace(id: "t", events: [try event(.traceCreate, at: 1, #"{"id":"t","metadata":"plain"}"#)])
        #expect(try parsed(text.metadata) == json(#"{"metadata":"plain"}"#))

        let array = Merge.trace(id: "t", events: [try event(.traceCreate, at: 1, #"{"id":"t","metadata":[1,2]}"#)])
        #expect(try parsed(array.metadata) == json(#"{"metadata":[1,2]}"#))

        let mixed = Merge.trace(id: "t", events: [
            try event(.traceCreate, at: 1, #"{"id":"t","metadata":42}"#),
            try event(.traceCreate, at: 2, #"{"id":"t","metadata":{"channel":"web"}}"#),
        ])
        #expect(try parsed(mixed.metadata) == json(#"{"metadata":42,"channel":"web"}"#))
    }

    @Test func tagsAreTheSortedUnionOfEveryEvent() throws {
        let record = Merge.trace(id: "t", events: [
            try event(.traceCreate, at: 1, #"{"id":"t","tags":["turn-1","chat","b"]}"#),
            try event(.traceCreate, at: 2, #"{"id":"t","tags":["acceptance","chat"]}"#),
            try event(.traceCreate, at: 3, #"{"id":"t","tags":[]}"#),
            try event(.traceCreate, at: 4, #"{"id":"t"}"#),
        ])
        #expect(record.tags == ["acceptance", "b", "chat", "turn-1"])
    }

    @Test func inputAndOutputKeepTheLastTruthyValue() throws {
        let record = Merge.trace(id: "t", events: [
            try event(.traceCreate, at: 1, #"{"id":"t","input":{"q":"first"},"output":"answer"}"#),
            try event(.traceCreate, at: 2, #"{"id":"t","input":{"q":"second"},"output":""}"#),
            try event(.traceCreate, at: 3, #"{"id":"t","input":0,"output":false}"#),
            try event(.traceCreate, at: 4, #"{"id":"t","input":null,"output":null}"#),
        ])
        #expect(try parsed(record.input) == json(#"{"q":"second"}"#))
        #expect(try parsed(record.output) == .string("answer"))
    }

    @Test func emptyContainersAndNonZeroNumbersAreTruthy() throws {
        let record = Merge.trace(id: "t", events: [
            try event(.traceCreate, at: 1, #"{"id":"t","input":"x","output":"y"}"#),
            try event(.traceCreate, at: 2, #"{"id":"t","input":[],"output":-1.5}"#),
        ])
        #expect(try parsed(record.input) == .array([]))
        #expect(try parsed(record.output) == .number("-1.5"))
    }

    @Test func everyTraceEventResetsPublicUnlessItSaysTrue() throws {
        let reset = Merge.trace(id: "t", events: [
            try event(.traceCreate, at: 1, #"{"id":"t","public":true}"#),
            try event(.traceCreate, at: 2, #"{"id":"t","name":"update without public"}"#),
        ])
        #expect(reset.isPublic == false)

        let stays = Merge.trace(id: "t", events: [
            try event(.traceCreate, at: 1, #"{"id":"t"}"#),
            try event(.traceCreate, at: 2, #"{"id":"t","public":true}"#),
        ])
        #expect(stays.isPublic == true)
    }

    @Test func theCapturedTurnFoldsToWhatTheSDKSent() throws {
        let events = try Fixtures.storedEvents("langfuse-python-2.60.10/ingestion-batch-1.json")
            .filter { $0.entity == .trace && $0.id == "ddc979a6-5ae2-46d1-b133-ac3a2cb3b662" }.map(\.event)
        #expect(events.count == 2)
        let record = Merge.trace(id: "ddc979a6-5ae2-46d1-b133-ac3a2cb3b662", events: events)
        #expect(record.name == "chat-turn")
        #expect(record.userID == "acc-user-cap01")
        #expect(record.sessionID == "acc-v2-session-cap01")
        #expect(record.environment == "production")
        #expect(record.tags == ["acceptance", "chat", "turn-1"])
        #expect(record.timestampMillis == Timestamp.parseMicros("2026-11-24T21:58:28.426Z").map { $0 / 1000 })
        #expect(try parsed(record.input)?["content"]?.stringValue == "What's the weather in Lisbon today?")
        #expect(try parsed(record.output)?["role"]?.stringValue == "assistant")
        let metadata = try #require(try parsed(record.metadata))
        #expect(metadata["channel"]?.stringValue == "web")
        #expect(metadata["turn_latency_ms"]?.intValue == 43)
        #expect(metadata["turn_number"]?.intValue == 1)
    }
}
