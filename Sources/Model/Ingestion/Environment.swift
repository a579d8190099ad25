/// Environment normalisation as Langfuse does it (langfuse-api.md §3.6): lower-cased, every
/// leading `langfuse`, `langfuse-`, `langfuse_` stripped, cut to 40 characters, and anything
/// outside `[a-z0-9-_]` replaced by `default`. Never an error.
package enum EnvironmentName {
    package static let fallback = "default"

    package static func normalise(_ raw: String?) -> String {
        guard let raw else { return fallback }
        var name = Substring(raw.lowercased())
        while name.hasPrefix("langfuse") {
            name = name.dropFirst("langfuse".count)
            if name.hasPrefix("-") || name.hasPrefix("_") { name = name.dropFirst() }
        }
        let cut = String(name.prefix(40))
        guard !cut.isEmpty, cut.utf8.allSatisfy({
            ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
                || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_")
        }) else { return fallback }
        return cut
    }
}
