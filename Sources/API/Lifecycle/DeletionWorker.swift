import Logging
import Storage

/// Finishes deletions too large to finish before their answer (`DeletionHandlers`), in steps of
/// `batchSize` traces, each its own writer transaction, resting between steps as long as each
/// took, so ingestion waits at most one step. It
/// runs when woken, every minute, and at start, so a job cut off by a restart resumes.
package final class DeletionWorker: Sendable {
    /// Traces deleted per writer transaction.
    package let batchSize: Int
    private let database: Database
    private let job: BackgroundJob

    package init(database: Database, logger: Logger, batchSize: Int = 500) {
        self.database = database
        self.batchSize = batchSize
        job = BackgroundJob(name: "deletion", logger: logger) {
            try await Self.finishUnfinished(database: database, batchSize: batchSize, logger: logger)
        }
    }

    package func start(interval: Duration = .seconds(60)) { job.start(interval: interval) }
    package func stop() { job.stop() }
    /// Makes the worker look for unfinished jobs now.
    package func wake() { job.wake() }

    /// One step of a job; true when the job is done.
    func step(jobID: String, target: DeletionStore.Target, projectID: Int64) async throws -> Bool {
        try await Self.step(database: database, batchSize: batchSize, jobID: jobID, target: target, projectID: projectID)
    }

    private static func step(
        database: Database, batchSize: Int, jobID: String, target: DeletionStore.Target, projectID: Int64
    ) async throws -> Bool {
        let now = WallClock.nowMillis()
        return try await database.writer.write { db in
            let step = try DeletionStore.step(target, projectID: projectID, limit: batchSize, on: db)
            try DeletionStore.record(step, jobID: jobID, finishedAt: step.done ? now : nil, on: db)
            return step.done
        }
    }

    private static func finishUnfinished(database: Database, batchSize: Int, logger: Logger) async throws {
        for job in try await database.read({ try DeletionStore.unfinishedJobs(on: $0) }) {
            try await BackgroundJob.isolated("deletion \(job.jobID) (\(job.kind))", logger: logger) {
                try await BackgroundJob.paced {
                    !(try await step(database: database, batchSize: batchSize, jobID: job.jobID,
                                     target: job.deletionTarget, projectID: job.projectID))
                }
                logger.info("deletion \(job.jobID) (\(job.kind)) finished")
            }
        }
    }
}
