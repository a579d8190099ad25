import Dispatch
import Foundation
import Model
import Synchronization

/// Errors the storage layer reports to callers in domain terms.
package enum StorageError: Error, Equatable, Sendable {
    /// The write queue is full: answer 503 with Retry-After, never buffer without bound.
    case overloaded
    /// The database is closed (shutting down).
    case closed
    /// A row that must exist does not.
    case notFound
    /// A uniqueness rule was violated.
    case conflict
    /// The schema in the file is newer than this binary knows.
    case schemaTooNew(found: Int, known: Int)
}

/// The single writer connection, on its own thread, with group commit.
///
/// Callers submit closures; the writer takes every job waiting (up to `maxJobsPerTransaction`),
/// runs them in one `BEGIN IMMEDIATE … COMMIT`, each inside its own SAVEPOINT so one failing job
/// rolls back alone, and resumes every caller only after the COMMIT returned. An acknowledged
/// write is therefore always a committed one.
package final class DatabaseWriter: Sendable {
    package struct Configuration: Sendable {
        /// Jobs waiting beyond this make `write` throw `.overloaded` at once.
        package var maxPendingJobs = 4096
        /// New jobs are refused with `.overloaded` while the oldest waiting job has waited longer
        /// than this, or while the jobs already waiting would take longer than this to run (their
        /// count times the recent time per job). This bounds how long an accepted write waits,
        /// whatever the size of the jobs, where `maxPendingJobs` only bounds their count.
        package var maxQueueDelay: Duration = .seconds(1)
        /// Jobs sharing one transaction at most.
        package var maxJobsPerTransaction = 512

        package init() {}
    }

    private struct Job: @unchecked Sendable {
        // @unchecked: `work` runs only on the writer thread, exactly once.
        let work: (SQLiteConnection) throws -> Void
        let done: @Sendable ((any Error)?) -> Void
        let enqueued: ContinuousClock.Instant
    }

    private struct State {
        /// Waiting jobs: the first `urgent` ones were queued with `urgent: true` (in their order),
        /// the others follow in theirs.
        var jobs: [Job] = []
        var urgent = 0
        var closed = false
        /// Recent writer time per job, in nanoseconds (a moving average over transactions).
        var nanosPerJob: Double = 0

        /// Whether a job arriving `now` would be refused: the queue is full, its oldest job has
        /// waited too long, or the jobs waiting (more than one: a single slow transaction must
        /// not refuse the next request on its own) would take too long to run.
        func isOverloaded(now: ContinuousClock.Instant, _ configuration: Configuration) -> Bool {
            // The oldest job is the first urgent one or the first of the others.
            guard let first = jobs.first else { return false }
            let oldest = jobs.count > urgent && jobs[urgent].enqueued < first.enqueued ? jobs[urgent] : first
            let limit = configuration.maxQueueDelay
            return jobs.count >= configuration.maxPendingJobs
                || now - oldest.enqueued > limit
                || (jobs.count > 1 && Double(jobs.count) * nanosPerJob > Double(limit.wholeNanoseconds))
        }
    }

    private let state = Mutex(State())
    private let thread: ConnectionThread
    private let configuration: Configuration
    /// Transactions committed since start (for metrics and tests).
    private let commits = Atomic<Int>(0)

    /// Runs inside every group transaction after its jobs and before COMMIT (derived data that
    /// is cheaper to compute once per transaction than once per job).
    private let beforeCommit: @Sendable (SQLiteConnection) throws -> Void
    /// Runs after every group transaction ends, with whether it committed (before its callers
    /// are resumed). Writer thread; it must not block.
    private let afterTransaction: @Sendable (Bool) -> Void

    /// Takes ownership of `connection`, which from now on is used only on the writer thread.
    package init(
        connection: sending SQLiteConnection, configuration: Configuration = Configuration(),
        beforeCommit: @escaping @Sendable (SQLiteConnection) throws -> Void = { _ in },
        afterTransaction: @escaping @Sendable (Bool) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.beforeCommit = beforeCommit
        self.afterTransaction = afterTransaction
        thread = ConnectionThread(name: "parley-writer", connection: connection)
        thread.start { [self] connection in turn(connection) }
    }

    /// How long the oldest waiting job may wait before new jobs are refused.
    package var maxQueueDelay: Duration { configuration.maxQueueDelay }

    /// Transactions committed so far.
    package var commitCount: Int { commits.load(ordering: .relaxed) }

    /// True while `write` would refuse a new job (see `Configuration.maxQueueDelay`). Handlers
    /// check it before decoding a body, so that overload is answered before work is spent on a
    /// request that will be refused anyway.
    package var isOverloaded: Bool {
        let now = ContinuousClock.now
        return state.withLock { $0.isOverloaded(now: now, configuration) }
    }

    /// Runs `work` inside the next group transaction; returns after that transaction committed.
    /// `admitted: false` skips the overload check (`Configuration.maxQueueDelay`): for the
    /// database's own bounded upkeep (settling sessions), which a busy writer must still do.
    /// `urgent: true` queues the job ahead of every job not queued so: for a read waiting on a
    /// settle, which would otherwise wait behind the ingestion queued before it (writes it
    /// need not see: they are not acknowledged yet). It still waits for the transaction running.
    package func write<T: Sendable>(
        admitted: Bool = true, urgent: Bool = false, _ work: @escaping @Sendable (SQLiteConnection) throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let result = Mutex<T?>(nil)
            let job = Job(
                work: { connection in
                    let value = try work(connection)
                    result.withLock { $0 = value }
                },
                done: { error in
                    if let error {
                        continuation.resume(throwing: error)
                    } else if let value = result.withLock({ $0.take() }) {
                        continuation.resume(returning: value)
                    } else {
                        continuation.resume(throwing: StorageError.closed)
                    }
                },
                enqueued: .now)
            do {
                try enqueue(job, admitted: admitted, urgent: urgent)
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }

    /// `write` for callers that are not async (the CLI, test support): blocks the calling
    /// thread until the transaction holding `work` has committed. Never call it on the
    /// cooperative pool in the server.
    func writeBlocking<T>(admitted: Bool = true, _ work: @escaping (SQLiteConnection) throws -> T) throws -> T {
        let outcome = BlockingOutcome<T>()
        try enqueue(Job(
            work: { connection in outcome.value = try work(connection) },
            done: { error in
                outcome.failure = error
                outcome.done.signal()
            },
            enqueued: .now), admitted: admitted)
        outcome.done.wait()
        if let failure = outcome.failure { throw failure }
        guard let value = outcome.value else { throw StorageError.closed }
        return value
    }

    /// What a blocking job gives back to the thread waiting for it.
    private final class BlockingOutcome<T>: @unchecked Sendable {
        // @unchecked: written by the writer thread before `done` is signalled, read by the
        // waiting thread only after it: never by two threads at once.
        var value: T?
        var failure: (any Error)?
        let done = DispatchSemaphore(value: 0)
    }

    private func enqueue(_ job: Job, admitted: Bool, urgent: Bool = false) throws(StorageError) {
        try state.withLock { state throws(StorageError) in
            if state.closed { throw .closed }
            if admitted, state.isOverloaded(now: job.enqueued, configuration) { throw .overloaded }
            if urgent {
                state.jobs.insert(job, at: state.urgent)
                state.urgent += 1
            } else {
                state.jobs.append(job)
            }
        }
        thread.wake()
    }

    /// Finishes the jobs already queued, refuses new ones, and stops the thread.
    package func close() {
        let wasOpen = state.withLock { state -> Bool in
            defer { state.closed = true }
            return !state.closed
        }
        guard wasOpen else { return }
        thread.wake()
        thread.join()
    }

    /// One turn of the writer thread: the jobs waiting (up to a transaction's worth) in one
    /// transaction. False once closed with nothing left, which ends the thread.
    private func turn(_ connection: SQLiteConnection) -> Bool {
        let (batch, closed) = state.withLock { state -> ([Job], Bool) in
            let count = min(state.jobs.count, configuration.maxJobsPerTransaction)
            let batch = Array(state.jobs.prefix(count))
            state.jobs.removeFirst(count)
            state.urgent = max(0, state.urgent - count)
            return (batch, state.closed && state.jobs.isEmpty)
        }
        if !batch.isEmpty {
            let began = ContinuousClock.now
            commit(batch, on: connection)
            let took = ContinuousClock.now - began
            let perJob = Double(took.wholeNanoseconds) / Double(batch.count)
            state.withLock { $0.nanosPerJob = $0.nanosPerJob == 0 ? perJob : 0.8 * $0.nanosPerJob + 0.2 * perJob }
            // Jobs left over from a full batch need another turn without a new signal.
            if state.withLock({ !$0.jobs.isEmpty }) { thread.wake() }
        }
        return !closed
    }

    private func commit(_ batch: [Job], on connection: SQLiteConnection) {
        var outcomes = [(any Error)?](repeating: nil, count: batch.count)
        do {
            try connection.execute("BEGIN IMMEDIATE")
            for (index, job) in batch.enumerated() {
                try connection.execute("SAVEPOINT job")
                do {
                    try job.work(connection)
                    try connection.execute("RELEASE job")
                } catch {
                    outcomes[index] = error
                    // Folds cached by the failed job may include its rolled-back events.
                    connection.foldCache.removeAll()
                    // SQLite may have rolled the whole transaction back (a full disk does):
                    // then there is no savepoint to return to, and every job in the
                    // transaction fails with this job's error, the cause, rather than with
                    // "no such savepoint" (a 500 instead of a 503).
                    guard connection.isInTransaction else { throw error }
                    try connection.execute("ROLLBACK TO job")
                    try connection.execute("RELEASE job")
                }
            }
            try beforeCommit(connection)
            try connection.execute("COMMIT")
            commits.add(1, ordering: .relaxed)
            afterTransaction(true)
        } catch {
            // The transaction itself failed (disk full, I/O error): nothing in it is durable, so
            // every job in it fails and its caller answers with an error instead of an ack.
            try? connection.execute("ROLLBACK")
            connection.foldCache.removeAll()
            connection.staleTraces = [:]
            connection.staleSessions = [:]
            connection.settledSessions = [:]
            afterTransaction(false)
            outcomes = Array(repeating: error, count: batch.count)
        }
        for (job, outcome) in zip(batch, outcomes) { job.done(outcome) }
    }
}

