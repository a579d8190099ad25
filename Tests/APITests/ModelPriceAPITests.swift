import API
import Foundation
import Model
import Storage
import Testing
import Transport

/// `/api/public/models` (operationIds modelsList, modelsCreate, modelsGet, modelsDelete) and the
/// costs they give observations written afterwards.
@Suite("Model prices API")
struct ModelPriceAPITests {
    static func generation(_ id: String, model: String, usage: String, cost: String? = nil) -> String {
        let costPart = cost.map { #","costDetails":\#($0)"# } ?? ""
        return #"""
            {"batch":[{"id":"t-\#(id)","type":"trace-create","timestamp":"2026-11-24T10:00:00Z","body":{"id":"t-\#(id)"}},
                      {"id":"e-\#(id)","type":"generation-create","timestamp":"2026-11-24T10:00:00Z",
              "body":{"id":"\#(id)","traceId":"t-\#(id)","model":"\#(model)","startTime":"2026-11-24T10:00:00Z",
                      "usageDetails":\#(usage)\#(costPart)}}]}
            """#
    }

    @Test func builtInPricesInferCostsAndAProjectModelOverridesThem() async throws {
        try await APIHarness.with { api async throws in
            _ = try await api.json(post: "/api/public/ingestion", Self.generation("g1", model: "gpt-4o-mini", usage: #"{"input":1000,"output":100}"#), status: 207)
            let inferred = try await api.json("/api/public/observations/g1")
            #expect(inferred["calculatedTotalCost"]?.doubleValue == 2.1e-04)  // 1000 × 1.5e-7 + 100 × 6e-7
            #expect(inferred["costSource"]?.stringValue == "inferred")
            #expect(inferred["usagePricingTierName"]?.stringValue == "Standard")
            let trace = try await api.json("/api/public/traces/t-g1")
            #expect(trace["totalCost"]?.doubleValue == 2.1e-04)
            // The v2 read's model and usage groups name the price used (decimal strings).
            let v2 = try #require(try await api.json("/api/public/v2/observations?fields=core,model,usage")["data"]?.arrayValue?.first)
            let builtInMini = BuiltInPrices.definitions.first { $0.modelName == "gpt-4o-mini" }?.id
            #expect(v2["modelId"]?.stringValue == builtInMini)
            #expect(v2["internalModelId"]?.stringValue == builtInMini)
            #expect(v2["inputPrice"]?.stringValue == "0.00000015")
            #expect(v2["outputPrice"]?.stringValue == "0.0000006")
            #expect(v2["usagePricingTierName"]?.stringValue == "Standard")

            let created = try await api.json(post: "/api/public/models", #"""
                {"modelName":"gpt-4o-mini (negotiated)","matchPattern":"(?i)^gpt-4o-mini$","inputPrice":1e-7,"outputPrice":1e-6}
                """#, status: 200)
            let id = try #require(created["id"]?.stringValue)
            #expect(created["isLangfuseManaged"]?.boolValue == false)
            #expect(created["pricingTiers"]?.arrayValue?.first?["name"]?.stringValue == "Standard")
            _ = try await api.json(post: "/api/public/ingestion", Self.generation("g2", model: "GPT-4o-mini", usage: #"{"input":1000,"output":100}"#), status: 207)
            let overridden = try await api.json("/api/public/observations/g2")
            #expect(overridden["calculatedTotalCost"]?.doubleValue == 2e-04)
            #expect(overridden["modelId"]?.stringValue == id)
            // The price change applies to new events: g1 keeps its cost until recomputed.
            #expect(try await api.json("/api/public/observations/g1")["calculatedTotalCost"]?.doubleValue == 2.1e-04)

            let list = try await api.json("/api/public/models?limit=2")
            #expect(list["data"]?.arrayValue?.first?["id"]?.stringValue == id)
            #expect((list["meta"]?["totalItems"]?.intValue ?? 0) == Int64(BuiltInPrices.definitions.count + 1))
            #expect(try await api.json("/api/public/models/\(id)")["modelName"]?.stringValue == "gpt-4o-mini (negotiated)")
            let builtIn = try #require(BuiltInPrices.definitions.first { $0.modelName == "gpt-4o" })
            #expect(try await api.json("/api/public/models/\(builtIn.id)")["isLangfuseManaged"]?.boolValue == true)
            #expect(await api.delete("/api/public/models/\(builtIn.id)").status == 400)
            #expect(await api.delete("/api/public/models/\(id)").status == 204)
            #expect(await api.get("/api/public/models/\(id)").status == 404)
            #expect(await api.delete("/api/public/models/\(id)").status == 404)
        }
    }

    @Test func aClientsCostWinsOverThePriceTable() async throws {
        try await APIHarness.with { api async throws in
            _ = try await api.json(post: "/api/public/ingestion",
                                   Self.generation("g", model: "gpt-4o", usage: #"{"input":10}"#, cost: #"{"total":0.5}"#), status: 207)
            let observation = try await api.json("/api/public/observations/g")
            #expect(observation["calculatedTotalCost"]?.doubleValue == 0.5)
            #expect(observation["costSource"]?.stringValue == "given")
        }
    }

    @Test(arguments: [
        #"{"modelName":"m","matchPattern":"(a+)+$\\1","inputPrice":1}"#,
        #"{"modelName":"m","matchPattern":"(?<=x)y","inputPrice":1}"#,
        #"{"modelName":"m","matchPattern":"x","inputPrice":-1}"#,
        #"{"modelName":"m","matchPattern":"x","inputPrice":"free"}"#,
        #"{"modelName":"m","matchPattern":"x"}"#,
        #"[1]"#,
    ])
    func invalidModelsAre400WithTheReason(_ body: String) async throws {
        try await APIHarness.with { api async throws in
            let answer = try await api.json(post: "/api/public/models", body, status: 400)
            #expect(answer["message"]?.stringValue?.isEmpty == false)
            #expect(answer["error"] != nil)
        }
    }

    @Test func aClientPatternCannotHangTheServer() async throws {
        try await APIHarness.with { api async throws in
            // Accepted (it is in the subset), and matched in linear time against a long name.
            _ = try await api.json(post: "/api/public/models", #"{"modelName":"evil","matchPattern":"^(a+)+$","inputPrice":1}"#, status: 200)
            let name = String(repeating: "a", count: 900) + "!"
            // A backtracking engine would take longer than the universe's age here; the request
            // is answered (its steps are counted in ModelTests, SafePatternTests, not timed here).
            _ = try await api.json(post: "/api/public/ingestion", Self.generation("g", model: name, usage: #"{"input":1}"#), status: 207)
            #expect(try await api.json("/api/public/observations/g")["calculatedTotalCost"]?.doubleValue == 0)
        }
    }
}
