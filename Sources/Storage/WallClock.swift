import Foundation

/// The wall clock, for the instants Parley stores (`created_at`, `updated_at`, dirty marks, the
/// server's "now" in queries): milliseconds since the Unix epoch, the unit of every stored
/// instant (docs/DATA_MODEL.md). Timeouts, deadlines and measured durations use the monotonic
/// clock instead (`MonotonicClock` in Transport, `ContinuousClock`), which a step of the wall
/// clock cannot move.
package enum WallClock {
    package static func nowMillis() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
    /// Microseconds, for event timestamps the server makes itself (they order events).
    package static func nowMicros() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000_000) }
}
