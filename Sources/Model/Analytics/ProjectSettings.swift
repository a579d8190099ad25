/// The per-project options kept as JSON in `projects.settings` (docs/CONFIGURATION.md,
/// "Project settings"; docs/PRIVACY.md for the privacy ones). `ProjectSettingsStore.update`
/// changes single keys and keeps the others, so an older binary does not drop settings a newer
/// one wrote. A key that is absent means "the server's default".
package struct ProjectSettings: Sendable, Equatable {
    /// Seconds without activity after which the sweeper times a session out; nil uses the
    /// server's `--inactivity-timeout`.
    package var inactivityTimeoutSeconds: Int64?
    /// Model name (prefix) → context window in tokens, before the built-in table.
    package var contextWindows: [String: Int64] = [:]
    /// Whether user ids are replaced by a keyed hash before storage; nil uses the server's
    /// `--hash-user-ids` (on unless turned off).
    package var hashUserIds: Bool?
    /// What is stored of input and output; nil uses the server's `--io-policy` (`full`).
    package var ioPolicy: IOPolicy?
    /// Days data is kept; nil uses the server's `--retention-days` (none: kept forever).
    package var retentionDays: Int64?

    /// The project input/output policy (docs/PRIVACY.md, "Input and output").
    package enum IOPolicy: String, Sendable, CaseIterable {
        /// Stored as sent.
        case full
        /// Emails, phone numbers, card numbers, IP addresses and API-key-like tokens are replaced
        /// by typed placeholders (`PIIMasker`).
        case masked
        /// Only each value's length and SHA-256 are stored.
        case metadataOnly = "metadata-only"
    }

    /// The keys `projects.settings` may hold, in the order they are shown.
    package static let keys = ["inactivityTimeoutSeconds", "contextWindows", "hashUserIds", "ioPolicy", "retentionDays"]

    package init() {}

    /// Reads the stored JSON text; anything unreadable counts as not set.
    package init(json text: String?) {
        guard let text, let value = try? JSONParser.parse(text) else {
            self.init()
            return
        }
        self.init(value)
    }

    /// Reads a settings object; members that are not valid settings count as not set. A number
    /// past its `ValueBounds` range (stored by a version that did not check it) counts as the
    /// bound, and context windows past the count or name bounds are left out, so no stored
    /// setting can make a sweeper's arithmetic trap or a turn's model lookup unbounded.
    package init(_ value: JSONValue) {
        func clamped(_ number: Int64?, _ bounds: ClosedRange<Int64>) -> Int64? {
            guard let number, number > 0 else { return nil }
            return min(number, bounds.upperBound)
        }
        inactivityTimeoutSeconds = clamped(value["inactivityTimeoutSeconds"]?.intValue, ValueBounds.inactivityTimeoutSeconds)
        for (model, size) in value["contextWindows"]?.objectValue ?? [] {
            guard contextWindows.count < ValueBounds.contextWindowEntries, Self.isModelName(model) else { continue }
            if let tokens = clamped(size.intValue, ValueBounds.contextWindowTokens) { contextWindows[model] = tokens }
        }
        hashUserIds = value["hashUserIds"]?.boolValue
        ioPolicy = value["ioPolicy"]?.stringValue.flatMap(IOPolicy.init(rawValue:))
        retentionDays = clamped(value["retentionDays"]?.intValue, ValueBounds.retentionDays)
    }

    static func isModelName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= ValueBounds.modelNameBytes
    }

    /// A change to setting `key` as PATCH and `parley projects set` take it: the value to store,
    /// nil for `null` (back to the server's default), or the reason it is refused.
    package static func validatedChange(_ key: String, _ value: JSONValue) -> Result<JSONValue?, SettingError> {
        if value.isNull { return .success(nil) }
        func whole(_ bounds: ClosedRange<Int64>) -> Result<JSONValue?, SettingError> {
            guard let number = value.intValue, bounds.contains(number) else {
                return .failure(SettingError(
                    "\(key) must be an integer from \(bounds.lowerBound) to \(bounds.upperBound), or null"))
            }
            return .success(JSONValue(Int(number)))
        }
        switch key {
        case "inactivityTimeoutSeconds":
            return whole(ValueBounds.inactivityTimeoutSeconds)
        case "retentionDays":
            return whole(ValueBounds.retentionDays)
        case "hashUserIds":
            guard value.boolValue != nil else { return .failure(SettingError("hashUserIds must be true, false or null")) }
            return .success(value)
        case "ioPolicy":
            guard let text = value.stringValue, IOPolicy(rawValue: text) != nil else {
                let options = IOPolicy.allCases.map(\.rawValue).joined(separator: ", ")
                return .failure(SettingError("ioPolicy must be one of \(options), or null"))
            }
            return .success(value)
        case "contextWindows":
            let tokens = ValueBounds.contextWindowTokens
            guard let windows = value.objectValue, windows.count <= ValueBounds.contextWindowEntries,
                  windows.allSatisfy({ isModelName($0.0) && $0.1.intValue.map(tokens.contains) == true }) else {
                return .failure(SettingError(
                    "contextWindows must map at most \(ValueBounds.contextWindowEntries) model names of 1 to "
                    + "\(ValueBounds.modelNameBytes) bytes to token counts from \(tokens.lowerBound) to \(tokens.upperBound), or be null"))
            }
            return .success(windows.isEmpty ? nil : value)
        default:
            return .failure(SettingError("unknown setting \(key); settings are \(keys.joined(separator: ", "))"))
        }
    }

    /// Why a settings change was refused.
    package struct SettingError: Error, Equatable, Sendable {
        package let message: String
        init(_ message: String) { self.message = message }
    }

    package var windows: ContextWindows { ContextWindows(overrides: contextWindows) }

    /// The overrides as a JSON object, by model name.
    var contextWindowsJSON: JSONValue {
        .object(contextWindows.sorted { $0.key < $1.key }.map { ($0.key, JSONValue(Int($0.value))) })
    }

    /// The inactivity timeout in milliseconds: the project's own, else `defaultMs`.
    package func inactivityTimeoutMs(default defaultMs: Int64) -> Int64 {
        inactivityTimeoutSeconds.map { $0.multipliedSaturating(by: 1000) } ?? defaultMs
    }

    /// The time before which data expires at `now` (ms since the epoch): the project's
    /// retention, else `defaultDays`; nil when data is kept forever. Saturating, so no stored or
    /// configured value can make it trap.
    package func retentionCutoff(now: Int64, defaultDays: Int64?) -> Int64? {
        guard let days = retentionDays ?? defaultDays else { return nil }
        return now.subtractingSaturating(days.multipliedSaturating(by: 86_400_000))
    }

    /// The settings as stored (only the keys that are set).
    package var json: JSONValue {
        var members: [(String, JSONValue)] = []
        if let inactivityTimeoutSeconds { members.append(("inactivityTimeoutSeconds", JSONValue(Int(inactivityTimeoutSeconds)))) }
        if !contextWindows.isEmpty { members.append(("contextWindows", contextWindowsJSON)) }
        if let hashUserIds { members.append(("hashUserIds", .bool(hashUserIds))) }
        if let ioPolicy { members.append(("ioPolicy", .string(ioPolicy.rawValue))) }
        if let retentionDays { members.append(("retentionDays", JSONValue(Int(retentionDays)))) }
        return .object(members)
    }
}

/// The server-wide defaults that apply to every project that has not set its own value
/// (`parley serve` flags, docs/CONFIGURATION.md).
package struct ProjectDefaults: Sendable, Equatable {
    package var inactivityTimeoutSeconds: Int64
    package var hashUserIds: Bool
    package var ioPolicy: ProjectSettings.IOPolicy
    /// nil keeps data forever.
    package var retentionDays: Int64?

    package init(inactivityTimeoutSeconds: Int64 = 1800, hashUserIds: Bool = true,
                ioPolicy: ProjectSettings.IOPolicy = .full, retentionDays: Int64? = nil) {
        self.inactivityTimeoutSeconds = inactivityTimeoutSeconds
        self.hashUserIds = hashUserIds
        self.ioPolicy = ioPolicy
        self.retentionDays = retentionDays
    }
}

extension ProjectSettings {
    /// Every setting with the defaults filled in: what is in force for the project.
    package func effective(_ defaults: ProjectDefaults) -> JSONValue {
        .object([
            ("inactivityTimeoutSeconds", JSONValue(Int(inactivityTimeoutSeconds ?? defaults.inactivityTimeoutSeconds))),
            ("contextWindows", contextWindowsJSON),
            ("hashUserIds", .bool(hashUserIds ?? defaults.hashUserIds)),
            ("ioPolicy", .string((ioPolicy ?? defaults.ioPolicy).rawValue)),
            ("retentionDays", (retentionDays ?? defaults.retentionDays).map { JSONValue(Int($0)) } ?? .null),
        ])
    }
}
