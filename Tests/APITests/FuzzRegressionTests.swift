import API
import Model
import OTLP
import Testing

/// Inputs on which scripts/reliability/fuzz.sh found a failing property, kept as found
/// (minimised by libFuzzer), so that the bug stays fixed without the fuzzer.
@Suite("Fuzz regressions (API)")
struct FuzzRegressionTests {
    /// Every event body, written as storage writes it and parsed as storage re-reads it when it
    /// re-folds an entity, must come back unchanged.
    static func expectReadsBackUnchanged(_ events: [IngestionEvent]) throws {
        for event in events {
            let reread = try JSONParser.parse(event.body.jsonBytes)
            #expect(reread == event.body, "event \(event.id)")
            #expect(reread.jsonText == event.body.jsonText, "event \(event.id)")
        }
    }

    /// otlp-json crash-89d1c392: two attributes named `b` became observation metadata with a
    /// repeated key, which the re-read collapsed, so a fresh and a re-read event folded differently.
    @Test func otlpAttributesWithARepeatedKeyReadBackUnchanged() throws {
        let input = #"""
            {"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","attributes":[{"key":"b"},{"key":"b"}]}]}]}]}
            """#
        let events = OTLPMapper.events(for: try OTLPDecoder.decodeJSON(Array(input.utf8)).spans)
        #expect(events.count == 2)
        try Self.expectReadsBackUnchanged(events)
    }

    /// The last of the repeated attributes wins, as it does for `OTLPSpan.attribute(_:)`, in
    /// span, resource and scope attributes alike.
    @Test func repeatedAttributeKeysKeepTheLastValue() throws {
        let input = #"""
            {"resourceSpans":[{"resource":{"attributes":[{"key":"r","value":{"intValue":1}},{"key":"r","value":{"intValue":2}}]},
             "scopeSpans":[{"scope":{"name":"custom","attributes":[{"key":"s","value":{"stringValue":"x"}},{"key":"s","value":{"stringValue":"y"}}]},
             "spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"n",
              "attributes":[{"key":"a","value":{"stringValue":"first"}},{"key":"langfuse.observation.metadata","value":{"stringValue":"{\"k\":1}"}},
                            {"key":"langfuse.observation.metadata.k","value":{"intValue":2}},{"key":"a","value":{"stringValue":"last"}}]}]}]}]}
            """#
        let events = OTLPMapper.events(for: try OTLPDecoder.decodeJSON(Array(input.utf8)).spans)
        try Self.expectReadsBackUnchanged(events)
        let observation = try #require(events.first { $0.type == .spanCreate })
        let metadata = try #require(observation.body["metadata"])
        #expect(metadata["k"] == JSONValue(2))
        #expect(metadata["attributes"]?["a"] == JSONValue("last"))
        #expect(metadata["resourceAttributes"] == .object([("r", JSONValue(2))]))
        #expect(metadata["scope"]?["attributes"] == .object([("s", JSONValue("y"))]))
    }
}
