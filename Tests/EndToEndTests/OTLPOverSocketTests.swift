import Foundation
import Testing
import TestSupport

/// OTLP exports over a real socket: the gzip body the 5.x SDK sends as captured, and a truncated
/// gzip body, which gets a clear 400 while the server keeps serving.
@Suite("OTLP over the socket")
struct OTLPOverSocketTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/sdk")
    static let fixture = fixtures.appendingPathComponent("langfuse-python-5.0.4/otel-traces-1.bin.gz")

    static func export(_ body: [UInt8], to port: Int) throws -> RawResponse {
        let head = request("POST", "/api/public/otel/v1/traces", headers: [
            "Authorization: Basic cGstbGYtY2FwdHVyZTpzay1sZi1jYXB0dXJl",
            "Content-Type: application/x-protobuf", "Content-Encoding: gzip", "Content-Length: \(body.count)",
        ])
        let client = try RawClient(port: port, timeout: .seconds(60))
        try client.send(Array(head.utf8) + body)
        return try client.readResponse(method: "POST")
    }

    @Test func capturedGzipExportIsStoredAndATruncatedOneIsA400() async throws {
        try await withApplicationServer(publicKey: "pk-lf-capture", secretKey: "sk-lf-capture") { server in
            let gzip = Array(try Data(contentsOf: Self.fixture))
            let stored = try await onOwnThread { try Self.export(gzip, to: server.port) }
            #expect(stored.status == 200, "\(stored)")
            #expect(stored.header("Content-Type") == "application/x-protobuf")

            let truncated = try await onOwnThread { try Self.export(Array(gzip.prefix(gzip.count / 2)), to: server.port) }
            #expect(truncated.status == 400, "\(truncated)")
            #expect(truncated.errorBody != nil, "\(truncated.text)")

            let health = try await onOwnThread { try RawClient(port: server.port, timeout: .seconds(60)).request(request(target: "/api/public/health")) }
            #expect(health.status == 200)
        }
    }

    /// Every gzip body captured from a real exporter, as sent, then read back over the socket.
    @Test(arguments: [("langfuse-python-5.0.4/otel-traces-1.bin.gz", "acc-v5-session-cap01", 3),
                      ("opentelemetry-python-1.45.2/otel-traces-envconfig-gzip.bin.gz", "s-env", 1)])
    func everyCapturedGzipExportIsStored(file: String, session: String, traces: Int) async throws {
        try await withApplicationServer(publicKey: "pk-lf-capture", secretKey: "sk-lf-capture") { server in
            let gzip = Array(try Data(contentsOf: Self.fixtures.appendingPathComponent(file)))
            let stored = try await onOwnThread { try Self.export(gzip, to: server.port) }
            #expect(stored.status == 200, "\(stored)")
            let read = try await onOwnThread {
                try RawClient(port: server.port, timeout: .seconds(60)).request(request(
                    target: "/api/public/sessions/\(session)",
                    headers: ["Authorization: Basic cGstbGYtY2FwdHVyZTpzay1sZi1jYXB0dXJl"]))
            }
            #expect(read.status == 200, "\(read)")
            #expect((try read.jsonObject()["traces"] as? [Any])?.count == traces, "\(read.text.prefix(300))")
        }
    }
}
