/// Cost from usage and model prices, for observations whose client sent no cost
/// (docs/DATA_MODEL.md, "Model prices and cost inference"; Langfuse's worker does the same).
///
/// A pure function of the folded observation and the price table, applied in one place of the
/// write path (`IngestionStore`) after the merge, so re-folding an observation gives the same
/// row whatever the order of its events:
///
/// * a client's cost always wins: when the fold found any (`costDetails`, the legacy
///   `usage.*Cost`, OTLP `gen_ai.usage.cost` / `llm.cost.total` / `operation.cost`), the
///   observation keeps it and `costSource` is `given`;
/// * otherwise, when its model matches a definition (`PriceResolver`), the tier is chosen (the
///   first conditional tier by priority whose conditions all hold, else the default) and each
///   usage type with a price costs `units × price`, rounded to 12 decimal places (Langfuse
///   stores Decimal(·, 12)); `total` is their sum unless `total` itself is priced; `costSource`
///   is `inferred`;
/// * every cost is capped at `ValueBounds.maxCost`, like a sent one.
package enum CostInference {
    /// `record` with its cost source, matched model and tier, and an inferred cost when it had none.
    package static func apply(_ record: ObservationRecord, prices: PriceResolver) -> ObservationRecord {
        var record = record
        let priced = price(Observation(model: record.model, startMillis: record.startTimeMillis, usageDetails: record.usageDetails,
                                       costDetails: record.costDetails, modelParameters: record.modelParameters,
                                       metadata: record.metadata), prices: prices)
        record.costDetails = priced.costDetails
        record.totalCost = priced.totalCost ?? record.totalCost
        record.costSource = priced.costSource
        record.internalModelID = priced.internalModelID
        record.pricingTierName = priced.pricingTierName
        return record
    }

    /// What pricing reads of an observation (its stored columns).
    package struct Observation: Sendable {
        package var model: String?
        package var startMillis: Int64
        /// JSON text, as stored.
        package var usageDetails: String?
        /// The client's cost as JSON text, or nil when it sent none.
        package var costDetails: String?
        package var modelParameters: String?
        package var metadata: String?

        package init(model: String?, startMillis: Int64, usageDetails: String?, costDetails: String?,
                    modelParameters: String?, metadata: String?) {
            (self.model, self.startMillis, self.usageDetails, self.costDetails) = (model, startMillis, usageDetails, costDetails)
            (self.modelParameters, self.metadata) = (modelParameters, metadata)
        }
    }

    /// An observation's cost columns.
    package struct Priced: Sendable, Equatable {
        package var costDetails: String?
        /// Set when inferred; a given cost keeps the fold's total.
        package var totalCost: Double?
        package var costSource: String?
        package var internalModelID: String?
        package var pricingTierName: String?

        package init(costDetails: String?, totalCost: Double?, costSource: String?, internalModelID: String? = nil,
                    pricingTierName: String? = nil) {
            (self.costDetails, self.totalCost, self.costSource) = (costDetails, totalCost, costSource)
            (self.internalModelID, self.pricingTierName) = (internalModelID, pricingTierName)
        }
    }

    /// The cost columns of `observation` with today's `prices`.
    package static func price(_ observation: Observation, prices: PriceResolver) -> Priced {
        var priced = Priced(costDetails: observation.costDetails, totalCost: nil,
                            costSource: observation.costDetails != nil ? CostSource.given : nil)
        guard let model = observation.model,
              let definition = prices.definition(for: model, startMillis: observation.startMillis) else { return priced }
        priced.internalModelID = definition.id
        guard observation.costDetails == nil, let usageText = observation.usageDetails,
              let usage = (try? JSONParser.parse(usageText))?.objectValue else { return priced }
        let units: [(String, Int64)] = usage.compactMap { key, value in value.intValue.map { (key, $0) } }
        guard let tier = tier(of: definition, usage: units, observation: observation) else { return priced }
        var costs: [(String, Double)] = []
        for (usageType, count) in units {
            guard let price = tier.price(usageType) else { continue }
            costs.append((usageType, rounded(price * Double(count))))
        }
        guard !costs.isEmpty else { return priced }
        if !costs.contains(where: { $0.0 == "total" }) {
            costs.append(("total", rounded(costs.reduce(0) { $0 + $1.1 })))
        }
        priced.pricingTierName = tier.name
        priced.costDetails = JSONValue.object(costs.map { ($0.0, JSONValue($0.1)) }).jsonText
        priced.totalCost = costs.first { $0.0 == "total" }?.1
        priced.costSource = CostSource.inferred
        return priced
    }

    /// The tier whose conditions hold for this observation: conditional tiers by ascending
    /// priority, then the default one.
    static func tier(of definition: ModelDefinition, usage: [(String, Int64)], observation: Observation) -> PricingTier? {
        var parameters: JSONValue??
        var metadata: JSONValue??
        func attribute(_ source: PricingCondition.AttributeSource, _ key: String) -> JSONValue? {
            switch source {
            case .modelParameters:
                if parameters == nil { parameters = .some(observation.modelParameters.flatMap { try? JSONParser.parse($0) }) }
                return parameters??[key]
            case .metadata:
                if metadata == nil { metadata = .some(observation.metadata.flatMap { try? JSONParser.parse($0) }) }
                return metadata??[key]
            }
        }
        for tier in definition.tiers where !tier.isDefault {
            let holds = tier.conditions.allSatisfy { condition in
                switch condition {
                case let .usage(pattern, comparison, value, _):
                    let sum = usage.reduce(Int64(0)) { total, entry in
                        pattern.matches(entry.0) ? total.addingSaturating(entry.1) : total
                    }
                    return comparison.holds(Double(sum), value)
                case let .attribute(source, key, values):
                    guard let found = attribute(source, key) else { return false }
                    let text = found.stringValue ?? Merge.scalarText(found)
                    return text.map(values.contains) ?? false
                }
            }
            if holds { return tier }
        }
        return definition.defaultTier
    }

    /// USD to 12 decimal places, within 0…`ValueBounds.maxCost`.
    static func rounded(_ cost: Double) -> Double {
        guard cost.isFinite, cost > 0 else { return 0 }
        guard cost < ValueBounds.maxCost else { return ValueBounds.maxCost }
        return (cost * 1e12).rounded() / 1e12
    }
}

/// Where an observation's cost came from.
package enum CostSource {
    /// The client sent it.
    package static let given = "given"
    /// Parley computed it from usage and model prices.
    package static let inferred = "inferred"
}
