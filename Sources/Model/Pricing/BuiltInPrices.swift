import PriceData

/// The built-in model definitions: Langfuse's published price table (`PriceData`), parsed once.
package enum BuiltInPrices {
    /// Every definition of the table, in its order. An entry the table holds but Parley cannot
    /// read (a pattern outside `SafePattern`'s subset) is left out; `skipped` names them, and a
    /// test keeps that list empty.
    package static var definitions: [ModelDefinition] { loaded.definitions }

    /// Entries of the table that could not be read, with the reason.
    package static var skipped: [String] { loaded.skipped }

    private static let loaded = load()

    /// The table's source and licence.
    package static var notice: String { PriceDataFiles.notice }

    private static func load() -> (definitions: [ModelDefinition], skipped: [String]) {
        guard let entries = (try? JSONParser.parse(PriceDataFiles.defaultModelPrices))?.arrayValue else {
            return ([], ["the table is not a JSON array"])
        }
        var definitions: [ModelDefinition] = []
        var skipped: [String] = []
        for entry in entries {
            do {
                definitions.append(try ModelDefinition.decode(entry, managed: true))
            } catch {
                skipped.append("\(entry["modelName"]?.stringValue ?? "?"): \(error.message)")
            }
        }
        return (definitions, skipped)
    }
}
