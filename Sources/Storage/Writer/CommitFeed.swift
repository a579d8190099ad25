import Synchronization

/// Tells listeners, right after each COMMIT, which sessions of which projects it changed (the
/// sessions whose aggregates the transaction refreshed, so every write that can change what a
/// session shows: ingestion, session calls, the inactivity sweeper, deletions).
///
/// Listeners are called on the writer thread, so they must only record and wake (resume a
/// continuation, set a flag): the writer never waits for a reader of what it publishes.
package final class CommitFeed: Sendable {
    /// What one commit changed in one project.
    package struct Change: Sendable {
        package let projectID: Int64
        package let sessionIDs: Set<String>
    }

    package typealias Listener = @Sendable (Change) -> Void

    private struct State {
        var listeners: [Int: (projectID: Int64, listener: Listener)] = [:]
        var nextID = 0
        /// Touched by the writer thread only, between `stage` and `committed`.
        var staged: [Int64: Set<String>] = [:]
    }

    private let state = Mutex(State())

    package init() {}

    /// Calls `listener` after every commit that changed a session of `projectID`; returns the
    /// id that `remove` takes.
    package func add(projectID: Int64, _ listener: @escaping Listener) -> Int {
        state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.listeners[id] = (projectID, listener)
            return id
        }
    }

    package func remove(_ id: Int) {
        _ = state.withLock { $0.listeners.removeValue(forKey: id) }
    }

    /// Listeners registered now.
    package var listenerCount: Int { state.withLock { $0.listeners.count } }

    /// The sessions the transaction being committed changed (writer thread, before COMMIT).
    func stage(_ sessions: [Int64: Set<String>]) {
        state.withLock { state in
            for (project, ids) in sessions { state.staged[project, default: []].formUnion(ids) }
        }
    }

    /// The transaction ended: on success its staged changes go to the listeners; on failure
    /// they are dropped (nothing of it is visible).
    func finish(committed: Bool) {
        let (changes, listeners) = state.withLock { state -> ([Int64: Set<String>], [(Int64, Listener)]) in
            defer { state.staged = [:] }
            guard committed, !state.staged.isEmpty else { return ([:], []) }
            return (state.staged, state.listeners.values.filter { state.staged[$0.projectID] != nil }.map { ($0.projectID, $0.listener) })
        }
        for (projectID, listener) in listeners {
            listener(Change(projectID: projectID, sessionIDs: changes[projectID] ?? []))
        }
    }
}
