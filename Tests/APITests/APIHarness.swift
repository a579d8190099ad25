import API
import Model
import Storage
import Testing
import TestSupport
import Transport

/// Parley's real application (`Routes.application`) over a fresh SQLite file, driven in-process
/// through `respond(to:)` with no socket, plus the capture credentials `pk-lf-capture` /
/// `sk-lf-capture` that every SDK fixture's `Authorization` header carries.
final class APIHarness: Sendable {
    static let publicKey = "pk-lf-capture"
    static let secretKey = "sk-lf-capture"
    /// `Basic base64("pk-lf-capture:sk-lf-capture")`, as in `Tests/Fixtures/sdk/README.md`.
    static let basic = "Basic cGstbGYtY2FwdHVyZTpzay1sZi1jYXB0dXJl"

    let test: TestDatabase
    let application: Application
    let project: ProjectStore.Project

    private init(test: TestDatabase, project: ProjectStore.Project, defaults: ProjectDefaults, deletionBatchSize: Int) {
        self.test = test
        self.project = project
        application = Routes.application(
            database: test.database, transportStats: TransportStats(), logger: .test, defaults: defaults,
            deletionWorker: DeletionWorker(database: test.database, logger: .test, batchSize: deletionBatchSize),
            maxRequestWait: Self.maxRequestWait)
    }

    /// The server defaults most API tests run under: user ids stored as sent, so reads can be
    /// compared with the SDK fixtures' `expected.json` (Langfuse's own answers). PrivacyTests run
    /// under the real defaults (`ProjectDefaults()`, hashing on).
    static let rawUserIDs = ProjectDefaults(hashUserIds: false)

    var database: Database { test.database }

    /// Generous, so that tests running in parallel on a busy machine are never refused for
    /// waiting; `aRequestThatWaitedTooLongForItsHandlerIsA503` dates a request before it.
    static let maxRequestWait: Duration = .seconds(60)

    /// Runs `body` against a fresh application whose database holds the capture key in project
    /// `capture`; closes the database afterwards, also when `body` throws.
    static func with<Result>(
        configuration: Database.Configuration = TestDatabase.testing, defaults: ProjectDefaults = rawUserIDs,
        deletionBatchSize: Int = 500, _ body: (APIHarness) async throws -> Result
    ) async throws -> Result {
        try await TestDatabase.with(configuration: configuration) { test async throws in
            let key = try await KeyService.create(
                projectName: "capture", publicKey: publicKey, secretKey: secretKey, database: test.database)
            return try await body(APIHarness(test: test, project: key.project, defaults: defaults, deletionBatchSize: deletionBatchSize))
        }
    }

    /// The application's answer to `request`.
    func respond(_ request: HTTPRequest) async -> HTTPResponse {
        await withCheckedContinuation { continuation in
            application.respond(to: request) { response in continuation.resume(returning: response) }
        }
    }

    /// Sends a request captured from a real SDK, headers and body exactly as captured.
    func send(_ captured: CapturedRequest) async -> HTTPResponse {
        await respond(captured.httpRequest)
    }

    /// Sends the fixture `name`, e.g. `langfuse-python-2.60.10/ingestion-batch-1`.
    func send(fixture name: String) async throws -> HTTPResponse {
        await send(try SDKFixtures.request(name))
    }

    func post(_ path: String, body: [UInt8], authorization: String? = APIHarness.basic) async -> HTTPResponse {
        var headers: HTTPHeaders = ["Content-Type": "application/json"]
        if let authorization { headers.add("Authorization", authorization) }
        return await respond(HTTPRequest(method: "POST", target: path, headers: headers, body: body))
    }

    func post(_ path: String, json: String, authorization: String? = APIHarness.basic) async -> HTTPResponse {
        await post(path, body: Array(json.utf8), authorization: authorization)
    }

    func patch(_ path: String, json: String, authorization: String? = APIHarness.basic) async -> HTTPResponse {
        var headers: HTTPHeaders = ["Content-Type": "application/json"]
        if let authorization { headers.add("Authorization", authorization) }
        return await respond(HTTPRequest(method: "PATCH", target: path, headers: headers, body: Array(json.utf8)))
    }

    func get(_ path: String, authorization: String? = APIHarness.basic) async -> HTTPResponse {
        var headers: HTTPHeaders = [:]
        if let authorization { headers.add("Authorization", authorization) }
        return await respond(HTTPRequest(method: "GET", target: path, headers: headers))
    }

    func delete(_ path: String, json: String? = nil, authorization: String? = APIHarness.basic) async -> HTTPResponse {
        var headers: HTTPHeaders = json == nil ? [:] : ["Content-Type": "application/json"]
        if let authorization { headers.add("Authorization", authorization) }
        return await respond(HTTPRequest(method: "DELETE", target: path, headers: headers, body: Array((json ?? "").utf8)))
    }

    /// Adds another key pair to the capture project (never used before, so not in the auth cache).
    func addKey(publicKey: String, secretKey: String, revoked: Bool = false) async throws {
        _ = try await KeyService.create(projectName: "capture", publicKey: publicKey, secretKey: secretKey, database: database)
        if revoked {
            let done = try await database.writer.write { db in try ProjectStore.revoke(publicKey: publicKey, now: 1, on: db) }
            guard done else { throw FixtureError(path: publicKey, reason: "could not revoke") }
        }
    }
}

extension HTTPResponse {
    /// The body parsed as JSON.
    func json() throws -> JSONValue {
        try JSONParser.parse(body)
    }

    var text: String { String(decoding: body, as: UTF8.self) }
}

/// The 207 body of `/api/public/ingestion`, taken apart.
struct IngestionResult {
    struct Entry: Equatable {
        let id: String
        let status: Int64
        let message: String?
        let error: String?
    }

    let successes: [Entry]
    let errors: [Entry]

    init(_ response: HTTPResponse) throws {
        let document = try response.json()
        func entries(_ key: String) throws -> [Entry] {
            let list = try #require(document[key]?.arrayValue, "\(key) missing in \(response.text.prefix(300))")
            return list.map { item in
                Entry(id: item["id"]?.stringValue ?? "<none>", status: item["status"]?.intValue ?? -1,
                      message: item["message"]?.stringValue, error: item["error"]?.stringValue)
            }
        }
        successes = try entries("successes")
        errors = try entries("errors")
    }

    var successIDs: Set<String> { Set(successes.map(\.id)) }
}

/// The envelope ids of a batch fixture, in order.
func eventIDs(ofFixture relativePath: String) throws -> [String] {
    let document = try JSONParser.parse(try SDKFixtures.bytes(relativePath))
    return (document["batch"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }
}
