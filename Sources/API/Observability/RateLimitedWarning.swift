import Logging
import Model
import Synchronization
import Transport

/// A warning logged at most once per interval, however often its condition recurs.
final class RateLimitedWarning: Sendable {
    private let intervalNanos: UInt64
    private let logger: Logger
    private let message: String
    private let lastLogged = Mutex<UInt64?>(nil)

    init(interval: Duration, logger: Logger, message: String) {
        intervalNanos = interval.unsignedNanoseconds
        self.logger = logger
        self.message = message
    }

    /// Logs the message with `detail` unless it was logged less than the interval ago.
    func warn(detail: String) {
        let now = MonotonicClock.nanos()
        let due = lastLogged.withLock { last -> Bool in
            if let last, now &- last < intervalNanos { return false }
            last = now
            return true
        }
        if due { logger.warning("\(message) (\(detail))") }
    }
}
