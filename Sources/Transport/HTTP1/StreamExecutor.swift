import Dispatch

/// Where streamed bodies are produced: a task executor on its own Dispatch queue, not the
/// cooperative pool. A producer usually blocks on storage between pieces (an export reads 500
/// rows per piece); on the pool that would hold one of its few threads (one per core) from
/// every other request, and a pool busy with blocking work would stall every stream.
final class StreamExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: the queue is the only state, and Dispatch queues are thread-safe.
    static let shared = StreamExecutor()

    private let queue = DispatchQueue(label: "parley.stream-bodies", qos: .userInitiated, attributes: .concurrent)

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        queue.async { unowned.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
