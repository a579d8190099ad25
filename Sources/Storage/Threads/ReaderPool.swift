import Dispatch
import Synchronization

/// The reader threads: a fixed set of `ConnectionThread`s, each owning a read-only connection,
/// serving one queue of read jobs in arrival order. WAL mode lets them read while the writer
/// writes (https://sqlite.org/wal.html); their number bounds concurrent reads, and a request
/// beyond it waits in the queue, suspended, holding no thread.
final class ReaderPool: Sendable {
    private struct Job: @unchecked Sendable {
        // @unchecked: `run` is called exactly once, on one reader thread (or by `close`, with
        // nil, once the job has left the queue), and the closures it wraps are Sendable or
        // belong to a caller blocked until it returns (`readBlocking`).
        let run: (SQLiteConnection?) -> Void
    }

    private struct State {
        /// A FIFO: `jobs[head...]` wait; slots before `head` are emptied as they are taken.
        var jobs: [Job?] = []
        var head = 0
        var closed = false

        mutating func pop() -> Job? {
            guard head < jobs.count else { return nil }
            let job = jobs[head].take()
            head += 1
            if head == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                head = 0
            } else if head > 64 && head * 2 > jobs.count {
                jobs.removeFirst(head)
                head = 0
            }
            return job
        }
    }

    private let state = Mutex(State())
    private let threads: [ConnectionThread]

    /// Starts `threads` (created with one shared wake semaphore, which each job signals once).
    init(_ threads: [ConnectionThread]) {
        self.threads = threads
        for thread in threads {
            thread.start { [self] connection in turn(connection) }
        }
    }

    /// One job on a reader thread; false once closed with the queue empty, which ends the thread.
    private func turn(_ connection: SQLiteConnection) -> Bool {
        let (job, closed) = state.withLock { state in (state.pop(), state.closed) }
        job?.run(connection)
        return job != nil || !closed
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            enqueue(Job { connection in
                guard let connection else { return continuation.resume(throwing: StorageError.closed) }
                continuation.resume(with: Result { try body(connection) })
            })
        }
    }

    func readBlocking<T>(_ body: @escaping (SQLiteConnection) throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        var result: Result<T, any Error> = .failure(StorageError.closed)
        enqueue(Job { connection in
            if let connection { result = Result { try body(connection) } }
            done.signal()
        })
        // The job ran (or was dropped by `close`) before the signal: `result` is written
        // before it is read, and `body` runs while this thread waits.
        done.wait()
        return try result.get()
    }

    private func enqueue(_ job: Job) {
        let accepted = state.withLock { state -> Bool in
            guard !state.closed else { return false }
            state.jobs.append(job)
            return true
        }
        guard accepted else { return job.run(nil) }
        threads.first?.wake()  // the semaphore is shared: any one idle reader takes it
    }

    /// Fails the jobs still waiting, lets the readers finish the ones they run, and closes
    /// every connection.
    func close() {
        let dropped = state.withLock { state -> [Job]? in
            guard !state.closed else { return nil }
            state.closed = true
            var dropped: [Job] = []
            while let job = state.pop() { dropped.append(job) }
            return dropped
        }
        guard let dropped else { return }  // closed before
        dropped.forEach { $0.run(nil) }
        for thread in threads { thread.wake() }
        for thread in threads { thread.join() }
    }
}
