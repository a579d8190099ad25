import Model
import Testing

/// Cost from usage and the price table (docs/DATA_MODEL.md, "Model prices and cost inference").
@Suite("Cost inference")
struct CostInferenceTests {
    static var builtIn: PriceResolver { PriceResolver(table: PriceTable(custom: [], builtIn: BuiltInPrices.definitions)) }

    static func observation(model: String?, usage: String?, cost: String? = nil, parameters: String? = nil,
                            metadata: String? = nil, start: Int64 = 1_800_000_000_000) -> CostInference.Observation {
        CostInference.Observation(model: model, startMillis: start, usageDetails: usage, costDetails: cost,
                                  modelParameters: parameters, metadata: metadata)
    }

    static func costs(_ priced: CostInference.Priced) throws -> JSONValue? {
        try priced.costDetails.map { try JSONParser.parse($0) }
    }

    @Test func gpt4oMiniCostsUsageTimesThePublishedPricesPerUsageType() throws {
        // Langfuse's table: input 1.5e-7, cached input 7.5e-8, output 6e-7 USD per token.
        let priced = CostInference.price(Self.observation(
            model: "gpt-4o-mini", usage: #"{"input":100,"output":30,"total":150,"input_cached_tokens":20}"#), prices: Self.builtIn)
        #expect(priced.costSource == CostSource.inferred)
        #expect(priced.pricingTierName == "Standard")
        let costs = try #require(try Self.costs(priced))
        #expect(costs["input"]?.doubleValue == 1.5e-05)
        #expect(costs["output"]?.doubleValue == 1.8e-05)
        #expect(costs["input_cached_tokens"]?.doubleValue == 1.5e-06)
        #expect(costs["total"]?.doubleValue == 3.45e-05)
        #expect(priced.totalCost == 3.45e-05)
        #expect(costs["total_tokens"] == nil)
    }

    @Test func aClientsCostAlwaysWins() throws {
        let priced = CostInference.price(Self.observation(
            model: "gpt-4o-mini", usage: #"{"input":100,"output":30}"#, cost: #"{"total":9}"#), prices: Self.builtIn)
        #expect(priced.costSource == CostSource.given)
        #expect(priced.costDetails == #"{"total":9}"#)
        #expect(priced.totalCost == nil)  // the fold's total stays
        #expect(priced.internalModelID != nil)
    }

    @Test func unknownModelsAndMissingUsageHaveNoCost() {
        #expect(CostInference.price(Self.observation(model: "my-own-llm", usage: #"{"input":1}"#), prices: Self.builtIn)
            == CostInference.Priced(costDetails: nil, totalCost: nil, costSource: nil))
        let noUsage = CostInference.price(Self.observation(model: "gpt-4o", usage: nil), prices: Self.builtIn)
        #expect(noUsage.costDetails == nil)
        #expect(noUsage.internalModelID != nil)
        #expect(CostInference.price(Self.observation(model: String(repeating: "g", count: 5_000), usage: #"{"input":1}"#),
                                    prices: Self.builtIn).internalModelID == nil)
    }

    @Test func largeContextTierAppliesAboveItsThreshold() throws {
        // gemini-2.5-pro: the "Large Context" tier when input-like usage sums past 200,000.
        let small = CostInference.price(Self.observation(model: "gemini-2.5-pro", usage: #"{"input":1000,"output":10}"#), prices: Self.builtIn)
        let large = CostInference.price(Self.observation(model: "gemini-2.5-pro", usage: #"{"input":150000,"input_cached_tokens":60000,"output":10}"#),
                                        prices: Self.builtIn)
        #expect(small.pricingTierName == "Standard")
        #expect(try Self.costs(small)?["input"]?.doubleValue == 1.25e-03)
        #expect(large.pricingTierName == "Large Context")
        #expect(try Self.costs(large)?["input"]?.doubleValue == 0.375)
    }

    @Test func serviceTierModelParameterSelectsItsTier() throws {
        let fast = CostInference.price(Self.observation(model: "gpt-4o-mini", usage: #"{"input":1000}"#,
                                                        parameters: #"{"service_tier":"priority"}"#), prices: Self.builtIn)
        #expect(fast.pricingTierName == "Fast mode")
        #expect(try Self.costs(fast)?["input"]?.doubleValue == 2.5e-04)
        let flex = CostInference.price(Self.observation(model: "gpt-5", usage: #"{"input":1000}"#,
                                                        parameters: #"{"service_tier":"flex"}"#), prices: Self.builtIn)
        #expect(flex.pricingTierName == "Flex")
    }

    @Test func projectModelsWinAndStartDatesSelectTheNewestApplicable() throws {
        let cheap = try ModelDefinition.create(request: JSONParser.parse(
            #"{"modelName":"gpt-4o-mini","matchPattern":"(?i)^gpt-4o-mini$","inputPrice":1,"outputPrice":2}"#),
            id: "old", createdAtMillis: 0)
        let later = try ModelDefinition.create(request: JSONParser.parse(
            #"{"modelName":"gpt-4o-mini","matchPattern":"(?i)^gpt-4o-mini$","inputPrice":10,"startDate":"2030-01-01T00:00:00Z"}"#),
            id: "new", createdAtMillis: 1)
        let resolver = PriceResolver(table: PriceTable(custom: [later, cheap], builtIn: BuiltInPrices.definitions))
        let before = CostInference.price(Self.observation(model: "gpt-4o-mini", usage: #"{"input":2,"output":1}"#), prices: resolver)
        #expect(before.internalModelID == "old")
        #expect(try Self.costs(before) == JSONParser.parse(#"{"input":2,"output":2,"total":4}"#))
        let after = CostInference.price(Self.observation(model: "gpt-4o-mini", usage: #"{"input":2}"#, start: 1_900_000_000_000), prices: resolver)
        #expect(after.internalModelID == "new")
        #expect(after.totalCost == 20)
    }

    @Test func totalPriceCostsTheTotalUnits() throws {
        let model = try ModelDefinition.create(request: JSONParser.parse(
            #"{"modelName":"per-total","matchPattern":"^per-total$","totalPrice":0.5}"#), id: "t", createdAtMillis: 0)
        let resolver = PriceResolver(table: PriceTable(custom: [model], builtIn: []))
        let priced = CostInference.price(Self.observation(model: "per-total", usage: #"{"input":3,"output":1,"total":4}"#), prices: resolver)
        #expect(try Self.costs(priced) == JSONParser.parse(#"{"total":2}"#))
    }

    @Test func inferredCostsAreCappedLikeSentOnes() throws {
        let model = try ModelDefinition.create(request: JSONParser.parse(
            #"{"modelName":"dear","matchPattern":"^dear$","inputPrice":1000000}"#), id: "d", createdAtMillis: 0)
        let resolver = PriceResolver(table: PriceTable(custom: [model], builtIn: []))
        let priced = CostInference.price(Self.observation(model: "dear", usage: #"{"input":1000000000000}"#), prices: resolver)
        #expect(priced.totalCost == ValueBounds.maxCost)
    }

    @Test(arguments: [
        (#"{"matchPattern":"x","inputPrice":1}"#, "modelName"),
        (#"{"modelName":"m","inputPrice":1}"#, "matchPattern"),
        (#"{"modelName":"m","matchPattern":"(a+"}"#, "matchPattern"),
        (#"{"modelName":"m","matchPattern":"(?=x)","inputPrice":1}"#, "supported"),
        (#"{"modelName":"m","matchPattern":"x"}"#, "prices"),
        (#"{"modelName":"m","matchPattern":"x","inputPrice":-1}"#, "inputPrice"),
        (#"{"modelName":"m","matchPattern":"x","inputPrice":1e400}"#, "inputPrice"),
        (#"{"modelName":"m","matchPattern":"x","inputPrice":1,"totalPrice":2}"#, "totalPrice"),
        (#"{"modelName":"m","matchPattern":"x","inputPrice":1,"pricingTiers":[]}"#, "pricingTiers"),
        (#"{"modelName":"m","matchPattern":"x","pricingTiers":[{"name":"a","isDefault":false,"priority":1,"conditions":[{"usageDetailPattern":"input","operator":"gt","value":1}],"prices":{"input":1}}]}"#, "default"),
        (#"{"modelName":"m","matchPattern":"x","pricingTiers":[{"name":"a","isDefault":true,"priority":0,"conditions":[],"prices":{"input":1}},{"name":"b","isDefault":false,"priority":1,"conditions":[],"prices":{"input":2}}]}"#, "condition"),
        (#"{"modelName":"m","matchPattern":"x","pricingTiers":[{"name":"a","isDefault":true,"priority":0,"conditions":[],"prices":{"input":1}},{"name":"a","isDefault":false,"priority":1,"conditions":[{"source":"metadata","key":"k","operator":"in","values":["v"]}],"prices":{"input":2}}]}"#, "unique"),
        (#"{"modelName":"m","matchPattern":"x","pricingTiers":[{"name":"a","isDefault":true,"priority":0,"conditions":[],"prices":{}}]}"#, "at least one price"),
        (#"{"modelName":"m","matchPattern":"x","unit":"LITRES","inputPrice":1}"#, "unit"),
    ])
    func createRefusesInvalidModelsWithTheReason(_ body: String, _ reason: String) throws {
        let request = try JSONParser.parse(body)
        #expect(performing: { _ = try ModelDefinition.create(request: request, id: "x", createdAtMillis: 0) },
                throws: { ($0 as? ModelDefinitionError)?.message.contains(reason) == true })
    }

    @Test func definitionsRoundTripThroughTheirJSON() throws {
        let request = try JSONParser.parse(#"""
            {"modelName":"tiered","matchPattern":"(?i)^tiered$","unit":"TOKENS","startDate":"2026-01-01T00:00:00Z",
             "pricingTiers":[{"name":"Standard","isDefault":true,"priority":0,"conditions":[],"prices":{"input":1e-6,"output":2e-6}},
                             {"name":"Big","isDefault":false,"priority":1,"conditions":[{"usageDetailPattern":"input","operator":"gte","value":1000,"caseSensitive":true}],"prices":{"input":5e-6}}]}
            """#)
        let definition = try ModelDefinition.create(request: request, id: "tiered-1", createdAtMillis: 1_000)
        let decoded = try ModelDefinition.decode(definition.json, managed: false)
        #expect(decoded == definition)
        #expect(definition.json["inputPrice"]?.doubleValue == 1e-6)
        #expect(definition.json["prices"]?["output"]?["price"]?.doubleValue == 2e-6)
    }
}
