import API
import Foundation
import Model
import Storage
import Testing
import TestSupport
import Transport

/// Every read and session route needs Basic project credentials: none is 401, the Bearer
/// public key (score writes only) is 403 (langfuse-api.md §2.2, §2.3, §5).
@Suite("Read API authorization")
struct ReadAuthorizationTests {
    static let routes: [(method: String, path: String, body: String)] = [
        ("GET", "/api/public/sessions", ""),
        ("GET", "/api/public/sessions/acc-v2-session-cap01", ""),
        ("POST", "/api/public/sessions", #"{"id": "s-auth"}"#),
        ("POST", "/api/public/sessions/acc-v2-session-cap01/end", "{}"),
        ("POST", "/api/public/traces", #"{"id": "t-auth"}"#),
        ("GET", "/api/public/traces", ""),
        ("GET", "/api/public/traces/ddc979a6-5ae2-46d1-b133-ac3a2cb3b662", ""),
        ("DELETE", "/api/public/traces/ddc979a6-5ae2-46d1-b133-ac3a2cb3b662", ""),
        ("DELETE", "/api/public/traces", #"{"traceIds": ["ddc979a6-5ae2-46d1-b133-ac3a2cb3b662"]}"#),
        ("GET", "/api/public/observations", ""),
        ("GET", "/api/public/observations/c07542a2-a782-43c9-a6a6-5b5940baf563", ""),
        ("GET", "/api/public/scores", ""),
        ("DELETE", "/api/public/scores/37289abd-b9d1-4c15-be2e-75e3600112ff", ""),
    ]

    static func request(_ route: (method: String, path: String, body: String), authorization: String?) -> HTTPRequest {
        var headers: HTTPHeaders = ["Content-Type": "application/json"]
        if let authorization { headers.add("Authorization", authorization) }
        return HTTPRequest(method: route.method, target: route.path, headers: headers, body: Array(route.body.utf8))
    }

    @Test(arguments: [
        (nil, "No authorization header"),
        ("Basic " + Data("pk-lf-capture:sk-lf-wrong".utf8).base64EncodedString(),
         "Invalid credentials. Confirm that you've configured the correct host."),
        ("Token pk-lf-capture", "Invalid authorization header"),
    ] as [(String?, String)])
    func withoutValidCredentialsEveryRouteIs401AndChangesNothing(authorization: String?, message: String) async throws {
        try await APIHarness.with { api async throws in
            try await api.ingestConversation()
            let before = try api.test.dump(tables: TestDatabase.ingestionTables)
            for route in Self.routes {
                let response = await api.respond(Self.request(route, authorization: authorization))
                #expect(response.status == 401, "\(route.method) \(route.path)")
                #expect(response.headers["Content-Type"] == "application/json", "\(route.method) \(route.path)")
                #expect(try response.json()["message"]?.stringValue == message, "\(route.method) \(route.path)")
            }
            #expect(try api.test.dump(tables: TestDatabase.ingestionTables) == before)
        }
    }

    @Test func bearerPublicKeyIs403OnEveryReadRoute() async throws {
        try await APIHarness.with { api async throws in
            try await api.ingestConversation()
            let before = try api.test.dump(tables: TestDatabase.ingestionTables)
            for route in Self.routes {
                let response = await api.respond(Self.request(route, authorization: "Bearer \(APIHarness.publicKey)"))
                #expect(response.status == 403, "\(route.method) \(route.path)")
                #expect(try response.json()["message"]?.stringValue == "Access denied - insufficient permissions for this endpoint",
                        "\(route.method) \(route.path)")
            }
            #expect(try api.test.dump(tables: TestDatabase.ingestionTables) == before)
        }
    }

    @Test func anotherProjectsKeySeesNoneOfThisProjectsData() async throws {
        try await APIHarness.with { api async throws in
            try await api.ingestConversation()
            _ = try await KeyService.create(projectName: "other", publicKey: "pk-lf-other", secretKey: "sk-lf-other", database: api.database)
            let other = "Basic " + Data("pk-lf-other:sk-lf-other".utf8).base64EncodedString()
            for path in ["/api/public/sessions", "/api/public/traces", "/api/public/observations", "/api/public/scores"] {
                let response = await api.get(path, authorization: other)
                #expect(response.status == 200, "\(path)")
                #expect(try response.json().data.isEmpty, "\(path)")
            }
            #expect(await api.get("/api/public/sessions/\(ReadFixtures.sessionID)", authorization: other).status == 404)
            #expect(await api.get("/api/public/traces/\(ReadFixtures.traceIDs[0])", authorization: other).status == 404)
            #expect(await api.get("/api/public/observations/\(ReadFixtures.generationID)", authorization: other).status == 404)
            #expect(await api.delete("/api/public/scores/\(ReadFixtures.scoreID)", authorization: other).status == 404)
            #expect(await api.delete("/api/public/traces/\(ReadFixtures.traceIDs[0])", authorization: other).status == 200)
            #expect(try api.test.count("traces") == 3)
        }
    }
}
