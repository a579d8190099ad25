import Logging
import Storage

/// An error that knows how it is answered. `Application` renders every error a handler throws
/// through this one protocol, so a handler throws authentication, storage and validation
/// errors as they come: no wrapper has to translate them, and none forgotten can turn a 401 or a
/// 503 into a 500. An error that is none of these, or whose `answer` is nil, is a bug: it is
/// answered 500 and logged with the request id (`Application.errorResponse`).
protocol AnswerableError: Error {
    /// The answer, or nil when the error is unexpected (a 500).
    var answer: APIError? { get }
}

extension APIError: AnswerableError {
    var answer: APIError? { self }
}

extension AuthError: AnswerableError {
    var answer: APIError? { apiError }
}

/// Storage failures are answered so that SDKs handle them well: anything transient is 503 with
/// Retry-After (exporters retry it; they drop data on 500). 503 rather than 507 for a full disk
/// too: OTLP/HTTP exporters retry only 429, 502, 503 and 504.
extension StorageError: AnswerableError {
    var answer: APIError? {
        switch self {
        case .overloaded: APIError.unavailable("Write queue is full; retry later")
        case .closed: APIError.unavailable("Server is shutting down; retry later")
        case .notFound, .conflict, .schemaTooNew: nil
        }
    }
}

extension SQLiteError: AnswerableError {
    /// A full disk is also logged, at most once a minute, wherever it is answered.
    var answer: APIError? {
        if isDiskFull {
            StorageFailure.diskFullWarning.warn(detail: description)
            return APIError.unavailable("Storage is full; retry later", retryAfter: StorageFailure.diskFullRetryAfterSeconds)
        }
        return isTransient ? APIError.unavailable("Storage is busy; retry later") : nil
    }
}

enum StorageFailure {
    /// Retry-After on a full disk: freeing space takes an operator, not a second.
    static let diskFullRetryAfterSeconds = 5
    /// The operator learns of a full disk from the log (at most once a minute), not only from
    /// 503s in the access log, which is off below level info.
    static let diskFullWarning = RateLimitedWarning(
        interval: .seconds(60), logger: Logger(label: "parley"),
        message: "the database disk is full: writes are answered 503 until space is freed")
}
