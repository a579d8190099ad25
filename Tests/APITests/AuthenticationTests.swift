import API
import Foundation
import Model
import Storage
import Testing
import TestSupport
import Transport

/// Authentication on the write path and `GET /api/public/projects` (operationId `projectsGet`):
/// Langfuse's status codes and messages (langfuse-api.md §2, §6.1).
@Suite("Authentication")
struct AuthenticationTests {
    static let malformed = "Invalid authorization header. Confirm that you've configured the correct host."
    static let wrongKey = "Invalid credentials. Confirm that you've configured the correct host."

    static func basic(_ credentials: String) -> String {
        "Basic " + Data(credentials.utf8).base64EncodedString()
    }

    static let routes: [(method: String, path: String, body: String)] = [
        ("POST", "/api/public/ingestion", #"{"batch":[]}"#),
        ("POST", "/api/public/scores", #"{"traceId":"t","name":"n","value":1}"#),
        ("GET", "/api/public/projects", ""),
    ]

    static func request(_ route: (method: String, path: String, body: String), authorization: String?) -> HTTPRequest {
        var headers: HTTPHeaders = ["Content-Type": "application/json"]
        if let authorization { headers.add("Authorization", authorization) }
        return HTTPRequest(method: route.method, target: route.path, headers: headers, body: Array(route.body.utf8))
    }

    @Test(arguments: [
        (nil, "No authorization header"),
        ("", "No authorization header"),
        ("Token abc", "Invalid authorization header"),
        ("basic cGstbGYtY2FwdHVyZTpzay1sZi1jYXB0dXJl", "Invalid authorization header"),
        ("Basic !!!not-base64!!!", malformed),
        (basic("pk-lf-capture"), malformed),
        (basic("pk-lf-capture:"), malformed),
        (basic(":sk-lf-capture"), malformed),
        (basic("pk-lf-capture:sk-lf-wrong"), wrongKey),
        (basic("pk-lf-unknown:sk-lf-capture"), wrongKey),
        ("Bearer pk-lf-unknown", "Invalid public key. Confirm that you've configured the correct host."),
    ] as [(String?, String)])
    func badCredentialsAre401WithLangfusesMessage(authorization: String?, message: String) async throws {
        try await APIHarness.with { api async throws in
            for route in Self.routes {
                let response = await api.respond(Self.request(route, authorization: authorization))
                #expect(response.status == 401, "\(route.path)")
                let body = try response.json()
                #expect(body["message"]?.stringValue == message, "\(route.path)")
                #expect(body["error"]?.stringValue == "UnauthorizedError", "\(route.path)")
            }
            #expect(try api.test.count("scores") == 0)
        }
    }

    @Test func revokedKeyIsRejectedAsInvalidCredentials() async throws {
        try await APIHarness.with { api async throws in
            try await api.addKey(publicKey: "pk-lf-revoked", secretKey: "sk-lf-revoked", revoked: true)
            for route in Self.routes {
                let response = await api.respond(Self.request(route, authorization: Self.basic("pk-lf-revoked:sk-lf-revoked")))
                #expect(response.status == 401)
                #expect(try response.json()["message"]?.stringValue == Self.wrongKey)
            }
            let bearer = await api.post("/api/public/scores", json: #"{"traceId":"t","name":"n","value":1}"#,
                                        authorization: "Bearer pk-lf-revoked")
            #expect(bearer.status == 401)
        }
    }

    @Test func secretOfAnotherKeyDoesNotAuthenticate() async throws {
        try await APIHarness.with { api async throws in
            try await api.addKey(publicKey: "pk-lf-second", secretKey: "sk-lf-second")
            let crossed = await api.get("/api/public/projects", authorization: Self.basic("pk-lf-capture:sk-lf-second"))
            #expect(crossed.status == 401)
            let own = await api.get("/api/public/projects", authorization: Self.basic("pk-lf-second:sk-lf-second"))
            #expect(own.status == 200)
        }
    }

    @Test func bearerPublicKeyOnIngestionLetsOnlyScoresThrough() async throws {
        try await APIHarness.with { api async throws in
            let batch = """
                {"batch":[
                  {"id":"e-trace","type":"trace-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"t1","name":"n"}},
                  {"id":"e-span","type":"span-create","timestamp":"2026-11-24T21:58:28Z","body":{"id":"o1","traceId":"t1"}},
                  {"id":"e-score","type":"score-create","timestamp":"2026-11-24T21:58:29Z","body":{"id":"s1","traceId":"t1","name":"n","value":1}},
                  {"id":"e-log","type":"sdk-log","timestamp":"2026-11-24T21:58:29Z","body":{"log":"hello"}}
                ]}
                """
            let response = await api.post("/api/public/ingestion", json: batch, authorization: "Bearer \(APIHarness.publicKey)")
            #expect(response.status == 207)
            let result = try IngestionResult(response)
            #expect(result.successes.map(\.id) == ["e-score"])
            let denied = IngestionResult.Entry(id: "", status: 401, message: "Authentication error", error: "Access Scope Denied")
            #expect(result.errors.map(\.id) == ["e-trace", "e-span"])
            #expect(result.errors.allSatisfy { $0.status == denied.status && $0.message == denied.message && $0.error == denied.error })
            #expect(try api.test.count("scores") == 1)
            #expect(try api.test.count("traces") == 0)
            #expect(try api.test.count("observations") == 0)
        }
    }

    @Test func bearerPublicKeyOnProjectsIs403() async throws {
        try await APIHarness.with { api async throws in
            let response = await api.get("/api/public/projects", authorization: "Bearer \(APIHarness.publicKey)")
            #expect(response.status == 403)
            let body = try response.json()
            #expect(body["message"]?.stringValue == "Access denied - insufficient permissions for this endpoint")
        }
    }

    @Test func projectsReturnsTheKeysProjectInLangfusesShape() async throws {
        try await APIHarness.with { api async throws in
            let response = await api.get("/api/public/projects")
            #expect(response.status == 200)
            #expect(response.headers["Content-Type"] == "application/json")
            let body = try response.json()
            let data = try #require(body["data"]?.arrayValue)
            try #require(data.count == 1)
            let project = data[0]
            #expect(project["id"]?.stringValue == api.project.publicID)
            #expect(project["name"]?.stringValue == "capture")
            #expect(project["organization"]?["id"]?.stringValue?.isEmpty == false)
            #expect(project["organization"]?["name"]?.stringValue?.isEmpty == false)
            #expect(project["metadata"] == .object([]))
            // Everything the SDKs' generated clients require is there, with the same JSON kind.
            let minimal = try JSONParser.parse(try SDKFixtures.bytes("read-api-minimal-responses/GET_api_public_projects.json"))
            #expect(Self.missingKeys(required: minimal, in: body) == [])
        }
    }

    @Test func projectsNeverShowsAnotherProject() async throws {
        try await APIHarness.with { api async throws in
            _ = try await KeyService.create(projectName: "other", publicKey: "pk-lf-other", secretKey: "sk-lf-other", database: api.database)
            let body = try await api.get("/api/public/projects", authorization: Self.basic("pk-lf-other:sk-lf-other")).json()
            #expect(body["data"]?.arrayValue?.count == 1)
            #expect(body["data"]?.arrayValue?.first?["name"]?.stringValue == "other")
            #expect(body["data"]?.arrayValue?.first?["id"]?.stringValue != api.project.publicID)
        }
    }

    /// Paths (like `data[0].organization.id`) present in `required` but absent or of another kind in `actual`.
    static func missingKeys(required: JSONValue, in actual: JSONValue, path: String = "") -> [String] {
        switch (required, actual) {
        case (.object(let members), .object):
            return members.flatMap { key, value in
                guard let other = actual[key] else { return ["\(path).\(key)"] }
                return missingKeys(required: value, in: other, path: "\(path).\(key)")
            }
        case (.array(let items), .array(let others)):
            guard let template = items.first else { return [] }
            return others.enumerated().flatMap { missingKeys(required: template, in: $1, path: "\(path)[\($0)]") }
        case (.string, .string), (.number, .number), (.bool, .bool), (.null, .null):
            return []
        default:
            return [path]
        }
    }
}
