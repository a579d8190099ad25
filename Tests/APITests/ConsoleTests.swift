import API
import ConsoleAssets
import Foundation
import Model
import Storage
import Testing
import TestSupport
import Transport

/// The web console's routes in-process: its files and pages with their security headers, sign-in
/// and the cookie's scope (reads only), sign-out, revocation, cross-site refusal, and the live
/// event stream's bounds (docs/CONSOLE.md).
@Suite struct ConsoleTests {
    /// A console in front of the harness's database, with the live-stream bounds and key cache
    /// the test chooses.
    struct Console {
        let harness: APIHarness
        let application: Application

        init(_ harness: APIHarness, live: LiveStreams.Configuration = LiveStreams.Configuration(), keyCacheLifetime: Duration = .seconds(10)) {
            self.harness = harness
            application = Routes.application(
                database: harness.database, transportStats: TransportStats(), logger: .test, defaults: APIHarness.rawUserIDs,
                live: live, keyCacheLifetime: keyCacheLifetime)
        }

        func respond(_ method: String, _ target: String, headers: HTTPHeaders = [:], body: String = "", secure: Bool = false) async -> HTTPResponse {
            var request = HTTPRequest(method: method, target: target, headers: headers, body: Array(body.utf8))
            request.isSecure = secure
            return await withCheckedContinuation { continuation in
                application.respond(to: request) { continuation.resume(returning: $0) }
            }
        }

        /// Signs in with the capture key pair; the cookie's value.
        func signIn(publicKey: String = APIHarness.publicKey, secretKey: String = APIHarness.secretKey) async throws -> String {
            let response = await respond("POST", "/api/console/session", headers: ["Content-Type": "application/json"],
                                         body: #"{"publicKey": "\#(publicKey)", "secretKey": "\#(secretKey)"}"#)
            try #require(response.status == 200, "\(response.status) \(response.text)")
            let setCookie = try #require(response.headers["Set-Cookie"])
            let value = try #require(setCookie.split(separator: ";").first?.split(separator: "=", maxSplits: 1).last)
            return String(value)
        }

        func get(_ target: String, cookie: String?, headers: HTTPHeaders = [:]) async -> HTTPResponse {
            var headers = headers
            if let cookie { headers.add("Cookie", "theme=dark; \(ConsoleSessions.cookieName)=\(cookie)") }
            return await respond("GET", target, headers: headers)
        }
    }

    // MARK: Files and pages

    @Test func servesEmbeddedFilesWithTypeValidatorAndSecurityHeaders() async throws {
        try await APIHarness.with { harness in
            let console = Console(harness)
            for (path, type) in [("/console/app.js", "text/javascript; charset=utf-8"), ("/console/style.css", "text/css; charset=utf-8"),
                                 ("/console/icon.svg", "image/svg+xml"), ("/", "text/html; charset=utf-8")] {
                let response = await console.respond("GET", path)
                #expect(response.status == 200, "\(path)")
                #expect(response.headers["Content-Type"] == type, "\(path)")
                #expect(response.headers["X-Content-Type-Options"] == "nosniff", "\(path)")
                let policy = try #require(response.headers["Content-Security-Policy"], "\(path)")
                #expect(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"))
                #expect(response.headers["Cache-Control"] == "no-cache")
                let etag = try #require(response.headers["ETag"])
                let again = await console.respond("GET", path, headers: ["If-None-Match": etag])
                #expect(again.status == 304 && again.body.isEmpty, "\(path)")
            }
            #expect(ConsoleAssetFiles.totalBytes > 10_000 && ConsoleAssetFiles.byName.keys.contains("index.html"))
            let missing = await console.respond("GET", "/console/nope.js")
            try expectNotFound(missing, message: "No console file nope.js")
        }
    }

    @Test func deepLinksServeThePageAndUnknownViewsAre404() async throws {
        try await APIHarness.with { harness in
            let console = Console(harness)
            let page = await console.respond("GET", "/")
            for path in ["/project/p1", "/project/p1/sessions", "/project/p1/quality", "/project/p1/sessions/s%201",
                         "/project/p1/traces/t1", "/project/p1/users/u1"] {
                let response = await console.respond("GET", path)
                #expect(response.status == 200 && response.body == page.body, "\(path)")
            }
            #expect(String(decoding: page.body, as: UTF8.self).contains("<script type=\"module\" src=\"/console/app.js\">"))
            #expect(!String(decoding: page.body, as: UTF8.self).contains("<script>"), "no inline script")
            let unknown = await console.respond("GET", "/project/p1/settings")
            try expectNotFound(unknown, message: "No console view settings")
        }
    }

    // MARK: Sign-in and the cookie's scope

    @Test func signInSetsAnHttpOnlyStrictCookieThatOnlyReads() async throws {
        try await APIHarness.with { harness in
            let console = Console(harness)
            try await harness.ingestConversation()
            let response = await console.respond("POST", "/api/console/session", headers: ["Content-Type": "application/json"],
                                                 body: #"{"publicKey": "pk-lf-capture", "secretKey": "sk-lf-capture"}"#)
            #expect(response.status == 200)
            let cookie = try #require(response.headers["Set-Cookie"])
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/"))
            #expect(!cookie.contains("Secure"), "plain HTTP")
            #expect(!cookie.contains("sk-lf-capture"))
            #expect(try response.json()["projectId"]?.stringValue == harness.project.publicID)
            let token = try await console.signIn()
            #expect(token.utf8.count == 64)

            let reads = ["/api/public/sessions", "/api/public/sessions/\(ReadFixtures.sessionID)", "/api/public/analytics/dropoff",
                         "/api/public/traces/\(ReadFixtures.traceIDs[0])", "/api/public/export/sessions", "/api/console/session"]
            for path in reads {
                #expect(await console.get(path, cookie: token).status == 200, "\(path)")
                #expect(await console.get(path, cookie: nil).status == (path == "/api/console/session" ? 200 : 401), "\(path)")
            }
            let head = await console.respond("HEAD", "/api/public/sessions", headers: ["Cookie": "\(ConsoleSessions.cookieName)=\(token)"])
            #expect(head.status == 200)
            // Every write and delete still needs the key.
            let cookieHeader: HTTPHeaders = ["Cookie": "\(ConsoleSessions.cookieName)=\(token)", "Content-Type": "application/json"]
            for (method, path, body) in [
                ("POST", "/api/public/sessions", #"{"id": "via-cookie"}"#), ("POST", "/api/public/ingestion", #"{"batch": []}"#),
                ("DELETE", "/api/public/sessions/\(ReadFixtures.sessionID)", ""), ("DELETE", "/api/public/traces/\(ReadFixtures.traceIDs[0])", ""),
                ("PATCH", "/api/public/projects/\(harness.project.publicID)/settings", #"{"retentionDays": 1}"#),
                ("POST", "/api/public/scores", #"{"traceId": "t", "name": "n", "value": 1}"#),
            ] {
                let answer = await console.respond(method, path, headers: cookieHeader, body: body)
                #expect(answer.status == 401, "\(method) \(path): \(answer.status)")
            }
            #expect(await harness.get("/api/public/sessions/via-cookie").status == 404)
            #expect(await harness.get("/api/public/sessions/\(ReadFixtures.sessionID)").status == 200)
        }
    }

    @Test func signInRefusesWrongKeysBadBodiesAndCrossSiteRequests() async throws {
        try await APIHarness.with { harness in
            let console = Console(harness)
            let good = #"{"publicKey": "pk-lf-capture", "secretKey": "sk-lf-capture"}"#
            let json: HTTPHeaders = ["Content-Type": "application/json", "Host": "127.0.0.1:3000"]
            let wrong = await console.respond("POST", "/api/console/session", headers: json,
                                              body: #"{"publicKey": "pk-lf-capture", "secretKey": "sk-lf-nope"}"#)
            #expect(wrong.status == 401 && wrong.headers["Set-Cookie"] == nil)
            for body in ["", "[]", #"{"publicKey": "pk-lf-capture"}"#, #"{"publicKey": 1, "secretKey": 2}"#,
                         #"{"publicKey": "pk", "secretKey": "\#(String(repeating: "s", count: 300))"}"#] {
                let answer = await console.respond("POST", "/api/console/session", headers: json, body: body)
                #expect(answer.status == 400, "\(body.prefix(40))")
                #expect((try? answer.json())?["error"] != nil)
            }
            // The key pair in the URL is not read.
            let inURL = await console.respond("POST", "/api/console/session?publicKey=pk-lf-capture&secretKey=sk-lf-capture", headers: json)
            #expect(inURL.status == 400)
            for extra: HTTPHeaders in [["Origin": "https://evil.example"], ["Origin": "null"], ["Sec-Fetch-Site": "cross-site"],
                                       ["Sec-Fetch-Site": "same-site"], ["Origin": "http://127.0.0.1:3001"]] {
                var headers = json
                for (name, value) in extra { headers.add(name, value) }
                let answer = await console.respond("POST", "/api/console/session", headers: headers, body: good)
                #expect(answer.status == 403 && answer.headers["Set-Cookie"] == nil, "\(extra)")
                let signOut = await console.respond("DELETE", "/api/console/session", headers: headers)
                #expect(signOut.status == 403, "\(extra)")
            }
            var sameOrigin = json
            sameOrigin.add("Origin", "http://127.0.0.1:3000")
            sameOrigin.add("Sec-Fetch-Site", "same-origin")
            #expect(await console.respond("POST", "/api/console/session", headers: sameOrigin, body: good).status == 200)
            let overTLS = await console.respond("POST", "/api/console/session", headers: json, body: good, secure: true)
            #expect(overTLS.headers["Set-Cookie"]?.hasSuffix("; Secure") == true)
        }
    }

    @Test func neverAllowsCredentialsCrossOrigin() async throws {
        try await APIHarness.with { harness in
            let console = Console(harness)
            let token = try await console.signIn()
            let response = await console.get("/api/public/sessions", cookie: token, headers: ["Origin": "https://evil.example"])
            #expect(response.headers["Access-Control-Allow-Credentials"] == nil)
            let preflight = await console.respond("OPTIONS", "/api/public/sessions", headers: [
                "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"])
            #expect(preflight.headers["Access-Control-Allow-Credentials"] == nil)
        }
    }

    @Test func signOutAndRevocationEndTheSignIn() async throws {
        try await APIHarness.with { harness in
            let console = Console(harness, keyCacheLifetime: .zero)
            let token = try await console.signIn()
            let signOut = await console.respond("DELETE", "/api/console/session", headers: ["Cookie": "\(ConsoleSessions.cookieName)=\(token)"])
            #expect(signOut.status == 204)
            #expect(signOut.headers["Set-Cookie"]?.contains("Max-Age=0") == true)
            #expect(await console.get("/api/public/sessions", cookie: token).status == 401)
            #expect(try await console.get("/api/console/session", cookie: token).json()["signedIn"] == .bool(false))

            try await harness.addKey(publicKey: "pk-lf-second", secretKey: "sk-lf-second")
            let second = try await console.signIn(publicKey: "pk-lf-second", secretKey: "sk-lf-second")
            #expect(await console.get("/api/public/sessions", cookie: second).status == 200)
            _ = try await harness.database.writer.write { try ProjectStore.revoke(publicKey: "pk-lf-second", now: 1, on: $0) }
            let revoked = await console.get("/api/public/sessions", cookie: second)
            #expect(revoked.status == 401)
            #expect(try revoked.json()["error"]?.stringValue == "UnauthorizedError")
        }
    }

    @Test func malformedAndOversizedCookiesAreRefusedPlainly() async throws {
        try await APIHarness.with { harness in
            let console = Console(harness)
            for value in ["", "abc", String(repeating: "a", count: 64), String(repeating: "Z", count: 64), String(repeating: "f", count: 12_000)] {
                let response = await console.get("/api/public/sessions", cookie: value)
                #expect(response.status == 401, "\(value.prefix(10))")
            }
            // A full table of sign-ins drops the oldest instead of growing.
            var configuration = ConsoleSessions.Configuration()
            configuration.maxSessions = 3
            let sessions = ConsoleSessions(configuration: configuration)
            let small = Routes.application(database: harness.database, transportStats: TransportStats(), logger: .test, consoleSessions: sessions)
            for _ in 0..<10 {
                let request = HTTPRequest(method: "POST", target: "/api/console/session", headers: ["Content-Type": "application/json"],
                                          body: Array(#"{"publicKey": "pk-lf-capture", "secretKey": "sk-lf-capture"}"#.utf8))
                let status = await withCheckedContinuation { continuation in small.respond(to: request) { continuation.resume(returning: $0.status) } }
                #expect(status == 200)
            }
            #expect(sessions.count == 3)
        }
    }

    // MARK: Summary drill-down and turn pages

    @Test func summaryDrillDownListsTurnsWithoutTheirTextAndPagesCarryIt() async throws {
        try await APIHarness.with { harness in
            try await harness.ingestConversation()
            let full = try await harness.json("/api/public/sessions/\(ReadFixtures.sessionID)")
            let summary = try await harness.json("/api/public/sessions/\(ReadFixtures.sessionID)?fields=summary")
            let turns = try #require(summary["turns"]?.arrayValue)
            #expect(turns.compactMap { $0["traceId"]?.stringValue } == ReadFixtures.traceIDs)
            #expect(summary["traces"] == nil && turns.allSatisfy { $0["input"] == nil && $0["output"] == nil })
            #expect(summary["turnCount"] == full["turnCount"] && summary["totalCost"] == full["totalCost"])
            #expect(turns.map { $0["totalTokens"] } == (full["traces"]?.arrayValue ?? []).map { $0["totalTokens"] })
            let page = try await harness.json("/api/public/sessions/\(ReadFixtures.sessionID)/turns?page=2&limit=1")
            #expect(page.data.map { $0["id"]?.stringValue } == [ReadFixtures.traceIDs[1]])
            #expect(page.data.first?["input"] == full["traces"]?.arrayValue?[1]["input"])
            #expect(page["meta"]?["totalItems"]?.intValue == 3)
            try expectBadRequest(await harness.get("/api/public/sessions/\(ReadFixtures.sessionID)/turns?limit=101"), "limit 101")
            try expectNotFound(await harness.get("/api/public/sessions/nope/turns"), message: "Session not found within authorized project")
        }
    }

    @Test func sessionFiltersFollowTheDropoffGroupsAndJourneyStages() async throws {
        try await APIHarness.with { harness in
            for (index, intent) in ["billing", "refund", "billing"].enumerated() {
                try await harness.ingest(Build.turn("f\(index)", session: "fs\(index)", number: index + 1, at: Int64(index) * 1000,
                    metadata: [("turn.input_type", .string(intent)), ("journey.name", .string("j")), ("journey.stage", .string("s\(index)"))]))
            }
            #expect(try await harness.ids("/api/public/sessions?lastIntent=billing&orderBy=createdAt.asc").sorted() == ["fs0", "fs2"])
            #expect(try await harness.ids("/api/public/sessions?lastTurn=2") == ["fs1"])
            #expect(try await harness.ids("/api/public/sessions?journey=j&journeyStage=s2") == ["fs2"])
            #expect(try await harness.ids("/api/public/sessions?agentLastAction=none").isEmpty)
            try expectBadRequest(await harness.get("/api/public/sessions?lastTurn=x"), "lastTurn=x")
            try expectBadRequest(await harness.get("/api/public/sessions?lastTurn=-1"), "lastTurn=-1")
        }
    }
}

