import Synchronization

/// Recent session drill-downs (`GET /api/public/sessions/{id}`, full and `?fields=summary`), so
/// a dashboard re-reading a long session does not rebuild megabytes of JSON each time.
///
/// An answer is kept with the session's `settle_version` when it was built, and served only
/// while the session's stored version is still that one, checked in the database on every
/// request (one indexed lookup, after the read settled the project). Every change to a session
/// (a turn, an observation, a score, an end, a deletion or erasure, retention) marks it dirty and
/// its settle bumps the version, and a deleted session has none: so an answer from memory is
/// always the one a rebuild would give. The least recently used answers go first past
/// `maxEntries` or `maxBytes`.
final class DrillDownCache: Sendable {
    struct Settings: Sendable {
        var maxEntries = 64
        var maxBytes = 64 << 20
    }

    private struct Entry {
        var version: Int64
        var body: [UInt8]
        var lastUsed: UInt64
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var bytes = 0
        var clock: UInt64 = 0
        var hits = 0
        var misses = 0
    }

    private let settings: Settings
    private let state = Mutex(State())

    init(settings: Settings = Settings()) {
        self.settings = settings
    }

    /// The kept answer for `key` at `version`, else `build()`'s, kept for next time (nil, for a
    /// session gone meanwhile, is passed on and not kept).
    func answer(key: String, version: Int64, build: () throws -> [UInt8]?) rethrows -> [UInt8]? {
        let kept = state.withLock { state -> [UInt8]? in
            state.clock += 1
            guard let entry = state.entries[key], entry.version == version else {
                state.misses += 1
                return nil
            }
            state.entries[key]?.lastUsed = state.clock
            state.hits += 1
            return entry.body
        }
        if let kept { return kept }
        guard let body = try build() else { return nil }
        guard body.count <= settings.maxBytes / 4 else { return body }  // too big to be worth a slot
        state.withLock { state in
            if let old = state.entries[key] { state.bytes -= old.body.count }
            state.entries[key] = Entry(version: version, body: body, lastUsed: state.clock)
            state.bytes += body.count
            while state.entries.count > settings.maxEntries || state.bytes > settings.maxBytes,
                  let oldest = state.entries.min(by: { $0.value.lastUsed < $1.value.lastUsed }) {
                state.bytes -= oldest.value.body.count
                state.entries.removeValue(forKey: oldest.key)
            }
        }
        return body
    }

    /// Answers served from memory and built, since start.
    var counts: (hits: Int, misses: Int) { state.withLock { ($0.hits, $0.misses) } }
}
