import Logging
import Model
import Storage

/// Deletes data older than each project's retention (`retentionDays`, else the server's
/// `--retention-days`; neither set keeps data forever), in steps each its own writer
/// transaction, sized to hold the writer about `stepTarget` (`StepSize`), resting between steps
/// as long as each took, so ingestion waits at most one short step (docs/PRIVACY.md, "Retention").
package final class RetentionSweeper: Sendable {
    /// How long one step should hold the writer: ingestion queued behind it waits that long.
    static let stepTarget: Duration = .milliseconds(10)
    /// Rows per step: where steps start, and the most they grow to.
    static let initialStepRows = 50
    static let maxStepRows = 500
    private let database: Database
    private let defaultDays: Int64?
    private let logger: Logger
    private let job: BackgroundJob

    /// `clock` gives "now" in ms since the epoch; tests inject their own.
    package init(database: Database, defaultDays: Int64?, logger: Logger, clock: @escaping @Sendable () -> Int64) {
        self.database = database
        self.defaultDays = defaultDays
        self.logger = logger
        job = BackgroundJob(name: "retention", logger: logger) {
            let deleted = try await Self.sweep(database: database, defaultDays: defaultDays, now: clock(), logger: logger)
            if deleted > 0 { logger.info("retention deleted \(deleted) row(s) past their projects' retention") }
        }
    }

    /// Runs now and then every `interval` (default: every 10 minutes).
    package func start(interval: Duration = .seconds(600)) { job.start(interval: interval) }
    package func stop() { job.stop() }

    /// Deletes everything past retention at `now`; returns how many rows (traces, scores,
    /// sessions, … each counted once) it deleted. A project whose retention fails is logged and
    /// skipped until the next run.
    @discardableResult
    package func sweep(now: Int64) async throws -> Int {
        try await Self.sweep(database: database, defaultDays: defaultDays, now: now, logger: logger)
    }

    private static func sweep(database: Database, defaultDays: Int64?, now: Int64, logger: Logger) async throws -> Int {
        var total = 0
        for (projectID, settings) in try await database.read({ try ProjectSettingsStore.all(on: $0) }) {
            guard let cutoff = settings.retentionCutoff(now: now, defaultDays: defaultDays) else { continue }
            try await BackgroundJob.isolated("retention of project \(projectID)", logger: logger) {
                var size = StepSize(initial: initialStepRows, bounds: 1...maxStepRows, target: stepTarget)
                try await BackgroundJob.paced {
                    let rows = size.rows
                    let (deleted, took) = try await database.writer.write { db in
                        let clock = ContinuousClock()
                        let began = clock.now
                        let deleted = try DeletionStore.expire(projectID: projectID, before: cutoff, limit: rows, on: db)
                        return (deleted, clock.now - began)
                    }
                    size.adapt(deleted: deleted, took: took)
                    total += deleted
                    return deleted > 0
                }
            }
        }
        return total
    }
}
