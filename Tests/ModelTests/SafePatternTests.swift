import Model
import Testing

/// The linear-time regex subset model prices are matched with (docs/DATA_MODEL.md, "Model prices").
@Suite("SafePattern")
struct SafePatternTests {
    @Test(arguments: [
        ("(?i)^(openai/)?(gpt-4o)$", "gpt-4o", true), ("(?i)^(openai/)?(gpt-4o)$", "OpenAI/GPT-4o", true),
        ("(?i)^(openai/)?(gpt-4o)$", "gpt-4o-mini", false), ("(?i)^(openai/)?(gpt-4o)$", "my-gpt-4o", false),
        ("(?i)^(gpt-)(35|3.5)(-turbo)$", "gpt-3.5-turbo", true), ("(?i)^(gpt-)(35|3.5)(-turbo)$", "gpt-35-turbo", true),
        ("(?i)^(gpt-)(35|3.5)(-turbo)$", "gpt-3x5-turbo", true),  // `.` is any character, as in Langfuse's table
        ("(?i)^(ft:)(gpt-3.5-turbo-1106:)(.+)(:)(.*)(:)(.+)$$", "ft:gpt-3.5-turbo-1106:acme::abc123", true),
        ("(?i)^(ft:)(gpt-3.5-turbo-1106:)(.+)(:)(.*)(:)(.+)$$", "ft:gpt-3.5-turbo-1106:acme:abc123", false),
        ("(?i)^(chat-bison)(@[a-zA-Z0-9]+)?$", "chat-bison@002", true), ("(?i)^(chat-bison)(@[a-zA-Z0-9]+)?$", "chat-bison@", false),
        ("(?i)^(openai/)?(gpt-4(-\\d{4})?-vision-preview)$", "gpt-4-1106-vision-preview", true),
        ("(?i)^(openai/)?(gpt-4(-\\d{4})?-vision-preview)$", "gpt-4-11066-vision-preview", false),
        ("(?i)^(anthropic\\/)?(claude-sonnet-4-6)$", "anthropic/claude-sonnet-4-6", true),
        ("(input|prompt|cached)", "input_cached_tokens", true), ("(input|prompt|cached)", "output", false),
        ("a{2,3}", "xaax", true), ("^a{2,3}$", "aaaa", false), ("^[^0-9]+$", "abc", true), ("^[^0-9]+$", "ab1", false),
        ("^\\w+\\s\\d$", "ab_1 7", true), ("^x*?y$", "xxy", true), ("^(a|)$", "", true), ("", "anything", true),
    ])
    func matchesLikeARegexSearch(_ pattern: String, _ text: String, _ expected: Bool) throws {
        #expect(try SafePattern(pattern).matches(text) == expected, "\(pattern) on \(text)")
    }

    @Test(arguments: ["(a", "a)", "[abc", "\\1", "(?=a)", "(?<n>a)", "a**", "a++", "\\b", "[[:alpha:]]", "a{1000}", "a{2,1}",
                      "(?i", "*a", "a|*"])
    func refusesSyntaxOutsideTheSubset(_ pattern: String) {
        #expect(throws: SafePattern.SyntaxError.self) { try SafePattern(pattern) }
    }

    @Test func refusesLongAndHugePatterns() {
        #expect(throws: SafePattern.SyntaxError.self) { try SafePattern(String(repeating: "a", count: SafePattern.maxLength + 1)) }
        // Nested counted repeats multiply their program: 100 × 100 copies is over the bound.
        #expect(throws: SafePattern.SyntaxError.self) { try SafePattern("((a{100}){100}){100}") }
        #expect(throws: SafePattern.SyntaxError.self) { try SafePattern(String(repeating: "(", count: 60) + "a" + String(repeating: ")", count: 60)) }
    }

    @Test func catastrophicBacktrackingPatternsRunInLinearTime() throws {
        // Each of these takes a backtracking engine exponential time on the texts below. Counted
        // in the matcher's steps, not in time: doubling the text at most doubles the steps (plus
        // a little), where a backtracking engine's would square or worse.
        func steps(_ pattern: SafePattern, _ length: Int) -> Int {
            var budget = Int.max
            _ = pattern.matches(Array(repeating: 97, count: length) + [33], budget: &budget)
            return Int.max - budget
        }
        for pattern in ["(a+)+$", "(a|aa)+$", "(a*)*b", "^(([a-z])+.)+[A-Z]([a-z])+$", "(.*a){20}$"] {
            let compiled = try SafePattern(pattern)
            let (short, long) = (steps(compiled, 2_500), steps(compiled, 5_000))
            #expect(short > 0 && long <= 2 * short + 1_000, "\(pattern): \(short) steps for 2,500, \(long) for 5,000")
        }
        let text = String(repeating: "a", count: 5_000) + "!"
        #expect(try SafePattern("(a+)+$").matches(text) == false)
        #expect(try SafePattern("(a+)+!$").matches(text) == true)
    }

    @Test func everyBuiltInPatternCompiles() {
        #expect(BuiltInPrices.skipped.isEmpty, "\(BuiltInPrices.skipped)")
        #expect(BuiltInPrices.definitions.count >= 160)
    }
}

@Suite("SafePattern budget")
struct SafePatternBudgetTests {
    @Test func anchoredPatternsStopAtTheFirstMismatch() throws {
        let pattern = try SafePattern("(?i)^(openai/)?(gpt-4o)$")
        var budget = 1_000
        #expect(pattern.matches(Array("claude-3-opus-and-a-long-tail".unicodeScalars).map(\.value), budget: &budget) == false)
        #expect(budget > 980, "spent \(1_000 - budget) steps")
    }

    @Test func aSpentBudgetAnswersNil() throws {
        let pattern = try SafePattern("(.?){100}x")
        var budget = 10_000
        #expect(pattern.matches(Array(repeating: 97, count: 1_000), budget: &budget) == nil)
        var plenty = Int.max
        #expect(pattern.matches(Array(repeating: 97, count: 1_000), budget: &plenty) == false)
    }

    @Test func adversarialProjectModelsCostBoundedTimeAndPriceNothing() throws {
        // The most a project may hold, each as costly as the bounds allow, against the longest
        // priced name: the shared step budget stops the search.
        let models = try (0..<ValueBounds.modelsPerProject).map { index in
            try ModelDefinition.create(request: JSONParser.parse(#"{"modelName":"m","matchPattern":"(.?){100}\#(index)x","totalPrice":1}"#),
                                       id: "m\(index)", createdAtMillis: 0)
        }
        let table = PriceTable(custom: models, builtIn: BuiltInPrices.definitions)
        let name = String(repeating: "a", count: ValueBounds.pricedModelNameLength)
        #expect(table.candidates(for: name).isEmpty)
        // What stopped the search is the per-name step budget, a constant: shared as the table
        // shares it, it runs out before the project's models are all tried, so the work is
        // bounded by the budget, not by the models' count or cost.
        var budget = ValueBounds.patternStepsPerName
        var tried = 0
        let scalars = Array(name.unicodeScalars).map(\.value)
        for model in models {
            guard model.pattern.matches(scalars, budget: &budget) != nil else { break }
            tried += 1
        }
        #expect(tried < models.count, "all \(tried) models fit in \(ValueBounds.patternStepsPerName) steps")
    }

    @Test func aThousandOrdinaryProjectModelsFitTheBudget() throws {
        let models = try (0..<ValueBounds.modelsPerProject).map { index in
            try ModelDefinition.create(request: JSONParser.parse(#"{"modelName":"ft\#(index)","matchPattern":"(?i)^ft:gpt-4o-mini:acme:\#(index)$","totalPrice":1}"#),
                                       id: "ft\(index)", createdAtMillis: 0)
        }
        let table = PriceTable(custom: models, builtIn: BuiltInPrices.definitions)
        #expect(table.candidates(for: "ft:gpt-4o-mini:acme:731").first?.id == "ft731")
        #expect(table.candidates(for: "gpt-4o-mini").first?.modelName == "gpt-4o-mini")
    }
}
