import Foundation
import Testing
import TestSupport

/// Issue #9's bad input that once took the whole server down, sent over a real socket: the bad
/// event gets its own 400 inside the 207, the good one is stored, and the server goes on serving.
@Suite("Bad input over the socket")
struct BadInputOverSocketTests {
    static let authorization = "Authorization: Basic cGstbGYtY2FwdHVyZTpzay1sZi1jYXB0dXJl"

    static func post(_ body: String, path: String = "/api/public/ingestion", to port: Int) throws -> RawResponse {
        let client = try RawClient(port: port, timeout: .seconds(60))
        return try client.request(request("POST", path, headers: [authorization, "Content-Type: application/json"], body: body),
                                  method: "POST")
    }

    /// Usage counts that each fit in Int64 but overflow it when added up, once a trap on the
    /// writer thread (the process died and every client with it).
    @Test func usageThatWouldOverflowIsRefusedAndTheServerKeepsServing() async throws {
        try await withApplicationServer(publicKey: "pk-lf-capture", secretKey: "sk-lf-capture") { server in
            let batch = #"""
                {"batch":[
                 {"id":"good","type":"trace-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"t1"}},
                 {"id":"huge","type":"generation-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"g1","traceId":"t1","usageDetails":{"a":9223372036854775807,"b":9223372036854775807}}},
                 {"id":"nul","type":"trace-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"t2","userId":"a\u0000b"}}]}
                """#
            let answer = try await onOwnThread { try Self.post(batch, to: server.port) }
            #expect(answer.status == 207, "\(answer)")
            let json = try answer.jsonObject()
            #expect((json["successes"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["good"])
            let errors = json["errors"] as? [[String: Any]] ?? []
            #expect(errors.compactMap { $0["id"] as? String } == ["huge", "nul"])
            #expect(errors.allSatisfy { $0["status"] as? Int == 400 }, "\(errors)")

            // An OTLP export with int64-sized GenAI usage: stored, ignored usage, no trap.
            let span = #"{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"s","startTimeUnixNano":"1700000000000000000","attributes":[{"key":"gen_ai.usage.input_tokens","value":{"intValue":"9223372036854775807"}},{"key":"gen_ai.usage.cache_read_input_tokens","value":{"intValue":"-9223372036854775808"}}]}"#
            let export = try await onOwnThread {
                try Self.post(#"{"resourceSpans":[{"scopeSpans":[{"spans":[\#(span)]}]}]}"#,
                              path: "/api/public/otel/v1/traces", to: server.port)
            }
            #expect(export.status == 200, "\(export)")

            let read = try await onOwnThread {
                try RawClient(port: server.port, timeout: .seconds(60))
                    .request(request(target: "/api/public/traces/t1", headers: [Self.authorization]))
            }
            #expect(read.status == 200, "\(read)")
            let health = try await onOwnThread {
                try RawClient(port: server.port, timeout: .seconds(60)).request(request(target: "/api/public/health"))
            }
            #expect(health.status == 200)
        }
    }
}
