import Logging
import Storage

/// Times out idle sessions in the background, so a session's status never depends on a read
/// happening (docs/ANALYTICS.md, "Session end"). Each tick submits bounded writer jobs
/// (`SessionStore.sweepInactive`) until no idle session is left; ticks never overlap, and a
/// failed one (a full write queue) is retried at the next.
public final class InactivitySweeper: Sendable {
    /// 30 minutes, the usual web-analytics session timeout.
    public static let defaultTimeoutSeconds: Int64 = 1800
    /// Sessions timed out per writer transaction.
    public static let batchSize = 500

    private let database: Database
    private let defaultTimeoutMs: Int64
    private let job: BackgroundJob

    /// `clock` gives "now" in ms since the epoch; tests inject their own.
    public init(
        database: Database, defaultTimeoutSeconds: Int64 = InactivitySweeper.defaultTimeoutSeconds,
        logger: Logger, clock: @escaping @Sendable () -> Int64
    ) {
        self.database = database
        let timeout = max(1, defaultTimeoutSeconds) * 1000
        defaultTimeoutMs = timeout
        job = BackgroundJob(name: "inactivity sweep", logger: logger) {
            let marked = try await Self.sweep(database: database, now: clock(), defaultTimeoutMs: timeout)
            if marked > 0 { logger.debug("timed out \(marked) idle session(s)") }
        }
    }

    /// Times out every session idle at `now`; returns how many.
    @discardableResult
    public func sweep(now: Int64) async throws -> Int {
        try await Self.sweep(database: database, now: now, defaultTimeoutMs: defaultTimeoutMs)
    }

    private static func sweep(database: Database, now: Int64, defaultTimeoutMs timeout: Int64) async throws -> Int {
        var total = 0
        guard try database.read({ try SessionStore.hasInactive(now: now, defaultTimeoutMs: timeout, on: $0) }) else { return 0 }
        while true {
            let marked = try await database.writer.write { db in
                try SessionStore.sweepInactive(now: now, defaultTimeoutMs: timeout, limit: Self.batchSize, on: db)
            }
            total += marked
            if marked < Self.batchSize { return total }
        }
    }

    /// Sweeps now and then every `interval` seconds until `stop()` (once per sweeper). The
    /// default interval is a tenth of the timeout, between 1 and 60 seconds: a session is marked
    /// at most that late.
    public func start(interval: Double? = nil) {
        job.start(interval: interval ?? min(60, max(1, Double(defaultTimeoutMs) / 10_000)))
    }

    public func stop() {
        job.stop()
    }
}
