/// ISO-8601 timestamps as Langfuse accepts them: a date, `T`, a time with any number of
/// fractional digits, and `Z` or a `±hh:mm` offset (naive times are rejected).
package enum Timestamp {
    /// The earliest instant a timestamp may name: 0000-01-01T00:00:00Z, in microseconds.
    package static let minMicros: Int64 = -62_167_219_200_000_000
    /// The latest: 9999-12-31T23:59:59.999999Z. Every stored time lies between the two, so
    /// differences of stored times never overflow and `iso8601` writes four-digit years.
    package static let maxMicros: Int64 = 253_402_300_799_999_999

    /// Microseconds since the Unix epoch, or nil when `text` is not such a timestamp or names an
    /// instant outside `minMicros...maxMicros` (a year-0000 time with a positive offset is in
    /// year −1 in UTC).
    package static func parseMicros(_ text: String) -> Int64? {
        var utf8 = Array(text.utf8)
        guard utf8.count >= 20 else { return nil }
        if utf8[10] == UInt8(ascii: "t") { utf8[10] = UInt8(ascii: "T") }
        func digits(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                guard index < utf8.count, utf8[index] >= 0x30, utf8[index] <= 0x39 else { return nil }
                value = value * 10 + Int(utf8[index] - 0x30)
            }
            return value
        }
        guard let year = digits(0..<4), utf8[4] == UInt8(ascii: "-"), let month = digits(5..<7),
              utf8[7] == UInt8(ascii: "-"), let day = digits(8..<10), utf8[10] == UInt8(ascii: "T"),
              let hour = digits(11..<13), utf8[13] == UInt8(ascii: ":"), let minute = digits(14..<16),
              utf8[16] == UInt8(ascii: ":"), let second = digits(17..<19)
        else { return nil }
        guard (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day),
              hour < 24, minute < 60, second < 61 else { return nil }
        var index = 19
        var micros = 0
        if index < utf8.count, utf8[index] == UInt8(ascii: ".") {
            index += 1
            var count = 0
            while index < utf8.count, utf8[index] >= 0x30, utf8[index] <= 0x39 {
                if count < 6 { micros = micros * 10 + Int(utf8[index] - 0x30) }
                count += 1
                index += 1
            }
            guard count > 0 else { return nil }
            if count < 6 { for _ in count..<6 { micros *= 10 } }
        }
        guard index < utf8.count else { return nil }
        var offsetSeconds = 0
        switch utf8[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            index += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let sign = utf8[index] == UInt8(ascii: "-") ? -1 : 1
            guard let hours = digits((index + 1)..<(index + 3)) else { return nil }
            var minutes = 0
            if index + 3 < utf8.count, utf8[index + 3] == UInt8(ascii: ":") {
                guard let value = digits((index + 4)..<(index + 6)) else { return nil }
                minutes = value
                index += 6
            } else if let value = digits((index + 3)..<(index + 5)) {
                minutes = value
                index += 5
            } else {
                index += 3
            }
            guard hours < 24, minutes < 60 else { return nil }
            offsetSeconds = sign * (hours * 3600 + minutes * 60)
        default:
            return nil
        }
        guard index == utf8.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + min(second, 59)) - Int64(offsetSeconds)
        let result = seconds * 1_000_000 + Int64(micros)
        return (minMicros...maxMicros).contains(result) ? result : nil
    }

    /// `2026-01-05T10:11:12.123Z`: UTC with milliseconds, as Langfuse's responses format dates.
    /// Times outside `minMicros...maxMicros` (which no parsed input yields) are written as the
    /// nearest end, so the year always has four digits.
    /// Parsed as `parseMicros` does, in milliseconds: the unit Parley stores instants in.
    package static func parseMillis(_ text: String) -> Int64? {
        parseMicros(text).map(millis(micros:))
    }

    /// Microseconds since the epoch (how events are ordered) as milliseconds (how instants are
    /// stored), truncated toward zero.
    @inline(__always)
    package static func millis(micros: Int64) -> Int64 { micros / 1000 }

    /// Nanoseconds since the epoch (OTLP's unit) as microseconds, truncated.
    @inline(__always)
    package static func micros(nanos: UInt64) -> Int64 { Int64(nanos / 1000) }

    /// Milliseconds as seconds, the unit of Langfuse's JSON durations (`latency`,
    /// `timeToFirstToken`) and of Prometheus.
    @inline(__always)
    package static func seconds(millis: Int64) -> Double { Double(millis) / 1000 }

    package static func iso8601(millis unclamped: Int64) -> String {
        let millis = min(max(unclamped, minMicros / 1000), maxMicros / 1000)
        let totalSeconds = millis >= 0 ? millis / 1000 : (millis - 999) / 1000
        let milliseconds = Int(millis - totalSeconds * 1000)
        let days = Int(totalSeconds >= 0 ? totalSeconds / 86_400 : (totalSeconds - 86_399) / 86_400)
        let secondsOfDay = Int(totalSeconds - Int64(days) * 86_400)
        let (year, month, day) = civilFromDays(days)
        // Written straight into the string's storage: this runs for every date in every read
        // response (a [UInt8] and a decode per call showed in the drill-down profile).
        return String(unsafeUninitializedCapacity: 24) { bytes in
            func put(_ value: Int, _ width: Int, at offset: Int) {
                var value = value
                for index in stride(from: offset + width - 1, through: offset, by: -1) {
                    bytes[index] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: value % 10)
                    value /= 10
                }
            }
            put(year, 4, at: 0); bytes[4] = UInt8(ascii: "-")
            put(month, 2, at: 5); bytes[7] = UInt8(ascii: "-")
            put(day, 2, at: 8); bytes[10] = UInt8(ascii: "T")
            put(secondsOfDay / 3600, 2, at: 11); bytes[13] = UInt8(ascii: ":")
            put(secondsOfDay / 60 % 60, 2, at: 14); bytes[16] = UInt8(ascii: ":")
            put(secondsOfDay % 60, 2, at: 17); bytes[19] = UInt8(ascii: ".")
            put(milliseconds, 3, at: 20); bytes[23] = UInt8(ascii: "Z")
            return 24
        }
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's days_from_civil / civil_from_days (public domain algorithms).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
