extension JSONValue {
    /// The value with each object's keys made unique, at any depth: a repeated key keeps its
    /// first position and its last value, which is how `JSONParser` reads a document with
    /// repeated keys. A value built in code (the OTLP mapper joins attribute lists, which
    /// exporters do not always keep unique, and metadata from several sources) then reads back
    /// from storage exactly as it was merged. Parts without repeated keys are not rebuilt.
    package var withUniqueKeys: JSONValue {
        uniqueKeys() ?? self
    }

    /// The rebuilt value, or nil when nothing in it has a repeated key.
    private func uniqueKeys() -> JSONValue? {
        switch self {
        case .array(let items):
            var changed: [JSONValue]?
            for (index, item) in items.enumerated() {
                guard let replacement = item.uniqueKeys() else { continue }
                if changed == nil { changed = items }
                changed?[index] = replacement
            }
            return changed.map(JSONValue.array)
        case .object(let members):
            var changed: [(String, JSONValue)]?
            for (index, (_, member)) in members.enumerated() {
                guard let replacement = member.uniqueKeys() else { continue }
                if changed == nil { changed = members }
                changed?[index].1 = replacement
            }
            let current = changed ?? members
            guard Self.hasRepeatedKey(current) else { return changed.map(JSONValue.object) }
            var positions: [String: Int] = [:]
            var unique: [(String, JSONValue)] = []
            for (key, value) in current {
                if let position = positions[key] {
                    unique[position].1 = value
                } else {
                    positions[key] = unique.count
                    unique.append((key, value))
                }
            }
            return .object(unique)
        default:
            return nil
        }
    }

    private static func hasRepeatedKey(_ members: [(String, JSONValue)]) -> Bool {
        // Objects are mostly a handful of members: comparing pairs is cheaper than hashing them.
        if members.count <= 8 {
            for index in members.indices.dropFirst() where members[..<index].contains(where: { $0.0 == members[index].0 }) {
                return true
            }
            return false
        }
        var seen = Set<String>()
        return members.contains { !seen.insert($0.0).inserted }
    }
}
