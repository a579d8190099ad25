import API
import Crypto
import Foundation
import Ingest
import Model
import Storage
import TestSupport
import Testing
import Transport

/// The bytes of the database file and its WAL, to search for what must never be stored.
private func storedBytes(_ api: APIHarness) throws -> [UInt8] {
    var bytes: [UInt8] = []
    for path in [api.test.path, api.test.path + "-wal"] where FileManager.default.fileExists(atPath: path) {
        bytes += try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    }
    return bytes
}

private func contains(_ haystack: [UInt8], _ needle: String) -> Bool {
    let pattern = Array(needle.utf8)
    guard !pattern.isEmpty, haystack.count >= pattern.count else { return false }
    for start in 0...(haystack.count - pattern.count) where haystack[start] == pattern[0] {
        if haystack[start..<(start + pattern.count)].elementsEqual(pattern) { return true }
    }
    return false
}

/// The settings path of the capture project.
private func settingsPath(_ api: APIHarness) -> String { "/api/public/projects/\(api.project.publicID)/settings" }

@Suite("Privacy: user-id hashing (on by default)")
struct UserHashingTests {
    static let rawUser = "alice.rawid@example.com"

    @Test("a user id from either path is stored only as its keyed hash, and filters take the raw id")
    func rawIDNeverStored() async throws {
        try await APIHarness.with(defaults: ProjectDefaults()) { api in
            try await api.ingest(Build.turn("t-1", session: "s-1", user: Self.rawUser, at: 0, metadata: [
                ("user.id", .string(Self.rawUser)), ("nested", .object([("user_id", .string(Self.rawUser))])),
            ]))
            _ = try await api.json(post: "/api/public/sessions", #"{"id": "s-2", "userId": "\#(Self.rawUser)"}"#, status: 201)
            let otlp = """
                {"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c",
                "spanId":"b7ad6b7169203331","name":"turn","startTimeUnixNano":"1772442000000000000",
                "endTimeUnixNano":"1772442001000000000","attributes":[
                {"key":"user.id","value":{"stringValue":"\(Self.rawUser)"}},
                {"key":"session.id","value":{"stringValue":"s-3"}}]}]}]}]}
                """
            var headers: HTTPHeaders = ["Content-Type": "application/json", "Authorization": APIHarness.basic]
            headers.add("X-Test", "otlp")
            let response = await api.respond(HTTPRequest(method: "POST", target: "/api/public/otel/v1/traces", headers: headers, body: Array(otlp.utf8)))
            try #require(response.status == 200, "\(response.text)")

            let user = try await api.json("/api/public/users/\(Self.rawUser)")
            let hashed = try #require(user["id"]?.stringValue)
            #expect(PrivacyPolicy.isHashed(hashed))
            #expect(user["sessions"]?.intValue == 3)
            #expect(user["traces"]?.intValue == 2)
            // The same id whether asked for raw or hashed.
            #expect(try await api.json("/api/public/users/\(hashed)")["id"]?.stringValue == hashed)

            let trace = try await api.json("/api/public/traces/t-1")
            #expect(trace["userId"]?.stringValue == hashed)
            #expect(trace["metadata"]?["user.id"]?.stringValue == hashed)
            #expect(trace["metadata"]?["nested"]?["user_id"]?.stringValue == hashed)
            for path in ["/api/public/traces?userId=\(Self.rawUser)", "/api/public/sessions?userId=\(Self.rawUser)",
                         "/api/public/traces?userId=\(hashed)"] {
                #expect(try await api.json(path).data.count >= 1, "\(path)")
            }
            #expect(try await api.ids("/api/public/sessions?userId=\(Self.rawUser)").sorted() == ["s-1", "s-2", "s-3"])
            #expect(try await api.json("/api/public/analytics/sessions?userId=\(Self.rawUser)")["count"]?.intValue == 3)

            #expect(!contains(try storedBytes(api), Self.rawUser), "the raw user id reached the database file")
        }
    }

    @Test("two projects hash the same id differently, and each project's hash is stable")
    func saltIsPerProject() async throws {
        try await APIHarness.with(defaults: ProjectDefaults()) { api in
            let other = try await KeyService.create(projectName: "other", publicKey: "pk-lf-o", secretKey: "sk-lf-o", database: api.database)
            let salts = try api.database.readBlocking { db in
                var salts: [[UInt8]] = []
                try db.statement("SELECT user_salt FROM projects ORDER BY id").query { salts.append($0.blob(0) ?? []) }
                return salts
            }
            #expect(salts.count == 2 && salts[0].count == 32 && salts[0] != salts[1])
            let settings = ProjectSettings()
            let mine = PrivacyPolicy(settings: settings, salt: salts[0], defaults: ProjectDefaults())
            let theirs = PrivacyPolicy(settings: settings, salt: salts[1], defaults: ProjectDefaults())
            #expect(mine.userID("bob") == mine.userID("bob"))
            #expect(mine.userID("bob") != theirs.userID("bob"))
            #expect(other.project.rowID != api.project.rowID)
        }
    }

    @Test("with hashing turned off for the project, ids are stored as sent")
    func hashingOff() async throws {
        try await APIHarness.with(defaults: ProjectDefaults()) { api in
            _ = try await api.json(patch: settingsPath(api), #"{"hashUserIds": false}"#)
            try await api.ingest(Build.turn("t-1", session: "s-1", user: "plain-user", at: 0))
            #expect(try await api.json("/api/public/traces/t-1")["userId"]?.stringValue == "plain-user")
            #expect(try await api.json("/api/public/users/plain-user")["id"]?.stringValue == "plain-user")
        }
    }
}

@Suite("Privacy: input/output policy")
struct IOPolicyTests {
    static let email = "planted.person@example.org"

    private func ingestPersonal(_ api: APIHarness) async throws {
        let trace = Build.envelope("trace-create", Build.object([
            ("id", .string("t-pii")), ("timestamp", .string(Build.time(0))), ("sessionId", .string("s-pii")),
            ("input", .string("Mail me at \(Self.email) or call +44 20 7946 0958")),
            ("output", .object([("answer", .string("Sent to \(Self.email)"))])),
            ("metadata", .object([("contact", .string(Self.email)), ("count", JSONValue(3))])),
        ]), at: 0)
        try await api.ingest([trace])
    }

    @Test("masked replaces personal data with typed placeholders before storage")
    func masked() async throws {
        try await APIHarness.with(defaults: ProjectDefaults()) { api in
            let settings = try await api.json(patch: settingsPath(api), #"{"ioPolicy": "masked"}"#)
            #expect(settings["effective"]?["ioPolicy"]?.stringValue == "masked")
            try await ingestPersonal(api)
            let trace = try await api.json("/api/public/traces/t-pii")
            let input = try #require(trace["input"]?.stringValue)
            #expect(input.contains("[EMAIL]") && input.contains("[PHONE]") && !input.contains(Self.email), "\(input)")
            #expect(trace["output"]?["answer"]?.stringValue == "Sent to [EMAIL]")
            #expect(trace["metadata"]?["contact"]?.stringValue == "[EMAIL]")
            #expect(trace["metadata"]?["count"]?.intValue == 3)
            #expect(!contains(try storedBytes(api), Self.email), "the planted email reached the database file")
        }
    }

    @Test("metadata-only keeps each value's size and SHA-256, and no text")
    func metadataOnly() async throws {
        try await APIHarness.with(defaults: ProjectDefaults()) { api in
            _ = try await api.json(patch: settingsPath(api), #"{"ioPolicy": "metadata-only"}"#)
            try await ingestPersonal(api)
            let trace = try await api.json("/api/public/traces/t-pii")
            let text = "Mail me at \(Self.email) or call +44 20 7946 0958"
            #expect(trace["input"]?["redacted"]?.stringValue == "metadata-only")
            #expect(trace["input"]?["bytes"]?.intValue == Int64(text.utf8.count))
            #expect(trace["input"]?["sha256"]?.stringValue == Digest.hex(Digest.sha256(Array(text.utf8))))
            #expect(trace["output"]?["bytes"]?.intValue == Int64(#"{"answer":"Sent to \#(Self.email)"}"#.utf8.count))
            #expect(trace["metadata"]?["contact"]?.stringValue == "[EMAIL]")
            #expect(!contains(try storedBytes(api), Self.email))
        }
    }

    @Test("full (the default) stores input and output as sent")
    func full() async throws {
        try await APIHarness.with(defaults: ProjectDefaults()) { api in
            try await ingestPersonal(api)
            let trace = try await api.json("/api/public/traces/t-pii")
            #expect(trace["input"]?.stringValue?.contains(Self.email) == true)
        }
    }
}

@Suite("Project settings API")
struct ProjectSettingsAPITests {
    @Test("GET shows stored and effective settings; PATCH sets, validates and resets keys")
    func getAndPatch() async throws {
        try await APIHarness.with(defaults: ProjectDefaults(retentionDays: 90)) { api in
            let path = settingsPath(api)
            let initial = try await api.json(path)
            #expect(initial["settings"] == .object([]))
            #expect(initial["effective"]?["hashUserIds"]?.boolValue == true)
            #expect(initial["effective"]?["retentionDays"]?.intValue == 90)
            #expect(initial["effective"]?["ioPolicy"]?.stringValue == "full")

            let changed = try await api.json(patch: path, #"{"retentionDays": 30, "inactivityTimeoutSeconds": 600, "contextWindows": {"my-model": 32000}}"#)
            #expect(changed["settings"]?["retentionDays"]?.intValue == 30)
            #expect(changed["effective"]?["inactivityTimeoutSeconds"]?.intValue == 600)
            #expect(changed["settings"]?["contextWindows"]?["my-model"]?.intValue == 32000)
            let reset = try await api.json(patch: path, #"{"retentionDays": null}"#)
            #expect(reset["settings"]?["retentionDays"] == nil)
            #expect(reset["effective"]?["retentionDays"]?.intValue == 90)
            #expect(reset["settings"]?["inactivityTimeoutSeconds"]?.intValue == 600)

            for body in [#"{"ioPolicy": "everything"}"#, #"{"retentionDays": 0}"#, #"{"hashUserIds": "yes"}"#,
                         #"{"colour": "blue"}"#, #"[1]"#, #"{"contextWindows": {"m": -1}}"#] {
                let response = await api.patch(path, json: body)
                #expect(response.status == 400, "\(body): \(response.text)")
                #expect(try response.json()["error"]?.stringValue == "InvalidRequestError")
            }
        }
    }

    @Test("another project's id is 404, and the public key alone is refused")
    func authorization() async throws {
        try await APIHarness.with { api in
            #expect(await api.get("/api/public/projects/not-mine/settings").status == 404)
            #expect(await api.patch("/api/public/projects/not-mine/settings", json: "{}").status == 404)
            let bearer = "Bearer \(APIHarness.publicKey)"
            #expect(await api.get(settingsPath(api), authorization: bearer).status == 403)
            #expect(await api.patch(settingsPath(api), json: #"{"hashUserIds": false}"#, authorization: bearer).status == 403)
        }
    }
}

extension APIHarness {
    /// PATCH `json` to `path`, requiring 200; the body as JSON.
    func json(patch path: String, _ json: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> JSONValue {
        let response = await patch(path, json: json)
        try #require(response.status == 200, "PATCH \(path): \(response.status) \(response.text.prefix(400))",
                     sourceLocation: sourceLocation)
        return try response.json()
    }
}
