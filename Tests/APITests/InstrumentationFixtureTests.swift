import API
import Foundation
import Model
import Storage
import Testing
import Transport

/// The OTLP exports of seven real instrumentations (captured by scripts/instrumentations with
/// CAPTURE_FIXTURES=1: a three-turn session with a streamed call, a tool call and a failed
/// call against a stub OpenAI server), replayed without Python. What a user sees must hold for
/// each: the session groups its turns and user, every generation costs what the price table
/// gives (the stub.s usage is fixed: 120 input tokens, 20 of them cached, and 30 output, of gpt-4o-mini),
/// the streamed call has a time to first token, the tool is a TOOL, the failed call counts its
/// ERROR spans once, and no chunk, first-token or exception event is an observation.
@Suite("Instrumentation fixtures")
struct InstrumentationFixtureTests {
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/instrumentations")

    struct Case: Sendable, CustomStringConvertible {
        let library: String
        let session: String
        let user: String
        /// Whether the library sends a first-token signal for a streamed call.
        let ttft: Bool
        let costSource: String
        /// ERROR spans of the failed turn.
        let errors: Int
        /// USD per call: gpt-4o-mini in Langfuse's table, 100 input, 20 cached input and 30 output
        /// tokens (1e-4 × 1.5e-7 … = 3.45e-5), or 120 input and 30 output for a library that
        /// does not report cached tokens (3.6e-5).
        var callCost = 3.45e-05
        var description: String { library }
    }

    static let cases: [Case] = [
        Case(library: "openinference", session: "sess-openinference", user: "user-openinference", ttft: true, costSource: "inferred", errors: 1),
        Case(library: "openllmetry", session: "sess-openllmetry", user: "user-openllmetry", ttft: true, costSource: "inferred", errors: 1),
        Case(library: "traceloop", session: "sess-traceloop", user: "user-traceloop", ttft: true, costSource: "inferred", errors: 1),
        Case(library: "langfuse-openai", session: "sess-langfuse-openai", user: "user-langfuse-openai", ttft: true, costSource: "inferred", errors: 1),
        Case(library: "langchain", session: "sess-langchain", user: "user-langchain", ttft: true, costSource: "inferred", errors: 1),
        Case(library: "otel-genai", session: "sess-otel-genai", user: "user-otel-genai", ttft: false, costSource: "inferred", errors: 1,
             callCost: 3.6e-05),
        Case(library: "pydantic-ai", session: "sess-pydantic-ai", user: "user-pydantic-ai", ttft: true, costSource: "given", errors: 2),
    ]

    @Test(arguments: cases)
    func replayedExportShowsWhatTheUserLooksFor(_ c: Case) async throws {
        let folder = Self.fixtures.appendingPathComponent(c.library)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".bin") }.sorted()
        try #require(!files.isEmpty, "no fixtures in \(folder.path)")
        try await APIHarness.with { api async throws in
            for file in files {
                let body = Array(try Data(contentsOf: folder.appendingPathComponent(file)))
                let response = await api.respond(HTTPRequest(
                    method: "POST", target: "/api/public/otel/v1/traces",
                    headers: ["Content-Type": "application/x-protobuf", "Authorization": APIHarness.basic], body: body))
                try #require(response.status == 200, "\(file): \(response.text)")
            }
            let session = try await api.json("/api/public/sessions/\(c.session)")
            let traces = session["traces"]?.arrayValue ?? []
            #expect(traces.count == 3, "\(traces.map { $0["name"] ?? .null })")
            #expect(traces.allSatisfy { $0["userId"]?.stringValue == c.user })
            let observations = traces.flatMap { Self.flatten($0["observations"]?.arrayValue ?? []) }

            #expect(!observations.contains { $0["type"]?.stringValue == "EVENT" },
                    "\(observations.filter { $0["type"]?.stringValue == "EVENT" }.map { $0["name"] ?? .null })")
            let generations = observations.filter { $0["type"]?.stringValue == "GENERATION" && $0["usageDetails"]?.objectValue?.isEmpty == false }
            #expect(generations.count == 3)
            for generation in generations {
                let cost = generation["calculatedTotalCost"]?.doubleValue ?? 0
                #expect(abs(cost - c.callCost) < 1e-15, "\(generation["costDetails"]?.jsonText ?? "")")
                #expect(generation["costSource"]?.stringValue == c.costSource)
            }
            #expect(abs((session["totalCost"]?.doubleValue ?? 0) - 3 * c.callCost) < 1e-12)

            let streamed = generations.filter { $0["completionStartTime"]?.stringValue != nil }
            #expect(streamed.count == (c.ttft ? 1 : 0))
            for generation in streamed {
                let (start, first, end) = (generation["startTime"]?.stringValue ?? "", generation["completionStartTime"]?.stringValue ?? "",
                                           generation["endTime"]?.stringValue ?? "")
                #expect(start <= first && first <= end, "\(start) \(first) \(end)")
            }
            #expect(observations.contains { $0["type"]?.stringValue == "TOOL" })
            #expect(observations.filter { $0["level"]?.stringValue == "ERROR" }.count == c.errors)
            #expect(session["errorCount"]?.intValue == Int64(c.errors))
        }
    }

    static func flatten(_ observations: [JSONValue]) -> [JSONValue] {
        observations.flatMap { [$0] + flatten($0["children"]?.arrayValue ?? []) }
    }
}
