import Logging
import Model
import Storage

/// Times out idle sessions in the background, so a session's status never depends on a read
/// happening (docs/ANALYTICS.md, "Session end"). Each tick submits bounded writer jobs
/// (`SessionStore.sweepInactive`) until no idle session is left; ticks never overlap, and a
/// failed one (a full write queue) is retried at the next.
package final class InactivitySweeper: Sendable {
    /// 30 minutes, the usual web-analytics session timeout.
    package static let defaultTimeoutSeconds: Int64 = 1800
    /// Sessions timed out per writer transaction.
    package static let batchSize = 500

    private let database: Database
    private let defaultTimeoutMs: Int64
    private let logger: Logger
    private let job: BackgroundJob

    /// `clock` gives "now" in ms since the epoch; tests inject their own.
    package init(
        database: Database, defaultTimeoutSeconds: Int64 = InactivitySweeper.defaultTimeoutSeconds,
        logger: Logger, clock: @escaping @Sendable () -> Int64
    ) {
        self.database = database
        let timeout = max(1, defaultTimeoutSeconds).multipliedSaturating(by: 1000)
        defaultTimeoutMs = timeout
        self.logger = logger
        job = BackgroundJob(name: "inactivity sweep", logger: logger) {
            let marked = try await Self.sweep(database: database, now: clock(), defaultTimeoutMs: timeout, logger: logger)
            if marked > 0 { logger.debug("timed out \(marked) idle session(s)") }
        }
    }

    /// Times out every session idle at `now`; returns how many. A project whose sweep fails is
    /// logged and skipped until the next run, so one project's data never holds up the others.
    @discardableResult
    package func sweep(now: Int64) async throws -> Int {
        try await Self.sweep(database: database, now: now, defaultTimeoutMs: defaultTimeoutMs, logger: logger)
    }

    private static func sweep(database: Database, now: Int64, defaultTimeoutMs: Int64, logger: Logger) async throws -> Int {
        var total = 0
        for (projectID, settings) in try await database.read({ try ProjectSettingsStore.all(on: $0) }) {
            let timeout = settings.inactivityTimeoutMs(default: defaultTimeoutMs)
            try await BackgroundJob.isolated("inactivity sweep of project \(projectID)", logger: logger) {
                // A session's last activity is a settled figure: settle before judging idleness.
                try await database.settle(projectID: projectID)
                guard try await database.read({ try SessionStore.hasInactive(projectID: projectID, now: now, timeoutMs: timeout, on: $0) })
                else { return }
                while true {
                    let marked = try await database.writer.write { db in
                        try SessionStore.sweepInactive(projectID: projectID, now: now, timeoutMs: timeout, limit: Self.batchSize, on: db)
                    }
                    total += marked
                    if marked < Self.batchSize { return }
                }
            }
        }
        return total
    }

    /// Sweeps now and then every `interval` until `stop()` (once per sweeper). The default
    /// interval is a tenth of the timeout, between 1 and 60 seconds: a session is marked at most
    /// that late.
    package func start(interval: Duration? = nil) {
        job.start(interval: interval ?? min(.seconds(60), max(.seconds(1), .milliseconds(defaultTimeoutMs) / 10)))
    }

    package func stop() {
        job.stop()
    }
}
