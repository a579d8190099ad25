/// Nearest-rank percentiles (https://en.wikipedia.org/wiki/Percentile#The_nearest-rank_method):
/// the smallest value with at least p% of the values at or below it. Always one of the values,
/// never interpolated, so a p99 of turn counts is a turn count someone had.
package enum Percentiles {
    /// `p` in 0...100 of `sorted` (ascending), or nil when empty.
    package static func nearestRank<T>(_ sorted: [T], _ p: Double) -> T? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(sorted.count - 1, max(0, rank - 1))]
    }

    /// The median (nearest rank, so the lower middle of an even count).
    package static func median<T: Comparable>(_ values: [T]) -> T? {
        nearestRank(values.sorted(), 50)
    }
}
