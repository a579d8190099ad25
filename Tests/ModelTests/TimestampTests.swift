import Model
import Testing

/// `Timestamp.parseMicros` accepts exactly what Langfuse accepts: ISO-8601 with `Z` or an offset,
/// any number of fractional digits; naive or impossible times are rejected (langfuse-api.md §1, §3.6).
@Suite("Timestamp")
struct TimestampTests {
    /// 2026-11-24T21:58:28.426856Z, the first event of the 2.60.10 capture.
    static let captured: Int64 = 1_795_557_508_426_856

    @Test func parsesUTCWithMicroseconds() {
        #expect(Timestamp.parseMicros("2026-11-24T21:58:28.426856Z") == Self.captured)
    }

    @Test func parsesWholeSeconds() {
        #expect(Timestamp.parseMicros("2026-11-24T21:58:28Z") == 1_795_557_508_000_000)
        #expect(Timestamp.parseMicros("1970-01-01T00:00:00Z") == 0)
        #expect(Timestamp.parseMicros("2000-01-01T00:00:00Z") == 946_684_800_000_000)
    }

    @Test(arguments: [
        "2026-11-24T23:58:28.426856+02:00",
        "2026-11-24T16:28:28.426856-05:30",
        "2026-11-24T21:58:28.426856+00:00",
        "2026-11-24T21:58:28.426856-00:00",
        "2026-11-24T23:58:28.426856+0200",
        "2026-11-24T23:58:28.426856+02",
        "2026-11-25T11:43:28.426856+13:45",
    ])
    func offsetsAreSubtractedToGetUTC(text: String) {
        #expect(Timestamp.parseMicros(text) == Self.captured)
    }

    @Test(arguments: [
        ("2026-11-24T21:58:28.4Z", 400_000),
        ("2026-11-24T21:58:28.42Z", 420_000),
        ("2026-11-24T21:58:28.426Z", 426_000),
        ("2026-11-24T21:58:28.4268Z", 426_800),
        ("2026-11-24T21:58:28.426856Z", 426_856),
        ("2026-11-24T21:58:28.4268561Z", 426_856),
        ("2026-11-24T21:58:28.426856999Z", 426_856),
        ("2026-11-24T21:58:28.426856999999999999Z", 426_856),
        ("2026-11-24T21:58:28.000000001+00:00", 0),
    ] as [(String, Int64)])
    func fractionsOfAnyLengthKeepMicrosecondsAndTruncateTheRest(text: String, micros: Int64) {
        #expect(Timestamp.parseMicros(text) == 1_795_557_508_000_000 + micros)
    }

    @Test func handlesDatesBeforeTheEpochAndTheCalendarEdges() {
        #expect(Timestamp.parseMicros("1969-12-31T23:59:59.999999Z") == -1)
        #expect(Timestamp.parseMicros("0001-01-01T00:00:00Z") == -62_135_596_800_000_000)
        #expect(Timestamp.parseMicros("9999-12-31T23:59:59.999999Z") == 253_402_300_799_999_999)
        #expect(Timestamp.parseMicros("2024-02-29T12:00:00Z") == 1_709_208_000_000_000)
        #expect(Timestamp.parseMicros("2000-02-29T00:00:00Z") != nil)  // divisible by 400: leap
    }

    @Test(arguments: [
        "2026-11-24T21:58:28",  // naive
        "2026-11-24T21:58:28.426856",  // naive with fraction
        "2026-11-24",  // date only
        "2026-11-24T21:58Z",  // no seconds
        "2026-11-24 21:58:28Z",  // space instead of T
        "2026-11-24T21:58:28.Z",  // empty fraction
        "2026-11-24T21:58:28,5Z",  // comma fraction
        "2026-11-24T21:58:28ZZ",  // trailing data
        "2026-11-24T21:58:28Z ",  // trailing space
        " 2026-11-24T21:58:28Z",  // leading space
        "2026-11-24T21:58:28+2:00",  // one-digit offset hour
        "2026-11-24T21:58:28+02:0",  // one-digit offset minute
        "2026-11-24T21:58:28+24:00",  // offset hour out of range
        "2026-11-24T21:58:28+02:60",  // offset minute out of range
        "26-11-24T21:58:28Z",  // two-digit year
        "2026/11/24T21:58:28Z",
        "",
        "not a date at all, really",
    ])
    func malformedTimestampsAreRejected(text: String) {
        #expect(Timestamp.parseMicros(text) == nil)
    }

    @Test(arguments: [
        "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z", "2026-11-31T00:00:00Z", "2026-11-00T00:00:00Z",
        "2026-01-32T00:00:00Z", "2025-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
        "2026-11-24T24:00:00Z", "2026-11-24T23:60:00Z", "2026-11-24T23:59:61Z",
    ])
    func impossibleDatesAndTimesAreRejected(text: String) {
        #expect(Timestamp.parseMicros(text) == nil)
    }

    @Test func formatsUTCWithMilliseconds() {
        #expect(Timestamp.iso8601(millis: 0) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.iso8601(millis: 1_795_557_508_426) == "2026-11-24T21:58:28.426Z")
        #expect(Timestamp.iso8601(millis: 1_709_208_000_007) == "2024-02-29T12:00:00.007Z")
        #expect(Timestamp.iso8601(millis: -1) == "1969-12-31T23:59:59.999Z")
        #expect(Timestamp.iso8601(millis: -86_400_000) == "1969-12-31T00:00:00.000Z")
        #expect(Timestamp.iso8601(millis: 253_402_300_799_999) == "9999-12-31T23:59:59.999Z")
    }

    @Test func formattingAndParsingAreInverse() throws {
        var generator = SeededGenerator(seed: 7)
        let samples = (0..<2_000).map { _ in Int64.random(in: -62_135_596_800_000...253_402_300_799_999, using: &generator) }
        for millis in samples + [0, -1, 1, 951_782_400_000, 1_709_164_800_000] {
            let text = Timestamp.iso8601(millis: millis)
            #expect(Timestamp.parseMicros(text) == millis * 1000, "\(millis) → \(text)")
        }
    }
}
