import Logging
import Synchronization

/// A warning logged at most once per interval, however often its condition recurs.
final class RateLimitedWarning: Sendable {
    private let intervalNanos: UInt64
    private let logger: Logger
    private let message: String
    private let lastLogged = Mutex<UInt64?>(nil)

    init(intervalSeconds: Double, logger: Logger, message: String) {
        intervalNanos = UInt64(intervalSeconds * 1e9)
        self.logger = logger
        self.message = message
    }

    /// Logs the message with `detail` unless it was logged less than the interval ago.
    func warn(detail: String) {
        let now = MonotonicNanos.now()
        let due = lastLogged.withLock { last -> Bool in
            if let last, now &- last < intervalNanos { return false }
            last = now
            return true
        }
        if due { logger.warning("\(message) (\(detail))") }
    }
}
