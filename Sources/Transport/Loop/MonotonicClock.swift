import Glibc

/// CLOCK_MONOTONIC in nanoseconds: cheap, and immune to wall-clock jumps.
package enum MonotonicClock {
    @inline(__always)
    package static func nanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}

/// The time source of a connection's deadlines, in monotonic nanoseconds: the system's clock in
/// the server, a manual one in tests, so deadline logic is tested without waiting.
protocol DeadlineClock {
    /// Monotonic nanoseconds now.
    func now() -> UInt64
}

/// CLOCK_MONOTONIC, the clock of the running server.
struct SystemDeadlineClock: DeadlineClock {
    @inline(__always)
    func now() -> UInt64 { MonotonicClock.nanos() }
}
