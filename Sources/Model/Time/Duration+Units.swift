/// `Duration` in the units the code around it counts in, so that no one multiplies by 10⁹ by
/// hand. Configured intervals are `Duration`s (docs/ARCHITECTURE.md, "Time"); these turn one into
/// a count where an API wants one (Dispatch, a comparison with monotonic nanoseconds, a
/// Prometheus figure).
extension Duration {
    /// Whole nanoseconds, saturating at the ends of `Int64` (about ±292 years).
    package var wholeNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, tooLarge) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (total, stillTooLarge) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        if tooLarge || stillTooLarge { return seconds < 0 ? .min : .max }
        return total
    }

    /// Nanoseconds as an unsigned count, for monotonic-clock arithmetic; 0 for a negative one.
    package var unsignedNanoseconds: UInt64 { UInt64(max(0, wholeNanoseconds)) }

    /// Seconds, with the fraction.
    package var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    /// The time between two readings of a monotonic nanosecond clock (`later` at or after
    /// `earlier`; 0 otherwise).
    package static func between(monotonicNanos earlier: UInt64, and later: UInt64) -> Duration {
        later >= earlier ? .nanoseconds(Int64(clamping: later - earlier)) : .zero
    }
}
