import Model
import Synchronization

/// The writer's recent entity folds (`EntityFold`), so that an event arriving in order is
/// applied as one step on its entity's current state instead of re-reading and re-parsing every
/// event stored for it (`IngestionStore`).
///
/// Owned by one connection and used on its thread alone (like `PriceCache`). An entry is only
/// trusted while the entity's stored event count is what the entry expects: one indexed count
/// per entity and request, which catches every way the log can change behind the cache (a
/// deletion, an erasure, retention, a rolled-back transaction). The writer also empties the
/// cache whenever a job or a transaction rolls back (`DatabaseWriter`).
///
/// Bounded: two generations of at most `maxEntries` entries and `maxBytes` bytes each (the
/// bytes are the stored bodies' lengths, an upper bound of what a fold keeps). A lookup found in
/// the older generation moves to the newer one; when the newer one is full it becomes the older
/// and the oldest is dropped. An entity missing from the cache is simply re-folded.
final class FoldCache {
    struct Key: Hashable {
        let projectID: Int64
        let kind: EntityKind
        let id: String
    }

    enum Fold {
        case trace(TraceFold)
        case observation(ObservationFold)
        case score(ScoreFold)
    }

    struct Entry {
        var fold: Fold
        /// Sum of the lengths of the bodies folded.
        var bytes: Int
    }

    static let maxEntries = 4_096
    static let maxBytes = 16 << 20

    private var newer: [Key: Entry] = [:]
    private var newerBytes = 0
    private var older: [Key: Entry] = [:]
    /// Steps applied on a cached fold and folds rebuilt from the log, readable from any thread
    /// (`Database.foldFigures`, `/metrics`).
    let counters = FoldCounters()

    /// Takes the entry for `key` out of the cache (the caller puts back what it folded).
    func take(_ key: Key) -> Entry? {
        if let entry = newer.removeValue(forKey: key) {
            newerBytes -= entry.bytes
            return entry
        }
        return older.removeValue(forKey: key)
    }

    func put(_ key: Key, _ entry: Entry) {
        // A fold larger than a generation's budget is not kept at all.
        guard entry.bytes <= Self.maxBytes else { return }
        if newer.count >= Self.maxEntries || newerBytes + entry.bytes > Self.maxBytes {
            older = newer
            newer = [:]
            newerBytes = 0
        }
        newer[key] = entry
        newerBytes += entry.bytes
    }

    func countHit() { counters.steps.add(1, ordering: .relaxed) }
    func countRefold() { counters.refolds.add(1, ordering: .relaxed) }

    /// Forgets every fold (after a rollback).
    func removeAll() {
        newer = [:]
        older = [:]
        newerBytes = 0
    }
}

/// `FoldCache`'s counters.
final class FoldCounters: Sendable {
    let steps = Atomic<Int>(0)
    let refolds = Atomic<Int>(0)
}

extension FoldCache.Fold {
    init(_ fold: some EntityFold) {
        switch fold {
        case let trace as TraceFold: self = .trace(trace)
        case let observation as ObservationFold: self = .observation(observation)
        case let score as ScoreFold: self = .score(score)
        default: preconditionFailure("no cache case for \(type(of: fold))")
        }
    }

    /// The fold, when it is of type `F`.
    func `as`<F: EntityFold>(_ type: F.Type) -> F? {
        switch self {
        case .trace(let fold): fold as? F
        case .observation(let fold): fold as? F
        case .score(let fold): fold as? F
        }
    }
}
