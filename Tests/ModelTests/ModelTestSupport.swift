import Foundation
import Model

/// Parses a JSON literal written in a test; a typo in the test fails loudly.
func json(_ text: String) throws -> JSONValue {
    try JSONParser.parse(text)
}

/// One stored event for `Merge`, its body given as JSON text and its envelope time in seconds
/// after an arbitrary origin (so tests read as "t = 1, 2, 3").
func event(_ type: IngestionEventType, at seconds: Int64, _ body: String) throws -> StoredEvent {
    StoredEvent(type: type, timestampMicros: origin + seconds * 1_000_000, body: try json(body))
}

/// 2026-01-01T00:00:00Z in microseconds: the `t = 0` of `event(_:at:_:)`.
let origin: Int64 = 1_767_225_600_000_000

/// `origin + seconds` in milliseconds, the unit records store.
func millis(at seconds: Int64) -> Int64 {
    (origin + seconds * 1_000_000) / 1000
}

/// Parses stored JSON text back into a value; nil stays nil.
func parsed(_ text: String?) throws -> JSONValue? {
    try text.map { try JSONParser.parse($0) }
}

/// The SDK captures in `Tests/Fixtures/sdk`, found from this file's path (no SwiftPM resources).
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // ModelTests
        .deletingLastPathComponent()  // Tests
        .appendingPathComponent("Fixtures/sdk").path

    static func json(_ relativePath: String) throws -> JSONValue {
        let path = "\(directory)/\(relativePath)"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FixtureMissing(path: path)
        }
        return try JSONParser.parse(Array(data))
    }

    /// The events of an ingestion batch fixture, as `Merge` reads them back from storage.
    static func storedEvents(_ relativePath: String) throws -> [(entity: EntityKind, id: String, event: StoredEvent)] {
        let batch = try json(relativePath)["batch"]?.arrayValue ?? []
        return try batch.map { envelope in
            guard let typeName = envelope["type"]?.stringValue, let type = IngestionEventType(rawValue: typeName),
                  let kind = type.entityKind, let body = envelope["body"], let id = body["id"]?.stringValue,
                  let timestamp = envelope["timestamp"]?.stringValue.flatMap(Timestamp.parseMicros)
            else { throw FixtureMissing(path: "\(relativePath): unexpected event \(envelope.jsonText.prefix(80))") }
            return (kind, id, StoredEvent(type: type, timestampMicros: timestamp, body: body))
        }
    }
}

struct FixtureMissing: Error, CustomStringConvertible {
    let path: String
    var description: String { "fixture \(path)" }
}

/// SplitMix64, as in TestSupport (which this target does not depend on): a seeded generator, so a
/// shuffled-order test replays the same orders every run.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
