extension String {
    /// Whether `needle` occurs in this string, compared as UTF-8 bytes. The standard library's
    /// `contains(_: some StringProtocol)` (from _StringProcessing) cost about 14,000
    /// instructions per call in the drill-down profile (docs/BENCHMARKS.md); keys and markers
    /// here are short, so a plain byte scan is what is wanted.
    package func containsUTF8(_ needle: String) -> Bool {
        var haystack = self
        var needle = needle
        return haystack.withUTF8 { bytes in
            needle.withUTF8 { pattern in
                guard let first = pattern.first else { return true }
                guard bytes.count >= pattern.count else { return false }
                var index = 0
                let last = bytes.count - pattern.count
                while index <= last {
                    if bytes[index] == first {
                        var matched = 1
                        while matched < pattern.count && bytes[index + matched] == pattern[matched] { matched += 1 }
                        if matched == pattern.count { return true }
                    }
                    index += 1
                }
                return false
            }
        }
    }

    /// Whether the string holds `byte` (an ASCII byte such as CR): a byte scan, no grapheme
    /// breaking.
    package func containsByte(_ byte: UInt8) -> Bool {
        utf8.withContiguousStorageIfAvailable { $0.contains(byte) } ?? utf8.contains(byte)
    }
}
