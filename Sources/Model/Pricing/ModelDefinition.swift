/// A model's prices: what `GET /api/public/models` shows and what cost inference reads
/// (langfuse-openapi.yml, `Model`). Built-in definitions come from Langfuse's published table
/// (`PriceData`); a project adds its own with `POST /api/public/models` or `parley models add`.
package struct ModelDefinition: Sendable, Equatable {
    package var id: String
    package var modelName: String
    /// Matched against an observation's `model` (`SafePattern`: a search, usually anchored).
    package var pattern: SafePattern
    /// Applies only to observations that start at or after this time (ms), when set.
    package var startDateMillis: Int64?
    package var unit: String?
    package var tokenizerID: String?
    package var tokenizerConfig: JSONValue?
    /// True for the built-in table's definitions, which cannot be deleted (only overridden).
    package var isLangfuseManaged: Bool
    package var createdAtMillis: Int64
    /// The default tier first, then the others by ascending priority.
    package var tiers: [PricingTier]

    package var matchPattern: String { pattern.source }

    /// The default tier (validation guarantees one).
    package var defaultTier: PricingTier? { tiers.first { $0.isDefault } }

    /// The definition in the `Model` shape of Langfuse's API (also how it is stored).
    package var json: JSONValue {
        let prices = defaultTier?.prices ?? []
        func price(_ key: String) -> JSONValue {
            prices.first { $0.0 == key }.map { JSONValue($0.1) } ?? .null
        }
        return .object([
            ("id", .string(id)), ("modelName", .string(modelName)), ("matchPattern", .string(matchPattern)),
            ("startDate", startDateMillis.map { .string(Timestamp.iso8601(millis: $0)) } ?? .null),
            ("unit", unit.map(JSONValue.string) ?? .null),
            ("inputPrice", price("input")), ("outputPrice", price("output")), ("totalPrice", price("total")),
            ("tokenizerId", tokenizerID.map(JSONValue.string) ?? .null),
            ("tokenizerConfig", tokenizerConfig ?? .null),
            ("isLangfuseManaged", .bool(isLangfuseManaged)),
            ("createdAt", .string(Timestamp.iso8601(millis: createdAtMillis))),
            ("prices", .object(prices.map { ($0.0, .object([("price", JSONValue($0.1))])) })),
            ("pricingTiers", .array(tiers.map(\.json))),
        ])
    }
}

/// One pricing tier: its prices apply when all its conditions hold (the default tier has none).
package struct PricingTier: Sendable, Equatable {
    package var id: String
    package var name: String
    package var isDefault: Bool
    package var priority: Int
    package var conditions: [PricingCondition]
    /// USD per unit, by usage type (`input`, `output`, `input_cached_tokens`, …), in the order given.
    package var prices: [(String, Double)]

    package static func == (lhs: PricingTier, rhs: PricingTier) -> Bool {
        lhs.id == rhs.id && lhs.name == rhs.name && lhs.isDefault == rhs.isDefault && lhs.priority == rhs.priority
            && lhs.conditions == rhs.conditions && lhs.prices.elementsEqual(rhs.prices) { $0.0 == $1.0 && $0.1 == $1.1 }
    }

    package func price(_ usageType: String) -> Double? {
        prices.first { $0.0 == usageType }?.1
    }

    var json: JSONValue {
        .object([
            ("id", .string(id)), ("name", .string(name)), ("isDefault", .bool(isDefault)),
            ("priority", JSONValue(priority)), ("conditions", .array(conditions.map(\.json))),
            ("prices", .object(prices.map { ($0.0, JSONValue($0.1)) })),
        ])
    }
}

/// When a tier applies (langfuse-openapi.yml, `PricingTierCondition`).
package enum PricingCondition: Sendable, Equatable {
    /// The sum of the usage details whose key matches `pattern`, compared with `value`.
    case usage(pattern: SafePattern, comparison: Comparison, value: Double, caseSensitive: Bool)
    /// A top-level key of the observation's model parameters or metadata whose value is one of `values`.
    case attribute(source: AttributeSource, key: String, values: [String])

    package enum Comparison: String, Sendable, CaseIterable {
        case gt, gte, lt, lte, eq, neq

        func holds(_ lhs: Double, _ rhs: Double) -> Bool {
            switch self {
            case .gt: lhs > rhs
            case .gte: lhs >= rhs
            case .lt: lhs < rhs
            case .lte: lhs <= rhs
            case .eq: lhs == rhs
            case .neq: lhs != rhs
            }
        }
    }

    package enum AttributeSource: String, Sendable, CaseIterable {
        case modelParameters = "model_parameters"
        case metadata
    }

    var json: JSONValue {
        switch self {
        case let .usage(pattern, comparison, value, caseSensitive):
            .object([("usageDetailPattern", .string(pattern.source)), ("operator", .string(comparison.rawValue)),
                     ("value", JSONValue(value)), ("caseSensitive", .bool(caseSensitive))])
        case let .attribute(source, key, values):
            .object([("source", .string(source.rawValue)), ("key", .string(key)), ("operator", .string("in")),
                     ("values", .array(values.map(JSONValue.string)))])
        }
    }
}
