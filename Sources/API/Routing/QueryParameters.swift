import Ingest
/// Parsed `application/x-www-form-urlencoded` query string.
package struct QueryParameters: Sendable {
    private var pairs: [(String, String)] = []

    package init(_ query: Substring) {
        for part in query.split(separator: "&", omittingEmptySubsequences: true) {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = PercentDecoding.decode(pieces[0], plusAsSpace: true) ?? String(pieces[0])
            let value = pieces.count > 1 ? (PercentDecoding.decode(pieces[1], plusAsSpace: true) ?? String(pieces[1])) : ""
            pairs.append((key, value))
        }
    }

    /// The first value for `key`; empty strings count as absent (Langfuse treats them so).
    package subscript(key: String) -> String? {
        pairs.first { $0.0 == key && !$0.1.isEmpty }?.1
    }

    package func values(_ key: String) -> [String] {
        pairs.filter { $0.0 == key }.map(\.1)
    }

    /// Every key/value pair in order.
    package var all: [(String, String)] { pairs }
}

/// Percent-decoding (RFC 3986 §2.1) that rejects malformed escapes and invalid UTF-8.
enum PercentDecoding {
    static func decode(_ text: Substring, plusAsSpace: Bool = false) -> String? {
        if !text.utf8.contains(where: { $0 == UInt8(ascii: "%") || (plusAsSpace && $0 == UInt8(ascii: "+")) }) {
            return String(text)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    return nil
                }
                bytes.append(high << 4 | low)
            case UInt8(ascii: "+") where plusAsSpace:
                bytes.append(UInt8(ascii: " "))
            default:
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension QueryParameters {
    /// The `userId` filter in its stored form: a raw id is hashed the way ingestion hashes it.
    func userID(_ policy: PrivacyPolicy) -> String? {
        self["userId"].map(policy.userID)
    }
}
