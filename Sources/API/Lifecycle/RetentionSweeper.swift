import Logging
import Model
import Storage

/// Deletes data older than each project's retention (`retentionDays`, else the server's
/// `--retention-days`; neither set keeps data forever), in steps of `batchSize` rows, each its own
/// writer transaction, resting between steps as long as each took, so ingestion waits at most
/// one short step (docs/PRIVACY.md, "Retention").
public final class RetentionSweeper: Sendable {
    /// Rows per writer transaction: small, so ingestion queued behind a step waits little.
    public static let batchSize = 100
    private let database: Database
    private let defaultDays: Int64?
    private let job: BackgroundJob

    /// `clock` gives "now" in ms since the epoch; tests inject their own.
    public init(database: Database, defaultDays: Int64?, logger: Logger, clock: @escaping @Sendable () -> Int64) {
        self.database = database
        self.defaultDays = defaultDays
        job = BackgroundJob(name: "retention", logger: logger) {
            let deleted = try await Self.sweep(database: database, defaultDays: defaultDays, now: clock())
            if deleted > 0 { logger.info("retention deleted \(deleted) row(s) past their projects' retention") }
        }
    }

    /// Runs now and then every `interval` seconds (default: every 10 minutes).
    public func start(interval: Double = 600) { job.start(interval: interval) }
    public func stop() { job.stop() }

    /// Deletes everything past retention at `now`; returns how many rows (traces, scores,
    /// sessions, … each counted once) it deleted.
    @discardableResult
    public func sweep(now: Int64) async throws -> Int {
        try await Self.sweep(database: database, defaultDays: defaultDays, now: now)
    }

    private static func sweep(database: Database, defaultDays: Int64?, now: Int64) async throws -> Int {
        var total = 0
        for (projectID, settings) in try database.read({ try ProjectSettingsStore.all(on: $0) }) {
            guard let days = settings.retentionDays ?? defaultDays else { continue }
            let cutoff = now - days * 86_400_000
            try await BackgroundJob.paced {
                let deleted = try await write(database) { db in
                    try DeletionStore.expire(projectID: projectID, before: cutoff, limit: batchSize, on: db)
                }
                total += deleted
                return deleted > 0
            }
        }
        return total
    }
}
