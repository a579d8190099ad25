/// The per-project options kept as JSON in `projects.settings` (docs/CONFIGURATION.md,
/// "Project settings"). `ProjectSettingsStore.update` changes single keys and keeps the others,
/// so an older binary does not drop settings a newer one wrote.
public struct ProjectSettings: Sendable, Equatable {
    /// Seconds without activity after which the sweeper times a session out; nil uses the
    /// server's `--inactivity-timeout`.
    public var inactivityTimeoutSeconds: Int64?
    /// Model name (prefix) → context window in tokens, before the built-in table.
    public var contextWindows: [String: Int64] = [:]

    public init() {}

    /// Reads the stored JSON text; anything unreadable counts as not set.
    public init(json text: String?) {
        self.init()
        guard let text, let value = try? JSONParser.parse(text) else { return }
        if let seconds = value["inactivityTimeoutSeconds"]?.intValue, seconds > 0 { inactivityTimeoutSeconds = seconds }
        for (model, size) in value["contextWindows"]?.objectValue ?? [] {
            if let tokens = size.intValue, tokens > 0 { contextWindows[model] = tokens }
        }
    }

    public var windows: ContextWindows { ContextWindows(overrides: contextWindows) }

    /// The inactivity timeout in milliseconds: the project's own, else `defaultMs`.
    public func inactivityTimeoutMs(default defaultMs: Int64) -> Int64 {
        inactivityTimeoutSeconds.map { $0 * 1000 } ?? defaultMs
    }
}
