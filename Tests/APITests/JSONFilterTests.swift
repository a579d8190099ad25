import API
import Foundation
import Model
import Storage
import Testing
import Transport

/// Langfuse's `filter` parameter on the trace and observation lists: applied exactly, or 400.
@Suite("JSON filter")
struct JSONFilterTests {
    static let batch = #"""
        {"batch":[
          {"id":"1","type":"trace-create","timestamp":"2026-11-24T10:00:00Z","body":{"id":"t1","name":"alpha","userId":"u1","sessionId":"s1","tags":["a","b"],"metadata":{"tier":"gold","n":5},"timestamp":"2026-11-24T10:00:00Z"}},
          {"id":"2","type":"trace-create","timestamp":"2026-11-24T11:00:00Z","body":{"id":"t2","name":"beta","userId":"u2","tags":["b"],"metadata":{"tier":"free","n":1},"timestamp":"2026-11-24T11:00:00Z"}},
          {"id":"3","type":"generation-create","timestamp":"2026-11-24T10:00:00Z","body":{"id":"g1","traceId":"t1","name":"llm","model":"gpt-4o","startTime":"2026-11-24T10:00:00Z","endTime":"2026-11-24T10:00:02Z","usageDetails":{"input":10,"output":5},"costDetails":{"total":0.25}}},
          {"id":"4","type":"span-create","timestamp":"2026-11-24T11:00:00Z","body":{"id":"s2","traceId":"t2","name":"work","startTime":"2026-11-24T11:00:00Z","level":"ERROR"}}
        ]}
        """#

    static func ids(_ api: APIHarness, _ path: String, _ filter: String) async throws -> [String] {
        let encoded = filter.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        let page = try await api.json("\(path)?filter=\(encoded)")
        return (page["data"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }.sorted()
    }

    @Test(arguments: [
        (#"[{"type":"string","column":"name","operator":"=","value":"alpha"}]"#, ["t1"]),
        (#"[{"type":"string","column":"name","operator":"starts with","value":"be"}]"#, ["t2"]),
        (#"[{"type":"string","column":"name","operator":"does not contain","value":"ph"}]"#, ["t2"]),
        (#"[{"type":"string","column":"userId","operator":"=","value":"u2"}]"#, ["t2"]),
        (#"[{"type":"stringOptions","column":"sessionId","operator":"none of","value":["s1"]}]"#, ["t2"]),
        (#"[{"type":"arrayOptions","column":"tags","operator":"all of","value":["a","b"]}]"#, ["t1"]),
        (#"[{"type":"arrayOptions","column":"tags","operator":"any of","value":["b"]}]"#, ["t1", "t2"]),
        (#"[{"type":"datetime","column":"timestamp","operator":">=","value":"2026-11-24T10:30:00Z"}]"#, ["t2"]),
        (#"[{"type":"stringObject","column":"metadata","key":"tier","operator":"=","value":"gold"}]"#, ["t1"]),
        (#"[{"type":"numberObject","column":"metadata","key":"n","operator":">","value":2}]"#, ["t1"]),
        (#"[{"type":"number","column":"totalCost","operator":">","value":0.1}]"#, ["t1"]),
        (#"[{"type":"null","column":"sessionId","operator":"is null"}]"#, ["t2"]),
        (#"[{"type":"string","column":"name","operator":"contains","value":"a"},{"type":"number","column":"totalTokens","operator":">=","value":15}]"#, ["t1"]),
        (#"[]"#, ["t1", "t2"]),
    ])
    func traceFiltersSelectExactly(_ filter: String, _ expected: [String]) async throws {
        try await APIHarness.with { api async throws in
            _ = try await api.json(post: "/api/public/ingestion", Self.batch, status: 207)
            #expect(try await Self.ids(api, "/api/public/traces", filter) == expected)
        }
    }

    @Test(arguments: [
        (#"[{"type":"string","column":"type","operator":"=","value":"GENERATION"}]"#, ["g1"]),
        (#"[{"type":"number","column":"latency","operator":">=","value":1.5}]"#, ["g1"]),
        (#"[{"type":"string","column":"level","operator":"=","value":"ERROR"}]"#, ["s2"]),
        (#"[{"type":"string","column":"traceName","operator":"=","value":"beta"}]"#, ["s2"]),
        (#"[{"type":"string","column":"model","operator":"=","value":"gpt-4o"}]"#, ["g1"]),
    ])
    func observationFiltersSelectExactly(_ filter: String, _ expected: [String]) async throws {
        try await APIHarness.with { api async throws in
            _ = try await api.json(post: "/api/public/ingestion", Self.batch, status: 207)
            #expect(try await Self.ids(api, "/api/public/observations", filter) == expected)
        }
    }

    @Test(arguments: [
        #"not json"#, #"{"type":"string"}"#,
        #"[{"type":"boolean","column":"bookmarked","operator":"=","value":true}]"#,
        #"[{"type":"number","column":"scores_avg","operator":">","value":1}]"#,
        #"[{"type":"string","column":"name","operator":">","value":"a"}]"#,
        #"[{"type":"number","column":"name","operator":"=","value":1}]"#,
        #"[{"type":"datetime","column":"timestamp","operator":">","value":"yesterday"}]"#,
        #"[{"type":"stringObject","column":"metadata","operator":"=","value":"x"}]"#,
        #"[{"type":"regex","column":"name","operator":"=","value":"x"}]"#,
    ])
    func unsupportedFiltersAre400NeverIgnored(_ filter: String) async throws {
        try await APIHarness.with { api async throws in
            let encoded = filter.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            let answer = await api.get("/api/public/traces?filter=\(encoded)")
            #expect(answer.status == 400, "\(answer.text)")
            #expect(try answer.json()["message"]?.stringValue?.contains("filter") == true)
        }
    }
}
