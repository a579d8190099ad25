/// The per-project options kept as JSON in `projects.settings` (docs/CONFIGURATION.md,
/// "Project settings"). Unknown keys are kept as they are, so an older binary does not drop
/// settings a newer one wrote.
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
}
