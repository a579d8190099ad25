/// Context-window sizes, in tokens, of common models: the denominator of a turn's context use
/// when the app did not send `conversation.context_limit` (docs/ANALYTICS.md, "Context window").
///
/// A model name matches the longest known prefix after any provider prefix is removed
/// (`openai/gpt-4o-2024-08-06` → `gpt-4o`, `anthropic.claude-3-5-sonnet-20240620-v1:0` →
/// `claude-3-5-sonnet`). A project's `contextWindows` setting adds names or overrides sizes,
/// and is matched the same way, before the built-in table.
package struct ContextWindows: Sendable, Equatable {
    /// Built-in sizes, from the providers' model pages (input + output window).
    package static let builtIn: [String: Int64] = [
        "gpt-3.5-turbo": 16_385, "gpt-4": 8_192, "gpt-4-32k": 32_768, "gpt-4-turbo": 128_000,
        "gpt-4o": 128_000, "gpt-4o-mini": 128_000, "gpt-4.1": 1_047_576, "gpt-4.1-mini": 1_047_576,
        "gpt-4.1-nano": 1_047_576, "gpt-4.5": 128_000, "gpt-5": 400_000, "gpt-5-mini": 400_000, "gpt-5-nano": 400_000,
        "o1": 200_000, "o1-mini": 128_000, "o3": 200_000, "o3-mini": 200_000, "o4-mini": 200_000,
        "claude-2": 100_000, "claude-3": 200_000, "claude-3-5": 200_000, "claude-3-7": 200_000,
        "claude-sonnet-4": 200_000, "claude-opus-4": 200_000, "claude-haiku-4": 200_000,
        "gemini-1.5-pro": 2_097_152, "gemini-1.5-flash": 1_048_576, "gemini-2.0-flash": 1_048_576,
        "gemini-2.5-pro": 1_048_576, "gemini-2.5-flash": 1_048_576,
        "llama-3": 8_192, "llama-3.1": 128_000, "llama-3.2": 128_000, "llama-3.3": 128_000, "llama-4": 1_000_000,
        "meta-llama-3.1": 128_000, "mistral-large": 128_000, "mistral-small": 32_000, "mixtral-8x7b": 32_768,
        "command-r": 128_000, "deepseek-chat": 64_000, "deepseek-reasoner": 64_000, "qwen2.5": 32_768,
    ]

    private let overrides: [String: Int64]

    package init(overrides: [String: Int64] = [:]) {
        var lowered: [String: Int64] = [:]
        for (name, size) in overrides where size > 0 { lowered[name.lowercased()] = size }
        self.overrides = lowered
    }

    /// The window of `model`, or nil for a model neither table knows.
    package func window(for model: String?) -> Int64? {
        guard let model, !model.isEmpty else { return nil }
        let name = Self.bareName(model)
        return Self.longestPrefix(of: name, in: overrides) ?? Self.longestPrefix(of: model.lowercased(), in: overrides)
            ?? Self.longestPrefix(of: name, in: Self.builtIn)
    }

    /// Lowercased, without a `provider/` path or a Bedrock-style `vendor.` prefix.
    static func bareName(_ model: String) -> String {
        var name = Substring(model.lowercased())
        if let slash = name.lastIndex(of: "/") { name = name[name.index(after: slash)...] }
        for vendor in ["anthropic.", "meta.", "mistral.", "cohere.", "amazon.", "us.anthropic.", "eu.anthropic."]
        where name.hasPrefix(vendor) {
            name = name.dropFirst(vendor.count)
            break
        }
        return String(name)
    }

    /// The entry whose key is the longest prefix of `name` ending at a name boundary (the end,
    /// or `-`, `_`, `:`, `@`, or a `.` after a non-digit), so `gpt-4o-2024-08-06` finds `gpt-4o`
    /// and `gpt-4.1-mini` finds `gpt-4.1-mini`, never `gpt-4`.
    static func longestPrefix(of name: String, in table: [String: Int64]) -> Int64? {
        var best: (length: Int, size: Int64)?
        for (key, size) in table where name.hasPrefix(key) {
            let rest = name.utf8.dropFirst(key.utf8.count)
            guard let next = rest.first else {
                if best == nil || key.utf8.count > best!.length { best = (key.utf8.count, size) }
                continue
            }
            // A key must end at a separator: "gpt-4" is not a prefix of "gpt-4o".
            guard next == UInt8(ascii: "-") || next == UInt8(ascii: ":") || next == UInt8(ascii: "@")
                || next == UInt8(ascii: "_") || (next == UInt8(ascii: ".") && !key.utf8.last!.isDigit) else { continue }
            if best == nil || key.utf8.count > best!.length { best = (key.utf8.count, size) }
        }
        return best?.size
    }
}

extension UInt8 {
    fileprivate var isDigit: Bool { self >= UInt8(ascii: "0") && self <= UInt8(ascii: "9") }
}
