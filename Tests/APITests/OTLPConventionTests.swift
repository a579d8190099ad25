import API
import Foundation
import Model
import Storage
import Testing
import Transport

/// Mapping rules of issue #20 that the SDK's e2e tests and third-party libraries rely on,
/// each through OTLP/JSON.
@Suite("OTLP conventions")
struct OTLPConventionTests {
    static func export(_ api: APIHarness, spans: String, path: String = "/api/public/otel/v1/traces") async -> HTTPResponse {
        let body = #"{"resourceSpans": [{"scopeSpans": [{"scope": {"name": "langfuse-sdk"}, "spans": \#(spans)}]}]}"#
        return await api.respond(HTTPRequest(method: "POST", target: path,
                                             headers: ["Content-Type": "application/json", "Authorization": APIHarness.basic], body: Array(body.utf8)))
    }

    static func span(_ id: String, parent: String? = nil, name: String, attributes: String = "[]", status: Int = 0,
                     events: String = "[]", start: String = "1700000000000000000", end: String = "1700000001000000000") -> String {
        let parentPart = parent.map { #""parentSpanId": "\#($0)", "# } ?? ""
        return #"""
            {"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "\#(id)", \#(parentPart)"name": "\#(name)",
             "startTimeUnixNano": "\#(start)", "endTimeUnixNano": "\#(end)", "attributes": \#(attributes),
             "status": {"code": \#(status)}, "events": \#(events)}
            """#
    }

    @Test func aTraceNameSetOnAChildSpanBeatsTheRootSpansName() async throws {
        try await APIHarness.with { api async throws in
            let spans = "[" + Self.span("b7ad6b7169203331", parent: "a1a1a1a1a1a1a1a1", name: "generation",
                                        attributes: #"[{"key": "langfuse.trace.name", "value": {"stringValue": "my-trace"}}]"#)
                + "," + Self.span("a1a1a1a1a1a1a1a1", name: "root-span") + "]"
            #expect(await Self.export(api, spans: spans).status == 200)
            #expect(try await api.json("/api/public/traces/0af7651916cd43dd8448eb211c80319c")["name"]?.stringValue == "my-trace")
        }
    }

    @Test func theRootSpansObservationMetadataIsTheTracesToo() async throws {
        try await APIHarness.with { api async throws in
            let spans = "[" + Self.span("a1a1a1a1a1a1a1a1", name: "root", attributes: #"""
                [{"key": "langfuse.observation.metadata.interface", "value": {"stringValue": "whatsapp"}},
                 {"key": "langfuse.observation.metadata.shared", "value": {"stringValue": "observation"}},
                 {"key": "langfuse.trace.metadata.shared", "value": {"stringValue": "trace"}}]
                """#) + "]"
            #expect(await Self.export(api, spans: spans).status == 200)
            let trace = try await api.json("/api/public/traces/0af7651916cd43dd8448eb211c80319c")
            #expect(trace["metadata"]?["interface"]?.stringValue == "whatsapp")
            #expect(trace["metadata"]?["shared"]?.stringValue == "trace")
        }
    }

    @Test func modelParametersThatAreNotStringsOrNumbersComeBackAsJSONText() async throws {
        try await APIHarness.with { api async throws in
            let parameters = #"{\"max_tokens\":\"1000\",\"temperature\":0.9,\"stop\":[\"user-1\",\"user-2\"],\"stream\":true}"#
            let spans = "[" + Self.span("a1a1a1a1a1a1a1a1", name: "g", attributes: """
                [{"key": "langfuse.observation.type", "value": {"stringValue": "generation"}},
                 {"key": "langfuse.observation.model.parameters", "value": {"stringValue": "\(parameters)"}}]
                """) + "]"
            #expect(await Self.export(api, spans: spans).status == 200)
            let observation = try await api.json("/api/public/observations/a1a1a1a1a1a1a1a1")
            #expect(observation["modelParameters"] == (try JSONParser.parse(
                #"{"max_tokens":"1000","temperature":0.9,"stop":"[\"user-1\",\"user-2\"]","stream":"true"}"#)))
        }
    }

    @Test func sessionKeysOnAnySpanGroupTheTrace() async throws {
        try await APIHarness.with { api async throws in
            // pydantic-ai: gen_ai.conversation.id only on spans under the app's root span.
            let spans = "[" + Self.span("a1a1a1a1a1a1a1a1", name: "turn") + ","
                + Self.span("b2b2b2b2b2b2b2b2", parent: "a1a1a1a1a1a1a1a1", name: "chat", attributes: #"""
                    [{"key": "gen_ai.conversation.id", "value": {"stringValue": "conv-7"}},
                     {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}}]
                    """#) + "]"
            #expect(await Self.export(api, spans: spans).status == 200)
            let session = try await api.json("/api/public/sessions/conv-7")
            #expect(session["traces"]?.arrayValue?.count == 1)
            let quality = try await api.json("/api/public/quality?fromTimestamp=2023-01-01T00:00:00Z&toTimestamp=2024-01-01T00:00:00Z")
            #expect(quality["orphanTraces"]?["count"]?.intValue == 0)
        }
    }

    @Test func chunksFirstTokenAndExceptionEventsFoldIntoTheirSpan() async throws {
        try await APIHarness.with { api async throws in
            let chunk = #"{"name": "gen_ai.content.completion.chunk", "timeUnixNano": "1700000000250000000"}"#
            let later = #"{"name": "gen_ai.content.completion.chunk", "timeUnixNano": "1700000000500000000"}"#
            let exception = #"{"name": "exception", "timeUnixNano": "1700000000900000000", "attributes": [{"key": "exception.message", "value": {"stringValue": "boom"}}]}"#
            let spans = "[" + Self.span("a1a1a1a1a1a1a1a1", name: "openai.chat", attributes: #"""
                [{"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}},
                 {"key": "traceloop.span.kind", "value": {"stringValue": "task"}}]
                """#, status: 2, events: "[\(chunk), \(later), \(exception)]") + ","
                + Self.span("c3c3c3c3c3c3c3c3", parent: "a1a1a1a1a1a1a1a1", name: "weather.tool", attributes: #"""
                    [{"key": "traceloop.span.kind", "value": {"stringValue": "tool"}},
                     {"key": "traceloop.entity.name", "value": {"stringValue": "get_weather"}}]
                    """#) + "]"
            #expect(await Self.export(api, spans: spans).status == 200)
            let trace = try await api.json("/api/public/traces/0af7651916cd43dd8448eb211c80319c")
            let observations = trace["observations"]?.arrayValue ?? []
            #expect(observations.count == 2, "\(observations.map { $0["name"] ?? .null })")
            let chat = try #require(observations.first { $0["id"]?.stringValue == "a1a1a1a1a1a1a1a1" })
            #expect(chat["type"]?.stringValue == "CHAIN")
            #expect(chat["completionStartTime"]?.stringValue == "2023-11-14T22:13:20.250Z")
            #expect(chat["metadata"]?["streamChunks"]?.intValue == 2)
            #expect(chat["metadata"]?["exception"]?["exception.message"]?.stringValue == "boom")
            #expect(chat["statusMessage"]?.stringValue == "boom")
            let tool = try #require(observations.first { $0["id"]?.stringValue == "c3c3c3c3c3c3c3c3" })
            #expect(tool["type"]?.stringValue == "TOOL")
            #expect(tool["name"]?.stringValue == "get_weather")
            #expect(observations.filter { $0["level"]?.stringValue == "ERROR" }.count == 1)
        }
    }

    @Test func theNewerGenAIDetailsEventCarriesTheMessagesAndIsNoObservation() async throws {
        try await APIHarness.with { api async throws in
            let details = #"""
                {"name": "gen_ai.client.inference.operation.details", "timeUnixNano": "1700000000900000000", "attributes": [
                  {"key": "gen_ai.input.messages", "value": {"stringValue": "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":\"hi\"}]}]"}},
                  {"key": "gen_ai.output.messages", "value": {"stringValue": "[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\",\"content\":\"hello\"}]}]"}}]}
                """#
            let spans = "[" + Self.span("a1a1a1a1a1a1a1a1", name: "chat gpt-4o", attributes: #"""
                [{"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                 {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}}]
                """#, events: "[\(details)]") + "]"
            #expect(await Self.export(api, spans: spans).status == 200)
            let observation = try await api.json("/api/public/observations/a1a1a1a1a1a1a1a1")
            #expect(observation["input"]?.arrayValue?.first?["role"]?.stringValue == "user")
            #expect(observation["output"]?.arrayValue?.first?["parts"]?.arrayValue?.first?["content"]?.stringValue == "hello")
            #expect(await api.get("/api/public/observations/a1a1a1a1a1a1a1a1-0").status == 404)
        }
    }

    @Test func timeToFirstChunkAndOperationCostFromPydanticAI() async throws {
        try await APIHarness.with { api async throws in
            let spans = "[" + Self.span("a1a1a1a1a1a1a1a1", name: "chat gpt-4o-mini", attributes: #"""
                [{"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                 {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}},
                 {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "100"}},
                 {"key": "gen_ai.client.operation.time_to_first_chunk", "value": {"doubleValue": 0.125}},
                 {"key": "operation.cost", "value": {"doubleValue": 0.0042}}]
                """#) + "]"
            #expect(await Self.export(api, spans: spans).status == 200)
            let observation = try await api.json("/api/public/observations/a1a1a1a1a1a1a1a1")
            #expect(observation["completionStartTime"]?.stringValue == "2023-11-14T22:13:20.125Z")
            #expect(observation["calculatedTotalCost"]?.doubleValue == 0.0042)
            #expect(observation["costSource"]?.stringValue == "given")
        }
    }

    @Test func openInferenceErrorSpansTakeTheModelFromInvocationParameters() async throws {
        try await APIHarness.with { api async throws in
            let spans = "[" + Self.span("a1a1a1a1a1a1a1a1", name: "ChatCompletion", attributes: #"""
                [{"key": "openinference.span.kind", "value": {"stringValue": "LLM"}},
                 {"key": "llm.invocation_parameters", "value": {"stringValue": "{\"model\": \"gpt-4o-mini\"}"}},
                 {"key": "metadata", "value": {"stringValue": "{\"app\": \"bot\"}"}},
                 {"key": "traceloop.association.properties.tenant", "value": {"stringValue": "acme"}}]
                """#, status: 2) + "]"
            #expect(await Self.export(api, spans: spans).status == 200)
            let observation = try await api.json("/api/public/observations/a1a1a1a1a1a1a1a1")
            #expect(observation["model"]?.stringValue == "gpt-4o-mini")
            #expect(observation["metadata"]?["app"]?.stringValue == "bot")
            let trace = try await api.json("/api/public/traces/0af7651916cd43dd8448eb211c80319c")
            #expect(trace["metadata"]?["app"]?.stringValue == "bot")
            #expect(trace["metadata"]?["tenant"]?.stringValue == "acme")
        }
    }

    @Test(arguments: ["/api/public/otel/v1/metrics", "/v1/metrics", "/api/public/otel/v1/logs", "/v1/logs"])
    func metricsAndLogsAreAnsweredWithPartialSuccessNever404(_ path: String) async throws {
        try await APIHarness.with { api async throws in
            let isMetrics = path.hasSuffix("metrics")
            let json = isMetrics
                ? #"{"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "gen_ai.client.token.usage", "histogram": {"dataPoints": [{}, {}]}}, {"name": "g", "gauge": {"dataPoints": [{}]}}]}]}]}"#
                : #"{"resourceLogs": [{"scopeLogs": [{"logRecords": [{}, {}, {}]}]}]}"#
            let answer = await api.respond(HTTPRequest(method: "POST", target: path, headers: [
                "Content-Type": "application/json", "Authorization": APIHarness.basic], body: Array(json.utf8)))
            #expect(answer.status == 200)
            let partial = try answer.json()["partialSuccess"]
            #expect(partial?[isMetrics ? "rejectedDataPoints" : "rejectedLogRecords"]?.stringValue == (isMetrics ? "3" : "3"))
            #expect(partial?["errorMessage"]?.stringValue?.contains("not kept") == true)
            // Protobuf: ExportMetricsServiceRequest{resource_metrics{scope_metrics{metrics{sum{data_points×2}}}}}.
            let point: [UInt8] = [0x0A, 0x00]
            let sum: [UInt8] = [0x3A, 0x04] + point + point
            let metric: [UInt8] = [0x12, UInt8(sum.count)] + sum
            let scope: [UInt8] = [0x12, UInt8(metric.count)] + metric
            let log: [UInt8] = [0x12, 0x00]
            let scopeLogs: [UInt8] = [0x12, 0x02] + log
            let body: [UInt8] = isMetrics ? [0x0A, UInt8(scope.count)] + scope : [0x0A, UInt8(scopeLogs.count)] + scopeLogs
            let binary = await api.respond(HTTPRequest(method: "POST", target: path, headers: [
                "Content-Type": "application/x-protobuf", "Authorization": APIHarness.basic], body: body))
            #expect(binary.status == 200)
            #expect(binary.headers["Content-Type"] == "application/x-protobuf")
            // partial_success { rejected = 2 (metrics) or 1 (logs), error_message }.
            // (The length of partial_success takes two varint bytes: the message is over 127 bytes.)
            #expect(Array(binary.body.prefix(5)) == [0x0A, UInt8(binary.body.count - 3) | 0x80, 0x01, 0x08, isMetrics ? 2 : 1])
            let broken = await api.respond(HTTPRequest(method: "POST", target: path, headers: [
                "Content-Type": "application/x-protobuf", "Authorization": APIHarness.basic], body: [0x0A, 0x7F]))
            #expect(broken.status == 400)
            let anonymous = await api.respond(HTTPRequest(method: "POST", target: path, headers: ["Content-Type": "application/json"], body: Array(json.utf8)))
            #expect(anonymous.status == 401)
        }
    }
}
