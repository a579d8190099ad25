import Dispatch
import Synchronization

/// Settles dirty sessions in the background: a little after a write marks one (`delay`, so that
/// a burst of writes to a session is settled once), in writer jobs of at most `batch` sessions,
/// until none is left. Reads that reach a dirty session do not wait for it: they settle what
/// they need themselves (`Database.settle(projectID:)`).
final class SessionSettler: Sendable {
    struct Configuration: Sendable {
        /// How long after a session is marked dirty the settler settles it, at the soonest.
        var delay: Duration = .milliseconds(500)
        /// Sessions settled per writer job.
        var batch = 64
    }

    /// Settled so far, and how long they had waited (for /metrics and the benchmarks).
    struct Figures: Sendable {
        var settled = 0
        var waitedMsTotal: Int64 = 0
        var waitedMsMax: Int64 = 0
    }

    private let configuration: Configuration
    private let dirty: DirtySessions
    private let writer: DatabaseWriter
    private let figures = Mutex(Figures())
    private let running = Mutex<Task<Void, Never>?>(nil)

    init(configuration: Configuration, dirty: DirtySessions, writer: DatabaseWriter) {
        self.configuration = configuration
        self.dirty = dirty
        self.writer = writer
    }

    var settledFigures: Figures { figures.withLock { $0 } }

    /// Starts the background loop (once).
    func start() {
        running.withLock { task in
            guard task == nil else { return }
            task = Task.detached(priority: .utility) { [self] in await loop() }
        }
    }

    /// Stops the loop (a job it has queued still runs, or fails once the writer is closed);
    /// what is still dirty stays marked in the database and is settled after the next start.
    func stop() {
        running.withLock { $0 }?.cancel()
    }

    /// Records sessions a job settled.
    func record(_ settled: [AggregateStore.Settled]) {
        guard !settled.isEmpty else { return }
        figures.withLock { figures in
            figures.settled += settled.count
            for session in settled {
                figures.waitedMsTotal += session.waitedMs
                figures.waitedMsMax = max(figures.waitedMsMax, session.waitedMs)
            }
        }
    }

    private func loop() async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: configuration.delay)
            } catch {
                return
            }
            while !dirty.isEmpty, !Task.isCancelled {
                let batch = configuration.batch
                do {
                    let settled = try await writer.write(admitted: false) { db in
                        try AggregateStore.settle(limit: batch, on: db)
                    }
                    record(settled)
                    if settled.isEmpty { break }  // the marks are settled already (by reads)
                } catch {
                    break  // closed, or the disk is full: the marks stay; the next round retries
                }
            }
        }
    }
}
