import API
import Model
import Testing
import TestSupport
import Transport

/// Spans from instrumentation other than Langfuse's own SDKs (langfuse-api.md §4.3–4.6): each
/// family's way of naming model, usage, input and output ends up in the same observation fields.
@Suite("OTLP vendor mapping")
struct OTLPVendorMappingTests {
    struct Case: Sendable, CustomStringConvertible {
        let description: String
        let scope: String
        let name: String
        /// OTLP/JSON attribute list.
        let attributes: String
        var events = "[]"
        let type: String
        let model: String?
        let input: String?
        let output: String?
        /// Total: sent, or input + output when the span sends none.
        let usage: (input: Int, output: Int, total: Int)?
    }

    static let cases: [Case] = [
        Case(description: "Vercel AI SDK", scope: "ai", name: "ai.generateText.doGenerate", attributes: """
            [{"key": "ai.operationId", "value": {"stringValue": "ai.generateText.doGenerate"}},
             {"key": "ai.model.id", "value": {"stringValue": "gpt-4o"}},
             {"key": "ai.prompt.messages", "value": {"stringValue": "[{\\"role\\":\\"user\\",\\"content\\":\\"hi\\"}]"}},
             {"key": "ai.response.text", "value": {"stringValue": "hello"}},
             {"key": "ai.usage.promptTokens", "value": {"intValue": "12"}},
             {"key": "ai.usage.completionTokens", "value": {"intValue": "3"}},
             {"key": "ai.telemetry.metadata.sessionId", "value": {"stringValue": "s-vercel"}}]
            """, type: "GENERATION", model: "gpt-4o", input: #"[{"role":"user","content":"hi"}]"#, output: #""hello""#,
             usage: (12, 3, 15)),
        Case(description: "OpenInference", scope: "openinference.instrumentation.openai", name: "ChatCompletion", attributes: """
            [{"key": "openinference.span.kind", "value": {"stringValue": "LLM"}},
             {"key": "llm.model_name", "value": {"stringValue": "gpt-4o-mini"}},
             {"key": "llm.input_messages.0.message.role", "value": {"stringValue": "user"}},
             {"key": "llm.input_messages.0.message.content", "value": {"stringValue": "weather?"}},
             {"key": "llm.output_messages.0.message.role", "value": {"stringValue": "assistant"}},
             {"key": "llm.output_messages.0.message.content", "value": {"stringValue": "sunny"}},
             {"key": "llm.token_count.prompt", "value": {"intValue": "20"}},
             {"key": "llm.token_count.completion", "value": {"intValue": "5"}},
             {"key": "llm.token_count.total", "value": {"intValue": "25"}}]
            """, type: "GENERATION", model: "gpt-4o-mini", input: #"[{"role":"user","content":"weather?"}]"#,
             output: #"[{"role":"assistant","content":"sunny"}]"#, usage: (20, 5, 25)),
        Case(description: "OpenLLMetry flattened prompts", scope: "opentelemetry.instrumentation.openai", name: "openai.chat", attributes: """
            [{"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
             {"key": "gen_ai.prompt.1.role", "value": {"stringValue": "user"}},
             {"key": "gen_ai.prompt.1.content", "value": {"stringValue": "second"}},
             {"key": "gen_ai.prompt.0.role", "value": {"stringValue": "system"}},
             {"key": "gen_ai.prompt.0.content", "value": {"stringValue": "first"}},
             {"key": "gen_ai.completion.0.content", "value": {"stringValue": "answer"}},
             {"key": "gen_ai.usage.prompt_tokens", "value": {"intValue": "7"}},
             {"key": "gen_ai.usage.completion_tokens", "value": {"intValue": "2"}}]
            """, type: "GENERATION", model: "gpt-4o",
             input: #"[{"role":"system","content":"first"},{"role":"user","content":"second"}]"#,
             output: #"[{"content":"answer"}]"#, usage: (7, 2, 9)),
        Case(description: "OpenTelemetry GenAI events", scope: "my-app", name: "chat gpt-4o", attributes: """
            [{"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
             {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}}]
            """, events: """
            [{"name": "gen_ai.user.message", "timeUnixNano": "1700000000100000000",
              "attributes": [{"key": "gen_ai.system", "value": {"stringValue": "openai"}},
                             {"key": "content", "value": {"stringValue": "hi"}}]},
             {"name": "gen_ai.choice", "timeUnixNano": "1700000000900000000",
              "attributes": [{"key": "index", "value": {"intValue": "0"}},
                             {"key": "message", "value": {"stringValue": "{\\"content\\":\\"hey\\"}"}}]}]
            """, type: "GENERATION", model: "gpt-4o", input: #"[{"role":"user","content":"hi"}]"#,
             output: #"[{"index":0,"message":{"content":"hey"}}]"#, usage: nil),
        Case(description: "genkit tool", scope: "genkit-tracer", name: "lookup", attributes: """
            [{"key": "genkit:metadata:subtype", "value": {"stringValue": "tool"}},
             {"key": "genkit:name", "value": {"stringValue": "lookupOrder"}},
             {"key": "genkit:input", "value": {"stringValue": "{\\"order\\":42}"}},
             {"key": "genkit:output", "value": {"stringValue": "{\\"status\\":\\"shipped\\"}"}}]
            """, type: "TOOL", model: nil, input: #"{"order":42}"#, output: #"{"status":"shipped"}"#, usage: nil),
    ]

    @Test(arguments: cases)
    func familyMapsToTheSameObservationFields(_ c: Case) async throws {
        try await APIHarness.with { api async throws in
            let body = """
                {"resourceSpans": [{"scopeSpans": [{"scope": {"name": "\(c.scope)"}, "spans": [{
                  "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "\(c.name)",
                  "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000001000000000",
                  "attributes": \(c.attributes), "events": \(c.events)}]}]}]}
                """
            let response = await api.respond(HTTPRequest(
                method: "POST", target: "/api/public/otel/v1/traces",
                headers: ["Content-Type": "application/json", "Authorization": APIHarness.basic], body: Array(body.utf8)))
            try #require(response.status == 200, "\(response.text)")
            let observation = try await api.json("/api/public/observations/eee19b7ec3c1b174")
            #expect(observation["type"]?.stringValue == c.type)
            #expect(observation["model"]?.stringValue == c.model)
            #expect(observation["input"] == c.input.map { try! JSONParser.parse($0) } ?? .null, "\(observation["input"]?.jsonText ?? "nil")")
            #expect(observation["output"] == c.output.map { try! JSONParser.parse($0) } ?? .null, "\(observation["output"]?.jsonText ?? "nil")")
            if let usage = c.usage {
                #expect(observation["usageDetails"]?["input"]?.intValue == Int64(usage.input))
                #expect(observation["usageDetails"]?["output"]?.intValue == Int64(usage.output))
                #expect(observation["usageDetails"]?["total"]?.intValue == Int64(usage.total))
            } else {
                #expect(observation["usageDetails"] == .object([]))
            }
        }
    }

    @Test func vercelTelemetryMetadataSetsTheSessionAndStaysOutOfMetadata() async throws {
        try await APIHarness.with { api async throws in
            let body = """
                {"resourceSpans": [{"scopeSpans": [{"scope": {"name": "ai"}, "spans": [{
                  "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "ai.generateText",
                  "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000001000000000",
                  "attributes": [{"key": "ai.telemetry.metadata.sessionId", "value": {"stringValue": "s-vercel"}},
                                 {"key": "ai.telemetry.metadata.userId", "value": {"stringValue": "u-vercel"}},
                                 {"key": "ai.telemetry.metadata.plan", "value": {"stringValue": "pro"}},
                                 {"key": "ai.telemetry.functionId", "value": {"stringValue": "answer"}},
                                 {"key": "ai.operationId", "value": {"stringValue": "ai.generateText"}}]}]}]}]}
                """
            let response = await api.post("/api/public/otel/v1/traces", json: body)
            try #require(response.status == 200, "\(response.text)")
            let session = try await api.json("/api/public/sessions/s-vercel")
            #expect(session["userId"]?.stringValue == "u-vercel")
            let observation = try await api.json("/api/public/observations/eee19b7ec3c1b174")
            #expect(observation["name"]?.stringValue == "answer:ai.generateText")
            #expect(observation["metadata"]?["plan"]?.stringValue == "pro")
            #expect(observation["metadata"]?["sessionId"] == nil)
        }
    }
}
