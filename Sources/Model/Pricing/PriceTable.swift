/// The model definitions that price one project's observations: its own, then the built-in
/// table. Which definition prices a model name follows Langfuse (`Model.modelName`'s rule):
/// among those whose pattern matches, (1) the project's own before built-in ones, (2) the newest
/// `startDate` not after the observation's start (definitions without one last).
package struct PriceTable: Sendable {
    /// The project's definitions, newest first.
    package let custom: [ModelDefinition]
    /// The built-in ones, in the table's order.
    package let builtIn: [ModelDefinition]

    package init(custom: [ModelDefinition], builtIn: [ModelDefinition]) {
        self.custom = custom
        self.builtIn = builtIn
    }

    /// Every definition whose pattern matches `model`, in the order they are tried.
    ///
    /// The project's own patterns share `ValueBounds.patternStepsPerName` automaton steps per
    /// name: a project whose patterns cost more than that for a name (only adversarial ones do;
    /// an anchored pattern that fails on the first characters costs a few steps) gets no price
    /// for it, rather than a stalled writer. The built-in table's patterns are trusted.
    package func candidates(for model: String) -> [ModelDefinition] {
        let scalars = Array(model.unicodeScalars).map(\.value)
        guard !scalars.isEmpty, scalars.count <= ValueBounds.pricedModelNameLength else { return [] }
        func ordered(_ list: [ModelDefinition]) -> [ModelDefinition] {
            // Stable: equal start dates keep the list's order (newest custom first, table order).
            list.enumerated().sorted { a, b in
                let (x, y) = (a.element.startDateMillis, b.element.startDateMillis)
                if x != y { return (x ?? .min) > (y ?? .min) }
                return a.offset < b.offset
            }.map(\.element)
        }
        var budget = ValueBounds.patternStepsPerName
        var matched: [ModelDefinition] = []
        for definition in custom {
            guard let found = definition.pattern.matches(scalars, budget: &budget) else { return [] }
            if found { matched.append(definition) }
        }
        return ordered(matched) + ordered(builtIn.filter { $0.pattern.matches(scalars) })
    }

    /// The definition that prices an observation of `candidates`' model starting at `startMillis`.
    package static func select(_ candidates: [ModelDefinition], startMillis: Int64) -> ModelDefinition? {
        candidates.first { ($0.startDateMillis ?? .min) <= startMillis }
    }
}

/// A price table with the answer for each model name kept, so each name is matched against the
/// patterns once (`maxCachedNames` names, then the cache starts over). One per writer
/// connection: not thread-safe.
package final class PriceResolver {
    package let table: PriceTable
    private var cache: [String: [ModelDefinition]] = [:]
    /// Distinct model names remembered before the cache is cleared.
    package static let maxCachedNames = 10_000

    package init(table: PriceTable) {
        self.table = table
    }

    /// The definition pricing `model` for an observation starting at `startMillis`, or nil.
    package func definition(for model: String, startMillis: Int64) -> ModelDefinition? {
        if let cached = cache[model] { return PriceTable.select(cached, startMillis: startMillis) }
        let candidates = table.candidates(for: model)
        if cache.count >= Self.maxCachedNames { cache.removeAll(keepingCapacity: true) }
        cache[model] = candidates
        return PriceTable.select(candidates, startMillis: startMillis)
    }
}
