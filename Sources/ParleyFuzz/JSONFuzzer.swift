import Model

/// `JSONParser` on arbitrary bytes. A document it accepts must survive what storage does to
/// every body: written out (`jsonBytes`) and parsed again, unchanged, with the writer's output
/// stable on the second pass. The PII masker must be idempotent on it (docs/PRIVACY.md).
enum JSONFuzzer {
    static func run(_ input: [UInt8]) {
        guard let value = try? JSONParser.parse(input) else { return }
        checkRoundTrip(value, "document")
        let masked = PIIMasker.mask(value)
        fuzzCheck(PIIMasker.mask(masked) == masked, "masking twice changed the value: \(masked.jsonText)")
    }

    /// `value` written and re-read is the same value, and writing that gives the same bytes.
    static func checkRoundTrip(_ value: JSONValue, _ what: @autoclosure () -> String) {
        let written = value.jsonBytes
        let reparsed: JSONValue
        do {
            reparsed = try JSONParser.parse(written)
        } catch {
            fuzzCheck(false, "\(what()) as written does not parse again (\(error)): \(String(decoding: written.prefix(500), as: UTF8.self))")
            return
        }
        fuzzCheck(reparsed == value, "\(what()) changed in a round trip: \(String(decoding: written.prefix(500), as: UTF8.self))")
        fuzzCheck(reparsed.jsonBytes == written, "\(what()) is written differently the second time")
    }
}
