import Dispatch
import Logging
import Storage
import Synchronization

/// Times out idle sessions in the background, so a session's status never depends on a read
/// happening (docs/ANALYTICS.md, "Session end"). Each tick submits bounded writer jobs
/// (`SessionStore.sweepInactive`) until no idle session is left; a tick still running when the
/// next one fires is skipped, and a full write queue just waits for the next tick.
public final class InactivitySweeper: Sendable {
    /// 30 minutes, the usual web-analytics session timeout.
    public static let defaultTimeoutSeconds: Int64 = 1800
    /// Sessions timed out per writer transaction.
    public static let batchSize = 500

    private let database: Database
    private let defaultTimeoutMs: Int64
    private let clock: @Sendable () -> Int64
    private let logger: Logger
    // Dispatch sources are thread-safe; the timer is created once and only resumed and cancelled.
    nonisolated(unsafe) private let timer: any DispatchSourceTimer
    private let started = Atomic<Bool>(false)
    private let running = Atomic<Bool>(false)

    /// `clock` gives "now" in ms since the epoch; tests inject their own.
    public init(
        database: Database, defaultTimeoutSeconds: Int64 = InactivitySweeper.defaultTimeoutSeconds,
        logger: Logger, clock: @escaping @Sendable () -> Int64
    ) {
        self.database = database
        defaultTimeoutMs = max(1, defaultTimeoutSeconds) * 1000
        self.logger = logger
        self.clock = clock
        timer = DispatchSource.makeTimerSource(queue: .global(qos: .utility))
    }

    /// Times out every session idle at `now`; returns how many.
    @discardableResult
    public func sweep(now: Int64) async throws -> Int {
        var total = 0
        let timeout = defaultTimeoutMs
        guard try database.read({ try SessionStore.hasInactive(now: now, defaultTimeoutMs: timeout, on: $0) }) else { return 0 }
        while true {
            let marked = try await database.writer.write { db in
                try SessionStore.sweepInactive(now: now, defaultTimeoutMs: timeout, limit: Self.batchSize, on: db)
            }
            total += marked
            if marked < Self.batchSize { return total }
        }
    }

    /// Sweeps now and then every `interval` seconds until `stop()` (once per sweeper). The
    /// default interval is a tenth of the timeout, between 1 and 60 seconds: a session is marked
    /// at most that late.
    public func start(interval: Double? = nil) {
        guard started.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        let seconds = interval ?? min(60, max(1, Double(defaultTimeoutMs) / 10_000))
        timer.schedule(deadline: .now(), repeating: seconds, leeway: .milliseconds(250))
        timer.setEventHandler { [self] in tick() }
        timer.resume()
    }

    public func stop() {
        timer.cancel()
    }

    deinit {
        timer.cancel()
        // Dispatch traps when a source is released while suspended, which it is until started.
        if !started.load(ordering: .acquiring) { timer.resume() }
    }

    private func tick() {
        guard running.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        let now = clock()
        Task { [self] in
            defer { running.store(false, ordering: .releasing) }
            do {
                let marked = try await sweep(now: now)
                if marked > 0 { logger.debug("timed out \(marked) idle session(s)") }
            } catch {
                logger.warning("inactivity sweep failed, retrying at the next tick: \(error)")
            }
        }
    }
}
