import Synchronization

/// The sessions whose analytics are still to be settled, in memory: the same set as the
/// `dirty_sessions` table, so a read can tell in one lookup whether it must settle first.
///
/// Kept exact by the writer thread: before each COMMIT it stages the sessions the transaction
/// marked dirty and those it settled; after the COMMIT (before any caller of that transaction
/// is resumed, so before any acknowledgement) it applies them, settled first. A transaction
/// that fails changes nothing.
final class DirtySessions: Sendable {
    private struct State {
        var dirty: [Int64: Set<String>] = [:]
        /// Between `stage` and `finish`, writer thread only.
        var marked: [Int64: Set<String>] = [:]
        var settled: [Int64: Set<String>] = [:]
    }

    private let state: Mutex<State>

    init(_ dirty: [Int64: Set<String>]) {
        state = Mutex(State(dirty: dirty))
    }

    /// The dirty sessions of `projectID` now.
    func sessions(of projectID: Int64) -> Set<String> {
        state.withLock { $0.dirty[projectID] ?? [] }
    }

    /// How many sessions of `projectID` are dirty now.
    func count(of projectID: Int64) -> Int {
        state.withLock { $0.dirty[projectID]?.count ?? 0 }
    }

    var isEmpty: Bool { state.withLock { $0.dirty.isEmpty } }

    /// How many sessions are dirty, in all projects.
    var count: Int { state.withLock { $0.dirty.values.reduce(0) { $0 + $1.count } } }

    /// What the transaction being committed marked and settled (writer thread, before COMMIT).
    func stage(marked: [Int64: Set<String>], settled: [Int64: Set<String>]) {
        state.withLock { state in
            for (project, ids) in marked { state.marked[project, default: []].formUnion(ids) }
            for (project, ids) in settled { state.settled[project, default: []].formUnion(ids) }
        }
    }

    /// The transaction ended: if it committed, its settled sessions leave the set and its
    /// marked ones join it (a session settled and marked again in it stays dirty, as in the
    /// table, where the mark is written after the settle).
    func finish(committed: Bool) {
        state.withLock { state in
            defer {
                state.marked = [:]
                state.settled = [:]
            }
            guard committed else { return }
            for (project, ids) in state.settled {
                state.dirty[project]?.subtract(ids)
                if state.dirty[project]?.isEmpty == true { state.dirty[project] = nil }
            }
            for (project, ids) in state.marked { state.dirty[project, default: []].formUnion(ids) }
        }
    }
}
