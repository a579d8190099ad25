/// Writes JSON text straight into a byte buffer, member by member, without building a
/// `JSONValue` tree first. Large read responses (a session drill-down is hundreds of objects)
/// use it: allocating, then freeing, a tree of member arrays was most of their cost in the
/// profile (docs/BENCHMARKS.md).
///
/// Commas are placed automatically: every value or key after the first in its container is
/// preceded by one. Callers keep begin/end calls balanced.
package struct JSONStream: Sendable {
    package private(set) var bytes: [UInt8] = []
    private var needsComma = false

    package init(capacity: Int = 16 * 1024) {
        bytes.reserveCapacity(capacity)
    }

    package mutating func beginObject() { separate(); bytes.append(UInt8(ascii: "{")); needsComma = false }
    package mutating func endObject() { bytes.append(UInt8(ascii: "}")); needsComma = true }
    package mutating func beginArray() { separate(); bytes.append(UInt8(ascii: "[")); needsComma = false }
    package mutating func endArray() { bytes.append(UInt8(ascii: "]")); needsComma = true }

    /// An object key computed at run time (escaped as needed); the next call writes its value.
    package mutating func dynamicKey(_ name: String) {
        separate()
        JSONWriter.writeString(name, into: &bytes)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// A complete value (an array element, or the value after `key`).
    package mutating func value(_ value: JSONValue) {
        separate()
        JSONWriter.write(value, into: &bytes)
        needsComma = true
    }

    /// A key known at compile time: written as is, without scanning for characters to escape.
    /// Callers pass plain ASCII names (`"startTime"`), which is all the read shapes use.
    package mutating func key(_ name: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// `key` then `value`, for a key known at compile time.
    package mutating func member(_ name: StaticString, _ value: JSONValue) {
        key(name)
        self.value(value)
    }

    /// `dynamicKey` then `value`.
    package mutating func dynamicMember(_ name: String, _ value: JSONValue) {
        dynamicKey(name)
        self.value(value)
    }

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }
}
