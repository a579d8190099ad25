import Dispatch
import API
import Synchronization
import Testing

/// `AnalyticsCache` with an injected clock and writer generations: exact answers while nothing
/// was written, stale ones only for expensive computations and only for a bounded time.
@Suite("Analytics cache")
struct AnalyticsCacheTests {
    struct Served: Equatable {
        let value: Int
        let stale: Bool
        static func fresh(_ value: Int) -> Served { Served(value: value, stale: false) }
        static func stale(_ value: Int) -> Served { Served(value: value, stale: true) }
    }

    /// A clock the test moves, and a computation whose cost (in that clock) the test sets.
    final class Counter: Sendable {
        let value: Atomic<UInt64>
        init(_ start: UInt64) { value = Atomic(start) }
        func add(_ amount: UInt64) { value.add(amount, ordering: .relaxed) }
        var current: UInt64 { value.load(ordering: .relaxed) }
    }

    final class Fixture: Sendable {
        let now = Counter(1_000_000_000)
        let cost = Atomic<UInt64>(0)
        let computed = Atomic<Int>(0)
        let cache: AnalyticsCache

        let generation = Counter(1)

        init(expensiveAfter: UInt64 = 50, maxStaleness: UInt64 = 1_000, maxEntries: Int = 256) {
            var settings = AnalyticsCache.Settings()
            settings.expensiveAfter = expensiveAfter
            settings.maxStaleness = maxStaleness
            settings.maxEntries = maxEntries
            settings.refreshEvery = 500
            settings.watchWindow = 10_000
            settings.refresherInterval = nil
            let clock = now, generation = generation
            cache = AnalyticsCache(settings: settings, generation: { Int(generation.current) }, clock: { clock.current })
        }

        /// Answers `key` at `generation`; the computation returns the number of computations so far.
        func answer(_ key: String = "k", generation: Int) async throws -> Served {
            let answer = try await cache.answer(key: key, generation: generation) { [self] in
                let count = computed.add(1, ordering: .relaxed).newValue
                now.add(cost.load(ordering: .relaxed))
                return Array(String(count).utf8)
            }
            return Served(value: Int(String(decoding: answer.body, as: UTF8.self)) ?? -1, stale: answer.staleAge != nil)
        }
    }

    @Test func anAnswerIsReusedUntilTheNextCommit() async throws {
        let f = Fixture()
        #expect(try await f.answer(generation: 1) == .fresh(1))
        #expect(try await f.answer(generation: 1) == .fresh(1))
        #expect(try await f.answer("other", generation: 1) == .fresh(2))
        // Cheap to compute: a commit means an exact recomputation on the spot.
        #expect(try await f.answer(generation: 2) == .fresh(3))
    }

    @Test func anExpensiveAnswerIsServedStaleForABoundedTimeAndRefreshedInTheBackground() async throws {
        let f = Fixture()
        f.cost.store(100, ordering: .relaxed)
        #expect(try await f.answer(generation: 1) == .fresh(1))
        // Stale within refreshEvery (500) of its computation: served, and nothing recomputed.
        #expect(try await f.answer(generation: 2) == .stale(1))
        await f.cache.settle()
        #expect(f.computed.load(ordering: .relaxed) == 1)
        f.now.add(500)
        let stale = try await f.answer(generation: 2)
        #expect(stale == .stale(1))
        await f.cache.settle()
        #expect(f.computed.load(ordering: .relaxed) == 2)
        // The refresh is stored under the generation it saw: exact now.
        #expect(try await f.answer(generation: 2) == .fresh(2))
        // Past maxStaleness a stale answer is not served: recomputed on the spot.
        f.now.add(5_000)
        #expect(try await f.answer(generation: 3) == .fresh(3))
    }

    /// Staleness counts from the last time the answer was known exact, not from its computation:
    /// after a quiet spell a dashboard gets the last answer at once when writes resume.
    @Test func anAnswerServedExactlyLaterIsThatMuchYoungerWhenWritesResume() async throws {
        let f = Fixture()
        f.cost.store(100, ordering: .relaxed)
        #expect(try await f.answer(generation: 1) == .fresh(1))
        f.now.add(900)
        #expect(try await f.answer(generation: 1) == .fresh(1))  // still exact: nothing committed
        f.now.add(900)
        // 1,800 after its computation, 900 after it was last exact: within maxStaleness (1,000).
        let stale = try await f.cache.answer(key: "k", generation: 2) { Array("recomputed".utf8) }
        #expect(stale.staleAge == 900)
        #expect(String(decoding: stale.body, as: UTF8.self) == "1")
        await f.cache.settle()
        f.now.add(2_000)
        // Exact since the background refresh, then 2,000 without a request: past the bound.
        #expect(try await f.answer(generation: 3) == .fresh(2))
    }

    @Test func failuresAreNotCachedAndTheLeastRecentlyUsedAnswerIsEvicted() async throws {
        let f = Fixture(maxEntries: 2)
        struct Failure: Error {}
        await #expect(throws: Failure.self) { try await f.cache.answer(key: "bad", generation: 1) { throw Failure() } }
        #expect(f.cache.count == 0)
        _ = try await f.answer("a", generation: 1)
        f.now.add(1)
        _ = try await f.answer("b", generation: 1)
        f.now.add(1)
        _ = try await f.answer("a", generation: 1)
        f.now.add(1)
        _ = try await f.answer("c", generation: 1)
        #expect(f.cache.count == 2)
        // "b" was least recently used: asking again computes it anew.
        let before = f.computed.load(ordering: .relaxed)
        _ = try await f.answer("b", generation: 1)
        #expect(f.computed.load(ordering: .relaxed) == before + 1)
        _ = try await f.answer("c", generation: 1)
        #expect(f.computed.load(ordering: .relaxed) == before + 1)
    }

    @Test func concurrentRequestsForOneAnswerShareOneComputation() async throws {
        let cache = AnalyticsCache(generation: { 1 })
        let computed = Counter(0)
        let release = DispatchSemaphore(value: 0)
        let compute: AnalyticsCache.Computation = {
            computed.add(1)
            release.wait()
            return Array("42".utf8)
        }
        try await withThrowingTaskGroup(of: [UInt8].self) { group in
            for _ in 0..<5 {
                group.addTask { try await cache.answer(key: "k", generation: 1, compute: compute).body }
            }
            // Released only once every request is waiting on the one computation in flight.
            var spins = 0
            while cache.waiting < 5, spins < 10_000_000 {
                await Task.yield()
                spins += 1
            }
            #expect(cache.waiting == 5)
            release.signal()
            for try await body in group { #expect(body == Array("42".utf8)) }
        }
        #expect(computed.current == 1)
    }

    @Test func aWatchedExpensiveAnswerIsRecomputedInTheBackgroundAfterCommits() async throws {
        let f = Fixture()
        f.cost.store(100, ordering: .relaxed)
        #expect(try await f.answer(generation: 1) == .fresh(1))
        f.generation.add(1)
        // Too soon after its computation: left alone.
        f.cache.refreshWatched()
        await f.cache.settle()
        #expect(f.computed.load(ordering: .relaxed) == 1)
        f.now.add(600)
        f.cache.refreshWatched()
        await f.cache.settle()
        #expect(f.computed.load(ordering: .relaxed) == 2)
        // Exact again without a request having waited for it.
        #expect(try await f.answer(generation: 2) == .fresh(2))
        // Once nobody asked for it within the watch window, commits no longer trigger work.
        f.now.add(20_000)
        f.generation.add(1)
        f.cache.refreshWatched()
        await f.cache.settle()
        #expect(f.computed.load(ordering: .relaxed) == 2)
    }
}
