import Dispatch
import Synchronization

/// Recent analytics answers, so a dashboard polling a large project does not rescan every
/// session on each request (docs/ANALYTICS.md, "Freshness").
///
/// An answer is keyed by project and request target and stamped with the writer's commit count
/// when its computation began. While nothing was committed since, it is served as is: exact.
/// After a commit it is stale, and:
/// * an answer that was cheap to compute (under `expensiveAfter`) is recomputed, so small
///   projects always get exact answers;
/// * an expensive one is served stale while it is younger than `maxStaleness`, with an `Age`
///   header; an older one is recomputed before answering. Its age counts from the last time it
///   was known exact (computed, or served while nothing had been committed since): an answer a
///   dashboard polled through a quiet hour is seconds old when ingestion resumes, not an hour.
///   Serving it stale starts a background computation when none ran for `refreshEvery`;
/// * an expensive answer someone asked for within `watchWindow` is recomputed in the
///   background after commits, at most every `refreshEvery`, so while a dashboard watches it,
///   it stays younger than `maxStaleness` and no request waits for a scan.
///
/// Computations run on their own Dispatch queue, never on the Swift concurrency pool that serves
/// requests (a second-long scan there would stall every other request), and at most one runs
/// per key at a time: a request that needs an answer joins the computation in flight when that
/// one started late enough to include every write the request could have seen.
package final class AnalyticsCache: Sendable {
    package struct Settings: Sendable {
        /// Computations at least this long (nanoseconds) may be served stale.
        package var expensiveAfter: UInt64 = 5_000_000
        /// How old (nanoseconds) a stale answer may be.
        package var maxStaleness: UInt64 = 10_000_000_000
        /// Expensive answers asked for within this long (nanoseconds) are kept fresh in the background.
        package var watchWindow: UInt64 = 60_000_000_000
        /// The shortest time (nanoseconds) between two background computations of one answer.
        package var refreshEvery: UInt64 = 5_000_000_000
        /// How often (seconds) the background refresher looks for stale watched answers; nil: never
        /// (tests call `refreshWatched()`).
        package var refresherInterval: Double? = 1
        /// Answers kept; the least recently used goes first.
        package var maxEntries = 256
        /// Answer bytes kept in all.
        package var maxBytes = 16 << 20

        package init() {}
    }

    /// An answer and how fresh it is.
    package struct Answer: Sendable {
        package let body: [UInt8]
        /// Nanoseconds since its computation began, when served stale; nil when exact.
        package let staleAge: UInt64?
    }

    package typealias Computation = @Sendable () throws -> [UInt8]

    private struct Entry {
        var compute: Computation
        var body: [UInt8]
        var generation: Int
        var startedAt: UInt64
        /// When the answer was last known exact: `startedAt`, or a later request that found
        /// nothing committed since. Its age counts from here.
        var validatedAt: UInt64
        var computeNanos: UInt64
        var lastUsed: UInt64
    }

    /// A computation in flight for one key, and the requests waiting for it.
    private struct Flight {
        var generation: Int
        var waiters: [CheckedContinuation<[UInt8], any Error>] = []
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var bytes = 0
        var flights: [String: Flight] = [:]
    }

    private let settings: Settings
    private let clock: @Sendable () -> UInt64
    private let generation: @Sendable () -> Int
    private let state = Mutex(State())
    private let queue = DispatchQueue(label: "parley.analytics", qos: .utility, attributes: .concurrent)
    // Created once, resumed in init when enabled, cancelled in deinit; Dispatch sources are thread-safe.
    nonisolated(unsafe) private let refresher: (any DispatchSourceTimer)?

    /// `generation` is the writer's commit count now; `clock` monotonic nanoseconds.
    package init(
        settings: Settings = Settings(), generation: @escaping @Sendable () -> Int,
        clock: @escaping @Sendable () -> UInt64 = { DispatchTime.now().uptimeNanoseconds }
    ) {
        self.settings = settings
        self.clock = clock
        self.generation = generation
        if let interval = settings.refresherInterval {
            let timer = DispatchSource.makeTimerSource(queue: .global(qos: .utility))
            timer.schedule(deadline: .now() + interval, repeating: interval, leeway: .milliseconds(100))
            refresher = timer
            timer.setEventHandler { [weak self] in self?.refreshWatched() }
            timer.resume()
        } else {
            refresher = nil
        }
    }

    deinit {
        refresher?.cancel()
    }

    /// Starts a background computation for every expensive answer that is stale, was asked for
    /// within `watchWindow`, and was last computed at least `refreshEvery` ago.
    package func refreshWatched() {
        let now = clock()
        let current = generation()
        let due = state.withLock { state -> [(String, Computation)] in
            var due: [(String, Computation)] = []
            for (key, entry) in state.entries
            where entry.generation < current && entry.computeNanos >= settings.expensiveAfter
                && now &- entry.lastUsed <= settings.watchWindow && now &- entry.startedAt >= settings.refreshEvery
                && state.flights[key] == nil {
                state.flights[key] = Flight(generation: current)
                due.append((key, entry.compute))
            }
            return due
        }
        for (key, compute) in due {
            queue.async { self.run(key: key, generation: current, compute: compute) }
        }
    }

    /// The answer for `key` at writer `generation`, from the cache or from `compute`.
    package func answer(key: String, generation: Int, compute: @escaping Computation) async throws -> Answer {
        let now = clock()
        enum Decision { case fresh([UInt8]), stale([UInt8], UInt64), compute }
        let decision = state.withLock { state -> Decision in
            guard var entry = state.entries[key] else { return .compute }
            entry.lastUsed = now
            if entry.generation >= generation {
                entry.validatedAt = max(entry.validatedAt, now)
                state.entries[key] = entry
                return .fresh(entry.body)
            }
            state.entries[key] = entry
            let age = now &- entry.validatedAt
            guard entry.computeNanos >= settings.expensiveAfter, age <= settings.maxStaleness else { return .compute }
            // At most one background computation per `refreshEvery`, as for watched answers:
            // under steady ingestion every request finds the answer stale, and starting one each
            // time kept a core busy recomputing (a 700 ms scan, back to back).
            if state.flights[key] == nil, now &- entry.startedAt >= settings.refreshEvery {
                state.flights[key] = Flight(generation: generation)
                queue.async { self.run(key: key, generation: generation, compute: compute) }
            }
            return .stale(entry.body, age)
        }
        switch decision {
        case .fresh(let body): return Answer(body: body, staleAge: nil)
        case .stale(let body, let age): return Answer(body: body, staleAge: age)
        case .compute:
            let body = try await withCheckedThrowingContinuation { continuation in
                enum Join { case start, joined, alone }
                let join = state.withLock { state -> Join in
                    guard let flight = state.flights[key] else {
                        state.flights[key] = Flight(generation: generation, waiters: [continuation])
                        return .start
                    }
                    guard flight.generation >= generation else { return .alone }
                    state.flights[key]?.waiters.append(continuation)
                    return .joined
                }
                switch join {
                case .start:
                    queue.async { self.run(key: key, generation: generation, compute: compute) }
                case .joined:
                    break
                case .alone:
                    // The computation in flight began before writes this request may have seen.
                    queue.async {
                        continuation.resume(with: Result { try self.computeAndStore(key: key, generation: generation, compute: compute) })
                    }
                }
            }
            return Answer(body: body, staleAge: nil)
        }
    }

    /// Waits until no computation is in flight (tests).
    package func settle() async {
        while state.withLock({ !$0.flights.isEmpty }) {
            await withCheckedContinuation { continuation in queue.async(flags: .barrier) { continuation.resume() } }
        }
    }

    package var count: Int { state.withLock { $0.entries.count } }

    /// Requests waiting for a computation in flight.
    package var waiting: Int { state.withLock { $0.flights.values.reduce(0) { $0 + $1.waiters.count } } }

    /// Runs the flight for `key` and hands its outcome to every waiter.
    private func run(key: String, generation: Int, compute: @escaping Computation) {
        let outcome = Result { try computeAndStore(key: key, generation: generation, compute: compute) }
        let waiters = state.withLock { $0.flights.removeValue(forKey: key)?.waiters ?? [] }
        for waiter in waiters { waiter.resume(with: outcome) }
    }

    private func computeAndStore(key: String, generation: Int, compute: @escaping Computation) throws -> [UInt8] {
        let started = clock()
        let body = try compute()
        var entry = Entry(
            compute: compute, body: body, generation: generation, startedAt: started, validatedAt: started,
            computeNanos: clock() &- started, lastUsed: started)
        state.withLock { state in
            // A computation that began earlier must not replace a newer answer.
            if let existing = state.entries[key] {
                if existing.generation > generation { return }
                // A background refresh is not a use: the watch ends when requests stop.
                entry.lastUsed = existing.lastUsed
            }
            state.bytes += body.count - (state.entries[key]?.body.count ?? 0)
            state.entries[key] = entry
            while state.entries.count > settings.maxEntries || state.bytes > settings.maxBytes,
                  let oldest = state.entries.min(by: { $0.value.lastUsed < $1.value.lastUsed }) {
                state.bytes -= oldest.value.body.count
                state.entries.removeValue(forKey: oldest.key)
            }
        }
        return body
    }
}
