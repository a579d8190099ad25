import Crypto
import Model

/// What a project's privacy settings do to data on its way in, and to user-id filters on the
/// way out (docs/PRIVACY.md). Every write path (batch ingestion, OTLP, `POST /traces`,
/// `/scores`, `/sessions`) passes its events through `apply(_:)` before the writer sees them,
/// so nothing it removes ever reaches the database file, its WAL or the logs.
package struct PrivacyPolicy: Sendable, Equatable {
    /// Whether user ids are replaced by `userID(_:)`'s keyed hash.
    package let hashUserIDs: Bool
    package let io: ProjectSettings.IOPolicy
    private let salt: [UInt8]

    package init(settings: ProjectSettings, salt: [UInt8], defaults: ProjectDefaults) {
        hashUserIDs = settings.hashUserIds ?? defaults.hashUserIds
        io = settings.ioPolicy ?? defaults.ioPolicy
        self.salt = salt
    }

    // MARK: User ids

    /// The stored form of a user id: `u_` and the first 16 bytes of HMAC-SHA256(salt, id) in hex,
    /// when hashing is on. An id already in that form is kept, so a hashed id read back from
    /// Parley can be sent again (in a filter or an event) and names the same user.
    package func userID(_ raw: String) -> String {
        guard hashUserIDs, !Self.isHashed(raw) else { return raw }
        let mac = Digest.hmacSHA256(key: salt, message: Array(raw.utf8))
        return "u_" + Digest.hex(Array(mac.prefix(16)))
    }

    /// True for `u_` followed by 32 lowercase hex digits.
    package static func isHashed(_ id: String) -> Bool {
        let bytes = id.utf8
        guard bytes.count == 34, id.hasPrefix("u_") else { return false }
        return bytes.dropFirst(2).allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// Metadata keys that carry a user id (OpenTelemetry, Langfuse, Vercel AI SDK, Traceloop):
    /// their string values are hashed wherever they appear in metadata.
    static let userIDKeys: Set<String> = [
        "user.id", "userId", "user_id", "enduser.id", "langfuse.user.id", "langfuse_user_id",
        "ai.telemetry.metadata.userId", "traceloop.association.properties.user_id",
    ]

    // MARK: Events

    /// Whether `apply(_:)` can change anything; when false it is skipped entirely.
    package var isPassThrough: Bool { !hashUserIDs && io == .full }

    /// The event as the project's policy lets it be stored.
    package func apply(_ event: IngestionEvent) -> IngestionEvent {
        guard !isPassThrough, case .object(let members) = event.body else { return event }
        var changed: [(String, JSONValue)]?
        for (index, (key, value)) in members.enumerated() {
            guard let replacement = apply(key: key, value) else { continue }
            if changed == nil { changed = members }
            changed?[index].1 = replacement
        }
        guard let changed else { return event }
        return IngestionEvent(id: event.id, type: event.type, timestampMicros: event.timestampMicros, body: .object(changed))
    }

    /// The replacement for one body member, or nil to keep it.
    private func apply(key: String, _ value: JSONValue) -> JSONValue? {
        switch key {
        case "userId":
            guard hashUserIDs, let raw = value.stringValue else { return nil }
            let hashed = userID(raw)
            return hashed == raw ? nil : .string(hashed)
        case "input", "output":
            switch io {
            case .full: return nil
            case .masked: return PIIMasker.mask(value)
            case .metadataOnly: return value.isNull ? nil : Self.summary(of: value)
            }
        case "metadata":
            let hashed = hashUserIDs ? hashingUserIDs(in: value) : nil
            guard io != .full else { return hashed }
            return PIIMasker.mask(hashed ?? value)
        case "statusMessage", "comment":
            return io == .full ? nil : PIIMasker.mask(value)
        default:
            return nil
        }
    }

    /// Metadata as the policy stores it: user ids hashed, personal data masked unless `full`.
    package func metadata(_ value: JSONValue) -> JSONValue {
        apply(key: "metadata", value) ?? value
    }

    /// `value` with the string of every user-id key (at any depth) hashed; nil when it has none,
    /// so metadata without user ids (most of it) is not rebuilt on the ingestion path.
    func hashingUserIDs(in value: JSONValue) -> JSONValue? {
        switch value {
        case .object(let members):
            var changed: [(String, JSONValue)]?
            for (index, (key, member)) in members.enumerated() {
                let replacement: JSONValue?
                if Self.userIDKeys.contains(key), let raw = member.stringValue {
                    let hashed = userID(raw)
                    replacement = hashed == raw ? nil : .string(hashed)
                } else {
                    replacement = hashingUserIDs(in: member)
                }
                if let replacement {
                    if changed == nil { changed = members }
                    changed?[index].1 = replacement
                }
            }
            return changed.map(JSONValue.object)
        case .array(let items):
            var changed: [JSONValue]?
            for (index, item) in items.enumerated() {
                if let replacement = hashingUserIDs(in: item) {
                    if changed == nil { changed = items }
                    changed?[index] = replacement
                }
            }
            return changed.map(JSONValue.array)
        default:
            return nil
        }
    }

    /// What `metadata-only` stores instead of a value: its size in bytes and its SHA-256 (of a
    /// string's UTF-8, of anything else's JSON text), so equal inputs can still be recognised.
    static func summary(of value: JSONValue) -> JSONValue {
        let bytes = Array((value.stringValue ?? value.jsonText).utf8)
        return .object([
            ("redacted", .string("metadata-only")),
            ("bytes", JSONValue(bytes.count)),
            ("sha256", .string(Digest.hex(Digest.sha256(bytes)))),
        ])
    }
}
