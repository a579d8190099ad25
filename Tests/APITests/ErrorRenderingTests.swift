@testable import API
@testable import Storage
import Synchronization
import Testing
import TestSupport
import Transport

/// Every error a handler throws is answered through `AnswerableError`, in `Application` alone:
/// authentication, overload, shutdown, a full disk and a busy database keep their 401/503 with
/// no wrapper in the handler, and only what is unexpected is a 500.
@Suite("Error rendering")
struct ErrorRenderingTests {
    /// SQLite's primary result codes (sqlite3.h).
    static let sqliteBusy: Int32 = 5, sqliteCorrupt: Int32 = 11, sqliteFull: Int32 = 13

    static let cases: [(error: any Error & Sendable, status: Int, code: String, retryAfter: String?)] = [
        (APIError.badRequest("no"), 400, "InvalidRequestError", nil),
        (AuthError.unauthorized("Invalid credentials"), 401, "UnauthorizedError", nil),
        (AuthError.forbidden("Read-only key"), 403, "ForbiddenError", nil),
        (StorageError.overloaded, 503, "ServiceUnavailable", "1"),
        (StorageError.closed, 503, "ServiceUnavailable", "1"),
        (SQLiteError(code: sqliteFull, connection: nil), 503, "ServiceUnavailable", "5"),
        (SQLiteError(code: sqliteBusy, connection: nil), 503, "ServiceUnavailable", "1"),
        (SQLiteError(code: sqliteCorrupt, connection: nil), 500, "InternalServerError", nil),
        (StorageError.notFound, 500, "InternalServerError", nil),
        (CancellationError(), 500, "InternalServerError", nil),
    ]

    @Test(arguments: 0..<cases.count)
    func aThrownErrorIsAnsweredByWhatItIsWhicheverKindOfHandlerThrewIt(index: Int) async throws {
        let (error, status, code, retryAfter) = Self.cases[index]
        var router = Router()
        router.get("/sync", .sync { _ in throw error })
        router.get("/async", .async { _ in throw error })
        let application = Application(router: router, metrics: Metrics(), transportStats: TransportStats(), logger: .test)
        for path in ["/sync", "/async"] {
            let response = await withCheckedContinuation { continuation in
                application.respond(to: HTTPRequest(method: "GET", target: path)) { continuation.resume(returning: $0) }
            }
            #expect(response.status == status, "\(error) from \(path)")
            #expect(response.headers["Retry-After"] == retryAfter, "\(error) from \(path)")
            let body = String(decoding: response.body, as: UTF8.self)
            #expect(body.contains("\"error\":\"\(code)\""), "\(error) from \(path): \(body)")
            #expect(body.contains("\"message\":"), "\(error) from \(path): \(body)")
        }
    }
}
