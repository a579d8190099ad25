import Model
import Testing

/// `Merge.score` and `ScoreValue`: score rules of langfuse-api.md §3.3 and §3.7.
@Suite("Merge: scores")
struct MergeScoreTests {
    @Test func scoreTakesTheFirstEnvelopeTimeAndTraceAndOverwritesTheRest() throws {
        let record = try #require(Merge.score(id: "s", events: [
            try event(.scoreCreate, at: 2, #"{"id":"s","traceId":"t2","name":"later","value":0.5,"comment":null,"environment":"staging"}"#),
            try event(.scoreCreate, at: 1, #"{"id":"s","traceId":"t1","name":"first","value":1,"comment":"c","environment":"production"}"#),
        ]))
        #expect(record.scoreID == "s")
        #expect(record.timestampMillis == millis(at: 1))
        #expect(record.traceID == "t1")
        #expect(record.environment == "production")
        #expect(record.name == "later")
        #expect(record.value == 0.5)
        #expect(record.comment == nil)
        #expect(record.dataType == "NUMERIC")
        #expect(record.source == "API")
    }

    @Test func noEventsMeansNoScore() {
        #expect(Merge.score(id: "s", events: []) == nil)
    }

    @Test func metadataOfScoresDeepMerges() throws {
        let record = try #require(Merge.score(id: "s", events: [
            try event(.scoreCreate, at: 1, #"{"id":"s","sessionId":"x","name":"n","value":1,"metadata":{"a":{"b":1}}}"#),
            try event(.scoreCreate, at: 2, #"{"id":"s","sessionId":"x","name":"n","value":1,"metadata":{"a":{"c":2}}}"#),
        ]))
        #expect(try parsed(record.metadata) == json(#"{"a":{"b":1,"c":2}}"#))
        #expect(record.sessionID == "x")
        #expect(record.traceID == nil)
    }

    @Test(arguments: [
        (#"{"value":0.75}"#, 0.75, nil, "NUMERIC"),
        (#"{"value":3,"dataType":"NUMERIC"}"#, 3.0, nil, "NUMERIC"),
        (#"{"value":1,"dataType":"BOOLEAN"}"#, 1.0, "True", "BOOLEAN"),
        (#"{"value":0,"dataType":"boolean"}"#, 0.0, "False", "BOOLEAN"),
        (#"{"value":"good"}"#, 0.0, "good", "CATEGORICAL"),
        (#"{"value":"good","dataType":"CATEGORICAL"}"#, 0.0, "good", "CATEGORICAL"),
        (#"{"value":"free text","dataType":"TEXT"}"#, nil, "free text", "TEXT"),
        (#"{"value":"fixed output","dataType":"CORRECTION"}"#, 0.0, "fixed output", "CORRECTION"),
    ] as [(String, Double?, String?, String)])
    func valuesFollowTheDataTypeRules(body: String, value: Double?, stringValue: String?, dataType: String) throws {
        let score = try #require(ScoreValue(body: try json(body)))
        #expect(score.value == value)
        #expect(score.stringValue == stringValue)
        #expect(score.dataType == dataType)
    }

    @Test(arguments: [
        #"{}"#,
        #"{"value":"1.5","dataType":"NUMERIC"}"#,
        #"{"value":2,"dataType":"BOOLEAN"}"#,
        #"{"value":3,"dataType":"CATEGORICAL"}"#,
        #"{"value":"","dataType":"TEXT"}"#,
        #"{"value":1,"dataType":"TEXT"}"#,
        #"{"value":null}"#,
        #"{"value":[1]}"#,
        #"{"value":1,"dataType":"PERCENT"}"#,
    ])
    func valuesThatDoNotFitTheirDataTypeAreRejected(body: String) throws {
        #expect(ScoreValue(body: try json(body)) == nil)
    }

    @Test func textScoresAreLimitedTo500Characters() throws {
        let ok = JSONValue.object([("value", .string(String(repeating: "a", count: 500))), ("dataType", .string("TEXT"))])
        let tooLong = JSONValue.object([("value", .string(String(repeating: "a", count: 501))), ("dataType", .string("TEXT"))])
        #expect(ScoreValue(body: ok) != nil)
        #expect(ScoreValue(body: tooLong) == nil)
    }
}
