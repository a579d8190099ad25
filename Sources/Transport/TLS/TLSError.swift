import COpenSSL

/// A TLS failure with OpenSSL's error queue drained into readable text.
package struct TLSError: Error, CustomStringConvertible, Sendable {
    package let operation: String
    package let reasons: [String]

    package var description: String {
        reasons.isEmpty ? "\(operation) failed" : "\(operation) failed: \(reasons.joined(separator: "; "))"
    }

    /// Builds an error from, and clears, this thread's OpenSSL error queue.
    static func drain(_ operation: String) -> TLSError {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var text = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &text, text.count)
            reasons.append(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return TLSError(operation: operation, reasons: reasons)
    }
}
