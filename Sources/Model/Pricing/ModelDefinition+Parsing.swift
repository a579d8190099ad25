/// Reading model definitions: a client's `CreateModelRequest` (validated against
/// `ValueBounds`, every problem a `ModelDefinitionError` with the field it concerns) and the
/// stored or built-in `Model` shape.
package struct ModelDefinitionError: Error, Equatable, CustomStringConvertible {
    package let message: String
    package var description: String { message }
    init(_ message: String) { self.message = message }
}

extension ModelDefinition {
    /// A new random model id: `m` and 24 hex digits.
    package static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = (0..<3).map { _ in
            let word = String(generator.next() & 0xFFFF_FFFF, radix: 16)
            return String(repeating: "0", count: 8 - word.count) + word
        }
        return "m" + digits.joined()
    }

    /// The usage units Langfuse's API names (`ModelUsageUnit`).
    package static let units: Set<String> = ["CHARACTERS", "TOKENS", "MILLISECONDS", "SECONDS", "IMAGES", "REQUESTS"]

    /// A new project model from `POST /api/public/models`'s body (`CreateModelRequest`).
    /// Flat prices (`inputPrice`, `outputPrice`, `totalPrice`) become a default tier named
    /// "Standard", as in Langfuse; `pricingTiers` are checked against its rules (one default
    /// tier with priority 0 and no conditions, unique names and priorities, a price each).
    package static func create(request body: JSONValue, id: String, createdAtMillis: Int64) throws(ModelDefinitionError) -> ModelDefinition {
        guard body.objectValue != nil else { throw ModelDefinitionError("the body must be a JSON object") }
        let modelName = try requiredName(body["modelName"], field: "modelName")
        guard let patternText = body["matchPattern"]?.stringValue, !patternText.isEmpty else {
            throw ModelDefinitionError("matchPattern is required (a regular expression, e.g. \"(?i)^my-model$\")")
        }
        let pattern = try compile(patternText, field: "matchPattern", caseInsensitive: false)
        var definition = ModelDefinition(
            id: id, modelName: modelName, pattern: pattern, startDateMillis: nil, unit: nil, tokenizerID: nil,
            tokenizerConfig: nil, isLangfuseManaged: false, createdAtMillis: createdAtMillis, tiers: [])
        if let value = body["startDate"], !value.isNull {
            guard let text = value.stringValue, let millis = Timestamp.parseMillis(text) else {
                throw ModelDefinitionError("startDate must be an ISO 8601 date-time")
            }
            definition.startDateMillis = millis
        }
        if let value = body["unit"], !value.isNull {
            guard let unit = value.stringValue, units.contains(unit) else {
                throw ModelDefinitionError("unit must be one of \(units.sorted().joined(separator: ", "))")
            }
            definition.unit = unit
        }
        if let value = body["tokenizerId"], !value.isNull {
            guard let text = value.stringValue, text.utf8.count <= ValueBounds.modelNameBytes else {
                throw ModelDefinitionError("tokenizerId must be a string of at most \(ValueBounds.modelNameBytes) bytes")
            }
            definition.tokenizerID = text
        }
        if let value = body["tokenizerConfig"], !value.isNull { definition.tokenizerConfig = value }

        var flat: [(String, Double)] = []
        for (field, usageType) in [("inputPrice", "input"), ("outputPrice", "output"), ("totalPrice", "total")] {
            guard let value = body[field], !value.isNull else { continue }
            flat.append((usageType, try price(value, field: field)))
        }
        let tiers = body["pricingTiers"].flatMap { $0.isNull ? nil : $0 }
        if let tiers {
            guard flat.isEmpty else {
                throw ModelDefinitionError("pricingTiers cannot be combined with inputPrice, outputPrice or totalPrice")
            }
            guard let list = tiers.arrayValue else { throw ModelDefinitionError("pricingTiers must be an array") }
            definition.tiers = try parseTiers(list, modelID: id, generateIDs: true)
        } else {
            if flat.contains(where: { $0.0 == "total" }) && flat.count > 1 {
                throw ModelDefinitionError("totalPrice cannot be set together with inputPrice or outputPrice")
            }
            guard !flat.isEmpty else {
                throw ModelDefinitionError("give prices: pricingTiers, or inputPrice/outputPrice, or totalPrice")
            }
            definition.tiers = [PricingTier(id: "\(id)_tier_default", name: "Standard", isDefault: true, priority: 0,
                                            conditions: [], prices: flat)]
        }
        return definition
    }

    /// A definition in the `Model` shape (`json`): a stored project model, or an entry of the
    /// built-in table (`managed`).
    package static func decode(_ value: JSONValue, managed: Bool) throws(ModelDefinitionError) -> ModelDefinition {
        guard let id = value["id"]?.stringValue, let modelName = value["modelName"]?.stringValue,
              let patternText = value["matchPattern"]?.stringValue else {
            throw ModelDefinitionError("a model needs id, modelName and matchPattern")
        }
        let created = value["createdAt"]?.stringValue.flatMap(Timestamp.parseMillis) ?? 0
        let start = value["startDate"]?.stringValue.flatMap(Timestamp.parseMillis)
        var tiers = try parseTiers(value["pricingTiers"]?.arrayValue ?? [], modelID: id, generateIDs: false)
        if tiers.isEmpty {
            // A model written with flat prices only (older Langfuse exports).
            let flat = [("input", "inputPrice"), ("output", "outputPrice"), ("total", "totalPrice")].compactMap { key, field in
                value[field]?.doubleValue.map { (key, $0) }
            }
            if !flat.isEmpty {
                tiers = [PricingTier(id: "\(id)_tier_default", name: "Standard", isDefault: true, priority: 0, conditions: [], prices: flat)]
            }
        }
        return ModelDefinition(
            id: id, modelName: modelName, pattern: try compile(patternText, field: "matchPattern", caseInsensitive: false),
            startDateMillis: start, unit: value["unit"]?.stringValue, tokenizerID: value["tokenizerId"]?.stringValue,
            tokenizerConfig: value["tokenizerConfig"].flatMap { $0.isNull ? nil : $0 }, isLangfuseManaged: managed,
            createdAtMillis: created, tiers: tiers)
    }

    // MARK: Parts

    static func requiredName(_ value: JSONValue?, field: String) throws(ModelDefinitionError) -> String {
        guard let text = value?.stringValue, !text.isEmpty, text.utf8.count <= ValueBounds.modelNameBytes, !text.utf8.contains(0) else {
            throw ModelDefinitionError("\(field) must be a string of 1 to \(ValueBounds.modelNameBytes) bytes")
        }
        return text
    }

    static func compile(_ text: String, field: String, caseInsensitive: Bool) throws(ModelDefinitionError) -> SafePattern {
        do {
            return try SafePattern(text, caseInsensitive: caseInsensitive)
        } catch {
            throw ModelDefinitionError("\(field) is not a supported regular expression: \(error.message) (docs/DATA_MODEL.md, \"Model prices\", lists the subset)")
        }
    }

    static func price(_ value: JSONValue, field: String) throws(ModelDefinitionError) -> Double {
        guard let number = value.doubleValue, number.isFinite, (0...ValueBounds.maxUnitPrice).contains(number) else {
            throw ModelDefinitionError("\(field) must be a number from 0 to \(Int(ValueBounds.maxUnitPrice)) (USD per unit)")
        }
        return number
    }

    static func parseTiers(_ list: [JSONValue], modelID: String, generateIDs: Bool) throws(ModelDefinitionError) -> [PricingTier] {
        guard list.count <= ValueBounds.pricingTiersPerModel else {
            throw ModelDefinitionError("a model has at most \(ValueBounds.pricingTiersPerModel) pricing tiers")
        }
        guard !list.isEmpty || !generateIDs else { throw ModelDefinitionError("pricingTiers must not be empty") }
        var tiers: [PricingTier] = []
        for (index, item) in list.enumerated() {
            let field = "pricingTiers[\(index)]"
            guard item.objectValue != nil else { throw ModelDefinitionError("\(field) must be an object") }
            let name = try requiredName(item["name"], field: "\(field).name")
            guard let isDefault = item["isDefault"]?.boolValue else { throw ModelDefinitionError("\(field).isDefault must be a boolean") }
            guard let priority = item["priority"]?.intValue, (0...Int64(ValueBounds.maxTierPriority)).contains(priority) else {
                throw ModelDefinitionError("\(field).priority must be an integer from 0 to \(ValueBounds.maxTierPriority)")
            }
            let conditionList = item["conditions"].flatMap { $0.isNull ? nil : $0 }
            guard let conditions = conditionList.map({ $0.arrayValue }) ?? [] else {
                throw ModelDefinitionError("\(field).conditions must be an array")
            }
            guard conditions.count <= ValueBounds.conditionsPerTier else {
                throw ModelDefinitionError("\(field) has more than \(ValueBounds.conditionsPerTier) conditions")
            }
            var parsedConditions: [PricingCondition] = []
            for (conditionIndex, condition) in conditions.enumerated() {
                parsedConditions.append(try parseCondition(condition, field: "\(field).conditions[\(conditionIndex)]"))
            }
            guard let priceMembers = item["prices"]?.objectValue, !priceMembers.isEmpty else {
                throw ModelDefinitionError("\(field).prices must be an object with at least one price")
            }
            guard priceMembers.count <= ValueBounds.pricesPerTier else {
                throw ModelDefinitionError("\(field).prices has more than \(ValueBounds.pricesPerTier) usage types")
            }
            var prices: [(String, Double)] = []
            for (usageType, value) in priceMembers {
                guard !usageType.isEmpty, usageType.utf8.count <= ValueBounds.modelNameBytes else {
                    throw ModelDefinitionError("\(field).prices keys must be 1 to \(ValueBounds.modelNameBytes) bytes")
                }
                prices.removeAll { $0.0 == usageType }
                prices.append((usageType, try price(value, field: "\(field).prices.\(usageType)")))
            }
            if isDefault && (priority != 0 || !parsedConditions.isEmpty) {
                throw ModelDefinitionError("\(field): the default tier must have priority 0 and no conditions")
            }
            if !isDefault && parsedConditions.isEmpty {
                throw ModelDefinitionError("\(field): a tier that is not the default needs at least one condition")
            }
            let id = generateIDs ? "\(modelID)_tier_\(index)" : (item["id"]?.stringValue ?? "\(modelID)_tier_\(index)")
            tiers.append(PricingTier(id: id, name: name, isDefault: isDefault, priority: Int(priority),
                                     conditions: parsedConditions, prices: prices))
        }
        guard tiers.isEmpty || tiers.filter(\.isDefault).count == 1 else {
            throw ModelDefinitionError("pricingTiers must hold exactly one default tier (isDefault true)")
        }
        guard Set(tiers.map(\.name)).count == tiers.count, Set(tiers.map(\.priority)).count == tiers.count else {
            throw ModelDefinitionError("pricing tier names and priorities must be unique within the model")
        }
        // Evaluation order: conditional tiers by ascending priority; the default one last.
        return tiers.sorted { ($0.isDefault ? 1 : 0, $0.priority) < ($1.isDefault ? 1 : 0, $1.priority) }
    }

    static func parseCondition(_ value: JSONValue, field: String) throws(ModelDefinitionError) -> PricingCondition {
        guard value.objectValue != nil else { throw ModelDefinitionError("\(field) must be an object") }
        if let patternValue = value["usageDetailPattern"] {
            guard let text = patternValue.stringValue, !text.isEmpty, text.unicodeScalars.count <= ValueBounds.usagePatternLength else {
                throw ModelDefinitionError("\(field).usageDetailPattern must be 1 to \(ValueBounds.usagePatternLength) characters")
            }
            guard let comparison = value["operator"]?.stringValue.flatMap(PricingCondition.Comparison.init(rawValue:)) else {
                throw ModelDefinitionError("\(field).operator must be one of gt, gte, lt, lte, eq, neq")
            }
            guard let threshold = value["value"]?.doubleValue, threshold.isFinite, abs(threshold) <= Double(ValueBounds.maxCount) else {
                throw ModelDefinitionError("\(field).value must be a finite number within ±\(ValueBounds.maxCount)")
            }
            let caseSensitive = value["caseSensitive"]?.boolValue ?? false
            let pattern = try compile(text, field: "\(field).usageDetailPattern", caseInsensitive: !caseSensitive)
            return .usage(pattern: pattern, comparison: comparison, value: threshold, caseSensitive: caseSensitive)
        }
        guard let source = value["source"]?.stringValue.flatMap(PricingCondition.AttributeSource.init(rawValue:)) else {
            throw ModelDefinitionError("\(field) needs usageDetailPattern, or source model_parameters or metadata")
        }
        let key = try requiredName(value["key"], field: "\(field).key")
        guard value["operator"]?.stringValue ?? "in" == "in" else { throw ModelDefinitionError("\(field).operator must be \"in\"") }
        guard let list = value["values"]?.arrayValue, !list.isEmpty, list.count <= ValueBounds.conditionValues else {
            throw ModelDefinitionError("\(field).values must list 1 to \(ValueBounds.conditionValues) strings")
        }
        var values: [String] = []
        for item in list {
            guard let text = item.stringValue, text.utf8.count <= ValueBounds.modelNameBytes else {
                throw ModelDefinitionError("\(field).values must be strings of at most \(ValueBounds.modelNameBytes) bytes")
            }
            values.append(text)
        }
        return .attribute(source: source, key: key, values: values)
    }
}
