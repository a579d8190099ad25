import Model
import Testing

/// Usage and cost of generation-like observations (langfuse-api.md §3.4), through `Merge.observation`.
@Suite("Merge: usage and cost")
struct MergeUsageTests {
    /// The usage and cost maps of one generation built from `bodies` (each a generation-update body
    /// without `id`), at t = 1, 2, 3, …
    static func fold(_ bodies: String...) throws -> ObservationRecord {
        var events = [try event(.generationCreate, at: 0, #"{"id":"g","traceId":"t"}"#)]
        for (index, body) in bodies.enumerated() {
            var members = try #require(try json(body).objectValue)
            members.insert(("id", .string("g")), at: 0)
            events.append(StoredEvent(type: .generationUpdate, timestampMicros: origin + Int64(index + 1) * 1_000_000,
                                      body: .object(members)))
        }
        return Merge.observation(id: "g", events: events)
    }

    static func usage(_ record: ObservationRecord) throws -> JSONValue? { try parsed(record.usageDetails) }
    static func cost(_ record: ObservationRecord) throws -> JSONValue? { try parsed(record.costDetails) }

    @Test func legacyUsageObjectGivesUsageAndCost() throws {
        let record = try Self.fold(#"{"usage":{"input":160,"output":35,"total":195,"unit":"TOKENS","inputCost":2.4e-05,"outputCost":2.1e-05,"totalCost":4.5e-05}}"#)
        #expect(try Self.usage(record) == json(#"{"input":160,"output":35,"total":195}"#))
        #expect(try Self.cost(record) == json(#"{"input":2.4e-05,"output":2.1e-05,"total":4.5e-05}"#))
        #expect(record.inputTokens == 160)
        #expect(record.outputTokens == 35)
        #expect(record.totalTokens == 195)
        #expect(record.totalCost == 4.5e-05)
    }

    @Test func legacyUsageWithOpenAIStyleNamesMapsToInputOutputTotal() throws {
        let record = try Self.fold(#"{"usage":{"promptTokens":10,"completionTokens":20,"totalTokens":30}}"#)
        #expect(try Self.usage(record) == json(#"{"input":10,"output":20,"total":30}"#))
        #expect(record.costDetails == nil)
        #expect(record.totalCost == nil)
    }

    @Test func missingTotalIsTheSumOfAllProvidedKeys() throws {
        let legacy = try Self.fold(#"{"usage":{"input":10,"output":20}}"#)
        #expect(legacy.totalTokens == 30)
        let details = try Self.fold(#"{"usageDetails":{"input":10,"output":20,"cache_read":5}}"#)
        #expect(try Self.usage(details) == json(#"{"input":10,"output":20,"cache_read":5,"total":35}"#))
    }

    @Test func usageDetailsMapKeepsNonNegativeIntegersAndParsesNumericStrings() throws {
        let record = try Self.fold(#"{"usageDetails":{"input":"12","output":8,"negative":-1,"fraction":1.5,"word":"abc","none":null,"total":20}}"#)
        #expect(try Self.usage(record) == json(#"{"input":12,"output":8,"total":20}"#))
    }

    @Test func openAIChatUsageSubtractsDetailsFromInputAndOutput() throws {
        let record = try Self.fold(#"""
            {"usageDetails":{"prompt_tokens":100,"completion_tokens":50,"total_tokens":150,
             "prompt_tokens_details":{"cached_tokens":30,"audio_tokens":0},
             "completion_tokens_details":{"reasoning_tokens":20,"audio_tokens":null}}}
            """#)
        let expected = try json(#"{"input":70,"output":30,"total":150,"input_cached_tokens":30,"input_audio_tokens":0,"output_reasoning_tokens":20}"#)
        #expect(try Self.usage(record) == expected)
        #expect(record.inputTokens == 70)
        #expect(record.outputTokens == 30)
        #expect(record.totalTokens == 150)
    }

    @Test func openAIResponsesUsageSubtractsDetailsWithAFloorOfZero() throws {
        let record = try Self.fold(#"""
            {"usageDetails":{"input_tokens":100,"output_tokens":50,"total_tokens":150,
             "input_tokens_details":{"cached_tokens":120},"output_tokens_details":{"reasoning_tokens":10}}}
            """#)
        let expected = try json(#"{"input":0,"output":40,"total":150,"input_cached_tokens":120,"output_reasoning_tokens":10}"#)
        #expect(try Self.usage(record) == expected)
    }

    @Test func usageWithOpenAIKeysButNotItsExactShapeKeepsTheClientsKeys() throws {
        // Langfuse's OpenAI schemas are strict (the three counts, only the details besides): any
        // other map is a plain one, kept as sent, with its total added (issue #20).
        let record = try Self.fold(#"{"usageDetails":{"prompt_tokens":100,"completion_tokens":50,"prompt_tokens_details":{"cached_tokens":30}}}"#)
        #expect(try Self.usage(record) == json(#"{"prompt_tokens":100,"completion_tokens":50,"total":150}"#))
        let extra = try Self.fold(#"{"usageDetails":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"cost":1}}"#)
        #expect(try Self.usage(extra) == json(#"{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"cost":1,"total":31}"#))
        #expect(extra.inputTokens == nil)
    }

    @Test func usageDetailsOverlayTheLegacyUsageObject() throws {
        let record = try Self.fold(#"{"usage":{"input":10,"output":20},"usageDetails":{"input":15,"cache":3}}"#)
        #expect(try Self.usage(record) == json(#"{"input":15,"output":20,"cache":3,"total":38}"#))
    }

    @Test func costDetailsGetATotalWhenMissingAndDropNegativeOrNonNumericEntries() throws {
        let record = try Self.fold(#"{"costDetails":{"input":0.25,"output":0.5,"refund":-1,"label":"usd","nothing":null}}"#)
        #expect(try Self.cost(record) == json(#"{"input":0.25,"output":0.5,"total":0.75}"#))
        #expect(record.totalCost == 0.75)
    }

    @Test func providedCostTotalIsKeptAsSent() throws {
        let record = try Self.fold(#"{"costDetails":{"input":3e-05,"output":2.4e-05,"total":5.4e-05}}"#)
        #expect(record.totalCost == 5.4e-05)
        #expect(try Self.cost(record)?["total"]?.doubleValue == 5.4e-05)
    }

    @Test func costDetailsOverlayLegacyCosts() throws {
        let record = try Self.fold(#"{"usage":{"input":1,"inputCost":0.5,"outputCost":0.25},"costDetails":{"input":1.0}}"#)
        #expect(try Self.cost(record) == json(#"{"input":1,"output":0.25,"total":1.25}"#))
    }

    @Test func emptyObjectsDoNotOverwriteEarlierUsageOrCost() throws {
        let record = try Self.fold(
            #"{"usageDetails":{"input":200,"output":40,"total":240},"costDetails":{"total":5.4e-05}}"#,
            #"{"usageDetails":{},"costDetails":{},"usage":{}}"#,
            #"{"usageDetails":null,"costDetails":null,"usage":null}"#)
        #expect(record.totalTokens == 240)
        #expect(record.totalCost == 5.4e-05)
    }

    @Test func theLastNonEmptyUsageDetailsWins() throws {
        let record = try Self.fold(
            #"{"usageDetails":{"input":1,"output":2}}"#,
            #"{"usageDetails":{"input":5,"output":6,"total":11}}"#)
        #expect(try Self.usage(record) == json(#"{"input":5,"output":6,"total":11}"#))
    }

    @Test func noUsageAtAllLeavesEverythingNil() throws {
        let record = try Self.fold(#"{"output":"hi"}"#)
        #expect(record.usageDetails == nil)
        #expect(record.costDetails == nil)
        #expect(record.inputTokens == nil)
        #expect(record.totalTokens == nil)
        #expect(record.totalCost == nil)
    }

    @Test(arguments: [
        (1, 160, 35, 195, 2.4e-05, 2.1e-05, 4.5e-05),
        (2, 200, 40, 240, 3e-05, 2.4e-05, 5.4e-05),
        (3, 240, 45, 285, 3.6e-05, 2.7e-05, 6.3e-05),
    ] as [(Int, Int64, Int64, Int64, Double, Double, Double)])
    func capturedGenerationsFoldToTheExpectedUsage(
        turn: Int, input: Int64, output: Int64, total: Int64, inputCost: Double, outputCost: Double, totalCost: Double
    ) throws {
        let events = try Fixtures.storedEvents("langfuse-python-2.60.10/ingestion-batch-1.json")
            + Fixtures.storedEvents("langfuse-python-2.60.10/ingestion-batch-2.json")
        let generationIDs = events.filter { $0.event.type == .generationCreate }.map(\.id)
        #expect(generationIDs.count == 3)
        let id = generationIDs[turn - 1]
        let record = Merge.observation(id: id, events: events.filter { $0.entity == .observation && $0.id == id }.map(\.event))
        #expect(record.type == "GENERATION")
        #expect(record.name == "llm-call")
        #expect(record.model == "gpt-4o-mini")
        #expect(record.inputTokens == input)
        #expect(record.outputTokens == output)
        #expect(record.totalTokens == total)
        #expect(record.totalCost == totalCost)
        let cost = try #require(try Self.cost(record))
        #expect(cost["input"]?.doubleValue == inputCost)
        #expect(cost["output"]?.doubleValue == outputCost)
    }

    @Test func countsPastTheLimitAreIgnoredSoNoSumOrDifferenceOverflows() throws {
        // Each of these trapped the writer thread (arithmetic overflow), taking the server down:
        // a total summed past Int64.max, and an OpenAI input at Int64.min minus its details.
        let plain = try Self.fold(#"{"usageDetails":{"a":9223372036854775807,"b":9223372036854775807,"input":7}}"#)
        #expect(try Self.usage(plain) == json(#"{"input":7,"total":7}"#))
        let openAI = try Self.fold(#"""
            {"usageDetails":{"prompt_tokens":-9223372036854775808,"completion_tokens":9223372036854775807,
             "prompt_tokens_details":{"cached_tokens":5}}}
            """#)
        #expect(openAI.usageDetails == nil)  // not OpenAI's shape (no total, counts out of range): nothing usable
        let legacy = try Self.fold(#"{"usage":{"input":9223372036854775807,"output":1e400,"total":-9223372036854775808,"inputCost":1e400}}"#)
        #expect(legacy.usageDetails == nil)
        #expect(legacy.costDetails == nil)
    }

    @Test func countsAtTheLimitAreKeptAndAddedUp() throws {
        let limit = ValueBounds.maxCount
        let record = try Self.fold(#"{"usageDetails":{"a":\#(limit),"b":"\#(limit)","c":\#(limit + 1)}}"#)
        #expect(try Self.usage(record) == json(#"{"a":\#(limit),"b":\#(limit),"total":\#(2 * limit)}"#))
    }
}
