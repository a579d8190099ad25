import API
import Ingest
import Model
import OTLP
import Testing
import Transport

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

    /// Token counts from span attributes are any Int64; subtracting the cached tokens from the
    /// input used to trap on Int64.min (or on a hugely negative cache count). Counts past
    /// ±`ValueBounds.maxCount` are now ignored, so nothing is left to overflow.
    @Test(arguments: [
        (#"{"key":"gen_ai.usage.input_tokens","value":{"intValue":"-9223372036854775808"}},{"key":"gen_ai.usage.cache_read_input_tokens","value":{"intValue":"1"}}"#, nil, 1),
        (#"{"key":"gen_ai.usage.input_tokens","value":{"intValue":"5"}},{"key":"gen_ai.usage.cache_read_input_tokens","value":{"intValue":"-9223372036854775808"}},{"key":"gen_ai.usage.cache_creation_input_tokens","value":{"intValue":"-9223372036854775808"}}"#, 5, nil),
        (#"{"key":"gen_ai.usage.input_tokens","value":{"intValue":"0"}},{"key":"gen_ai.usage.cache_read_input_tokens","value":{"intValue":"9223372036854775807"}},{"key":"gen_ai.usage.cache_creation_input_tokens","value":{"intValue":"9223372036854775807"}}"#, 0, nil),
    ] as [(String, Int?, Int?)])
    func otlpTokenCountsAtTheInt64ExtremesDoNotOverflow(attributes: String, input: Int?, cached: Int?) throws {
        let export = #"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","attributes":[\#(attributes)]}]}]}]}"#
        let events = OTLPMapper.events(for: try OTLPDecoder.decodeJSON(Array(export.utf8)).spans)
        let usage = try #require(events.first { $0.type != .traceCreate }?.body["usageDetails"])
        #expect(usage["input"] == input.map { JSONValue($0) })
        #expect(usage["input_cached_tokens"] == cached.map { JSONValue($0) })
        let record = Merge.observation(id: "b7ad6b7169203331", events: events.filter { $0.type != .traceCreate }.map {
            StoredEvent(type: $0.type, timestampMicros: $0.timestampMicros, body: $0.body)
        })
        #expect(record.inputTokens == input.map { Int64($0) })
    }

    /// ingestion: one generation whose usage counts sum past Int64.max (no total given) stopped
    /// the server with an overflow trap while the writer merged it; now such a count is a
    /// per-event 400 and the server goes on serving.
    @Test func batchEventWithUsageCountsNearInt64MaxIsRefusedAlone() async throws {
        try await APIHarness.with { api async throws in
            let body = #"{"batch":[{"id":"e1","type":"generation-create","timestamp":"2026-01-01T00:00:00Z","body":{"id":"g","traceId":"t","usageDetails":{"input":9223372036854775807,"output":1}}}]}"#
            let response = await api.post("/api/public/ingestion", json: body)
            #expect(response.status == 207, "\(response.text)")
            #expect(try response.json()["errors"]?.arrayValue?.first?["status"] == JSONValue(400))
            let fine = #"{"batch":[{"id":"e2","type":"generation-create","timestamp":"2026-01-01T00:00:00Z","body":{"id":"g","traceId":"t","usageDetails":{"input":7,"output":1}}}]}"#
            #expect(try await api.post("/api/public/ingestion", json: fine).json()["successes"]?.arrayValue?.count == 1)
        }
    }
}
