/// A JSON value (RFC 8259) that keeps object key order and number text, so a value parsed and
/// written again comes out the same (no float rounding of ids or large integers).
package enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number exactly as written, e.g. `"1e3"` or `"12345678901234567890"`.
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in document order; a key repeated in the source keeps its last value.
    case object([(String, JSONValue)])
    /// JSON text already known to be valid (this process wrote it to storage), written out
    /// verbatim. Renderers use it to pass stored input, output and metadata through without
    /// parsing and re-serialising them; it has no members to look into.
    case raw(String)

    package static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.number(a), .number(b)): return a == b || DecimalText(a).map { $0 == DecimalText(b) } ?? false
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.raw(a), .raw(b)): return a == b
        case let (.object(a), .object(b)):
            guard a.count == b.count else { return false }
            for (key, value) in a {
                guard let other = b.first(where: { $0.0 == key })?.1, other == value else { return false }
            }
            return true
        default: return false
        }
    }

    /// Member `key` of an object, or nil (also nil for non-objects).
    package subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last { $0.0 == key }?.1
    }

    package var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    package var doubleValue: Double? {
        if case .number(let text) = self { return Double(text) }
        return nil
    }

    /// An integer value; numbers with a fraction or exponent count when they are whole.
    package var intValue: Int64? {
        guard case .number(let text) = self else { return nil }
        if let value = Int64(text) { return value }
        guard let double = Double(text), double.rounded() == double, abs(double) < 9.2e18 else { return nil }
        return Int64(double)
    }

    package var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    package var arrayValue: [JSONValue]? {
        if case .array(let values) = self { return values }
        return nil
    }

    package var objectValue: [(String, JSONValue)]? {
        if case .object(let members) = self { return members }
        return nil
    }

    package var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// Compact JSON text.
    package var jsonText: String {
        String(decoding: jsonBytes, as: UTF8.self)
    }
}

extension JSONValue {
    package init(_ text: String) { self = .string(text) }
    package init(_ number: Int) { self = .number(String(number)) }
    package init(_ number: Double) {
        self = number.isFinite ? .number(JSONWriter.format(number)) : .null
    }
}

/// A JSON number's exact value as sign, significant digits and power of ten, so `1`, `1.0` and
/// `1e0` compare equal while `12345678901234567890` and `12345678901234567891` (the same Double)
/// do not: comparing through `Double` would round ids and large integers, which `JSONValue`
/// exists to avoid.
private struct DecimalText: Equatable {
    let negative: Bool
    /// No leading or trailing zeros; empty for zero.
    let digits: Substring
    let exponent: Int

    /// Nil unless `text` is digits with an optional sign, point and exponent (every `.number` the
    /// parser or the initialisers make is), or when the exponent does not fit in an `Int`.
    init?(_ text: String) {
        var rest = Substring(text)
        let negative = rest.first == "-"
        if negative { rest = rest.dropFirst() }
        var exponent = 0
        if let mark = rest.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            var power = rest[rest.index(after: mark)...]
            if power.first == "+" { power = power.dropFirst() }
            guard let value = Int(power) else { return nil }
            exponent = value
            rest = rest[..<mark]
        }
        var digits = ""
        if let dot = rest.firstIndex(of: ".") {
            let fraction = rest[rest.index(after: dot)...]
            digits = String(rest[..<dot]) + fraction
            guard exponent >= Int.min + fraction.count else { return nil }
            exponent -= fraction.count
        } else {
            digits = String(rest)
        }
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        var significant = Substring(digits).drop { $0 == "0" }
        while significant.last == "0" {
            significant = significant.dropLast()
            guard exponent < Int.max else { return nil }
            exponent += 1
        }
        // Zero has no sign and no exponent: -0 == 0 == 0e5.
        self.negative = negative && !significant.isEmpty
        self.digits = significant
        self.exponent = significant.isEmpty ? 0 : exponent
    }
}
