import Model
import Testing

/// The named conversions between time units (`Timestamp`, `Duration+Units`): what they give at
/// the edges, where a hand-written `* 1_000_000_000` would have trapped or wrapped.
@Suite("Time units")
struct TimeUnitTests {
    @Test func durationsBecomeNanosecondsAndSecondsAndSaturateAtTheEnds() {
        #expect(Duration.seconds(2).wholeNanoseconds == 2_000_000_000)
        #expect(Duration.milliseconds(1_500).seconds == 1.5)
        #expect(Duration.nanoseconds(7).unsignedNanoseconds == 7)
        #expect(Duration.seconds(-3).unsignedNanoseconds == 0)
        #expect(Duration.seconds(Int64.max).wholeNanoseconds == .max)
        #expect(Duration.seconds(Int64.min).wholeNanoseconds == .min)
        #expect(Duration.seconds(Int64.max).unsignedNanoseconds == UInt64(Int64.max))
    }

    @Test func theTimeBetweenTwoMonotonicReadingsIsNeverNegative() {
        #expect(Duration.between(monotonicNanos: 1_000, and: 3_500) == .nanoseconds(2_500))
        #expect(Duration.between(monotonicNanos: 3_500, and: 1_000) == .zero)
        #expect(Duration.between(monotonicNanos: 0, and: .max) == .nanoseconds(Int64.max))
    }

    @Test func timestampsConvertBetweenTheUnitsEventsAndRowsUse() {
        #expect(Timestamp.parseMillis("2026-12-08T01:02:03.456789Z") == 1_796_691_723_456)
        #expect(Timestamp.parseMillis("not a time") == nil)
        #expect(Timestamp.millis(micros: 1_796_691_723_456_789) == 1_796_691_723_456)
        #expect(Timestamp.millis(micros: -1_500) == -1)  // toward zero, as stored times always were
        #expect(Timestamp.micros(nanos: 1_796_691_723_456_789_123) == 1_796_691_723_456_789)
        #expect(Timestamp.seconds(millis: 2_250) == 2.25)
    }
}
