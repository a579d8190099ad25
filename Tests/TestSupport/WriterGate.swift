import Dispatch
import Storage

/// Holds the writer thread inside a job until `release()`, so the jobs submitted meanwhile
/// queue up (and are taken together as the next group transaction, or overflow the queue).
package final class WriterGate: Sendable {
    private let gate: DispatchSemaphore
    /// The blocking job; it returns the commit count it saw, i.e. the transactions before its own.
    package let blocker: Task<Int, any Error>

    package init(_ writer: DatabaseWriter) async {
        let gate = DispatchSemaphore(value: 0)
        let (started, continuation) = AsyncStream.makeStream(of: Void.self)
        self.gate = gate
        blocker = Task {
            try await writer.write { _ in
                continuation.yield()
                gate.wait()  // blocks the writer thread only, never the cooperative pool
                return writer.commitCount
            }
        }
        for await _ in started { break }
    }

    package func release() { gate.signal() }
}
