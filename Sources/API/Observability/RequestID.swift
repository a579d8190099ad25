import Synchronization

/// Request ids: the client's `X-Request-Id` when it is sane, otherwise a fresh random one.
enum RequestID {
    /// Accepts up to 128 visible ASCII characters; anything else is replaced, so ids can be
    /// logged and echoed without escaping.
    static func accept(_ value: String?) -> String? {
        guard let value, !value.isEmpty, value.utf8.count <= 128,
              value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        return value
    }

    /// 16 hex characters from the system generator.
    static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next() as UInt64
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
