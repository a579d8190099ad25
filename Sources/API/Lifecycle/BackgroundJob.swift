import Dispatch
import Logging
import Model
import Storage
import Synchronization

/// Runs one piece of maintenance work in the background: now and every `interval`, and
/// whenever `wake()` is called. Runs never overlap; a wake during a run makes one more run follow
/// it, so work asked for is never missed. Used by the inactivity sweeper, the retention job and
/// the deletion worker.
final class BackgroundJob: Sendable {
    private let name: String
    private let logger: Logger
    private let work: @Sendable () async throws -> Void
    // Dispatch sources are thread-safe; the timer is created once and only resumed and cancelled.
    nonisolated(unsafe) private let timer: any DispatchSourceTimer
    private let started = Atomic<Bool>(false)
    /// 0 idle, 1 running, 2 running with another run asked for.
    private let state = Atomic<Int>(0)

    init(name: String, logger: Logger, work: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.logger = logger
        self.work = work
        timer = DispatchSource.makeTimerSource(queue: .global(qos: .utility))
    }

    /// Runs now and then every `interval` until `stop()` (once per job).
    func start(interval: Duration) {
        guard started.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        timer.schedule(deadline: .now(), repeating: interval.seconds, leeway: .milliseconds(250))
        timer.setEventHandler { [self] in wake() }
        timer.resume()
    }

    func stop() {
        timer.cancel()
    }

    deinit {
        timer.cancel()
        // Dispatch traps when a source is released while suspended, which it is until started.
        if !started.load(ordering: .acquiring) { timer.resume() }
    }

    /// Runs the work soon: at once when idle, else right after the current run.
    func wake() {
        while true {
            let current = state.load(ordering: .acquiring)
            let next = current == 0 ? 1 : 2
            guard state.compareExchange(expected: current, desired: next, ordering: .acquiringAndReleasing).exchanged else { continue }
            if current == 0 { Task { [self] in await loop() } }
            return
        }
    }

    private func loop() async {
        while true {
            do {
                try await work()
            } catch {
                logger.warning("\(name) failed, retrying at the next run: \(error)")
            }
            // 1 → 0 ends the loop; 2 → 1 runs once more.
            if state.compareExchange(expected: 1, desired: 0, ordering: .acquiringAndReleasing).exchanged { return }
            state.store(1, ordering: .releasing)
        }
    }
}

extension BackgroundJob {
    /// Runs `step` until it returns false, resting after each step as long as it took: background
    /// deletion then holds the writer at most half the time, and ingestion queued behind a step
    /// finds the writer free after it (docs/BENCHMARKS.md, "Retention and erasure").
    static func paced(_ step: () async throws -> Bool) async throws {
        let clock = ContinuousClock()
        while true {
            let began = clock.now
            guard try await step() else { return }
            try await Task.sleep(for: clock.now - began)
        }
    }
}

extension BackgroundJob {
    /// Runs one part of a run (a project's share, one deletion job) in isolation. A failure of
    /// the whole server (overload, shutdown, a full disk or a busy database, cancellation) ends
    /// the run, which is retried at the next; any other failure is logged and that part skipped
    /// until the next run, so one project's data never stops the others' work.
    static func isolated(_ part: @autoclosure () -> String, logger: Logger, _ work: () async throws -> Void) async throws {
        do {
            try await work()
        } catch {
            if error is StorageError || error is CancellationError { throw error }
            if let error = error as? any AnswerableError, error.answer?.status == 503 { throw error }
            logger.warning("\(part()) failed, skipped until the next run: \(error)")
        }
    }
}

/// Rows per background deletion step, adapted so that each step holds the writer for about
/// `target`: halved after a step that took longer, doubled after a full step that took less
/// than half of it. What a row costs to delete varies with the machine, the disk and how many
/// observations and events hang off each trace; a step's duration is what ingestion queued
/// behind it waits, so that is what is bounded.
struct StepSize: Sendable {
    private(set) var rows: Int
    let bounds: ClosedRange<Int>
    let target: Duration

    init(initial: Int, bounds: ClosedRange<Int>, target: Duration) {
        self.rows = min(max(initial, bounds.lowerBound), bounds.upperBound)
        self.bounds = bounds
        self.target = target
    }

    /// Takes the outcome of a step of `rows` rows that deleted `deleted` and held the writer `took`.
    mutating func adapt(deleted: Int, took: Duration) {
        if took > target {
            rows = max(bounds.lowerBound, rows / 2)
        } else if took < target / 2, deleted >= rows {
            rows = min(bounds.upperBound, rows * 2)
        }
    }
}
