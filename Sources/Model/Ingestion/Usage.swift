/// Usage and cost of a generation-like observation (langfuse-api.md §3.4): the legacy `usage`
/// object (either shape), `usageDetails` (a map, or an OpenAI Chat or Responses usage object)
/// and `costDetails`. The last non-empty value of each wins; the result is computed once at
/// the end of the fold.
struct UsageFold {
    private var usage: JSONValue?
    private var usageDetails: JSONValue?
    private var costDetails: JSONValue?

    mutating func add(_ body: JSONValue) {
        if let value = body["usage"], Self.nonEmpty(value) { usage = value }
        if let value = body["usageDetails"], Self.nonEmpty(value) { usageDetails = value }
        if let value = body["costDetails"], Self.nonEmpty(value) { costDetails = value }
    }

    /// A cost the fold keeps: 0 to `ValueBounds.maxCost` (so every sum of costs stays finite).
    static func isCost(_ value: Double) -> Bool {
        (0...ValueBounds.maxCost).contains(value)
    }

    /// Rule 1's exception: empty objects do not overwrite.
    private static func nonEmpty(_ value: JSONValue) -> Bool {
        if case .object(let members) = value { return !members.isEmpty }
        return !value.isNull
    }

    /// (usage details, cost details), each in key order with `input`, `output`, `total` first.
    func result() -> ([(String, Int64)], [(String, Double)]) {
        var units = OrderedMap<Int64>()
        var costs = OrderedMap<Double>()
        if let usage {
            let input = ValueBounds.count(usage["input"]) ?? ValueBounds.count(usage["promptTokens"])
            let output = ValueBounds.count(usage["output"]) ?? ValueBounds.count(usage["completionTokens"])
            let total = ValueBounds.count(usage["total"]) ?? ValueBounds.count(usage["totalTokens"])
            if let input { units["input"] = max(0, input) }
            if let output { units["output"] = max(0, output) }
            if let total { units["total"] = max(0, total) }
            if let cost = usage["inputCost"]?.doubleValue, Self.isCost(cost) { costs["input"] = cost }
            if let cost = usage["outputCost"]?.doubleValue, Self.isCost(cost) { costs["output"] = cost }
            if let cost = usage["totalCost"]?.doubleValue, Self.isCost(cost) { costs["total"] = cost }
        }
        if let details = usageDetails {
            for (key, value) in Self.flattenUsageDetails(details) { units[key] = value }
        }
        if let details = costDetails?.objectValue {
            for (key, value) in details {
                if let cost = value.doubleValue ?? value.stringValue.flatMap(Double.init), Self.isCost(cost) {
                    costs[key] = cost
                }
            }
        }
        if !units.isEmpty && units["total"] == nil {
            // Saturating: each count is bounded, but a map may hold any number of them.
            units["total"] = units.pairs.reduce(0) { sum, pair in
                let (result, overflow) = sum.addingReportingOverflow(pair.1)
                return overflow ? .max : result
            }
        }
        if !costs.isEmpty && costs["total"] == nil {
            costs["total"] = costs.pairs.reduce(0) { $0 + $1.1 }
        }
        return (units.pairs, costs.pairs)
    }

    /// A `usageDetails` value as `key → count`: plain maps keep their keys and non-negative
    /// integers up to `ValueBounds.maxCount` (numeric strings parsed); an OpenAI usage object
    /// (Chat or Responses, exactly its shape: the three counts and nothing but the two details
    /// objects besides, as Langfuse's strict schema) maps to input/output/total plus `input_<k>` /
    /// `output_<k>` details, which are subtracted from input/output (floor 0). So
    /// `{"prompt_tokens": 10, "completion_tokens": 5}` keeps its keys, and gets a total.
    static func flattenUsageDetails(_ details: JSONValue) -> [(String, Int64)] {
        guard let members = details.objectValue else { return [] }
        func isOpenAI(_ counts: [String], _ extras: [String]) -> Bool {
            counts.allSatisfy { ValueBounds.count(details[$0]).map { $0 >= 0 } ?? false }
                && members.allSatisfy { key, value in
                    counts.contains(key) || (extras.contains(key) && (value.isNull || value.objectValue != nil))
                }
        }
        let openAIChat = isOpenAI(["prompt_tokens", "completion_tokens", "total_tokens"], ["prompt_tokens_details", "completion_tokens_details"])
        let openAIResponses = !openAIChat
            && isOpenAI(["input_tokens", "output_tokens", "total_tokens"], ["input_tokens_details", "output_tokens_details"])
        if openAIChat || openAIResponses {
            let (inKey, outKey, inDetails, outDetails) = openAIChat
                ? ("prompt_tokens", "completion_tokens", "prompt_tokens_details", "completion_tokens_details")
                : ("input_tokens", "output_tokens", "input_tokens_details", "output_tokens_details")
            var input = ValueBounds.count(details[inKey]) ?? 0
            var output = ValueBounds.count(details[outKey]) ?? 0
            var result: [(String, Int64)] = []
            for (key, value) in details[inDetails]?.objectValue ?? [] {
                guard let count = ValueBounds.count(value), count >= 0 else { continue }
                result.append(("input_\(key)", count))
                input -= count
            }
            for (key, value) in details[outDetails]?.objectValue ?? [] {
                guard let count = ValueBounds.count(value), count >= 0 else { continue }
                result.append(("output_\(key)", count))
                output -= count
            }
            var main: [(String, Int64)] = [("input", max(0, input)), ("output", max(0, output))]
            if let total = ValueBounds.count(details["total_tokens"]) { main.append(("total", total)) }
            return main + result
        }
        var result: [(String, Int64)] = []
        for (key, value) in members {
            if let count = ValueBounds.count(value) ?? value.stringValue.flatMap({ Int64($0) }),
               (0...ValueBounds.maxCount).contains(count) {
                result.append((key, count))
            }
        }
        return result
    }
}

/// A tiny insertion-ordered map for a handful of keys.
struct OrderedMap<Value> {
    private(set) var pairs: [(String, Value)] = []

    var isEmpty: Bool { pairs.isEmpty }

    subscript(key: String) -> Value? {
        get { pairs.first { $0.0 == key }?.1 }
        set {
            if let index = pairs.firstIndex(where: { $0.0 == key }) {
                if let newValue { pairs[index].1 = newValue } else { pairs.remove(at: index) }
            } else if let newValue {
                pairs.append((key, newValue))
            }
        }
    }
}
