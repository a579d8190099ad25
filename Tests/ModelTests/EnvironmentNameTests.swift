import Model
import Testing

/// Environment normalisation (langfuse-api.md §3.6): lower-cased, leading `langfuse` prefixes
/// stripped repeatedly, cut to 40 characters, anything outside `[a-z0-9-_]` silently `default`.
@Suite("Environment name")
struct EnvironmentNameTests {
    @Test(arguments: [
        ("production", "production"),
        ("Production", "production"),
        ("STAGING-eu_1", "staging-eu_1"),
        ("dev-2", "dev-2"),
        ("a", "a"),
        ("-_-", "-_-"),
    ])
    func validNamesAreLowerCased(raw: String, expected: String) {
        #expect(EnvironmentName.normalise(raw) == expected)
    }

    @Test(arguments: [
        ("langfuse-prod", "prod"),
        ("langfuse_prod", "prod"),
        ("langfuseprod", "prod"),
        ("Langfuse-Prod", "prod"),
        ("LANGFUSE_LANGFUSE-langfuseprod", "prod"),
        ("langfuse-langfuse-x", "x"),
        ("prod-langfuse", "prod-langfuse"),
    ])
    func leadingLangfusePrefixesAreStrippedRepeatedly(raw: String, expected: String) {
        #expect(EnvironmentName.normalise(raw) == expected)
    }

    @Test func namesAreCutTo40Characters() {
        let long = String(repeating: "abcdefghij", count: 5)
        #expect(EnvironmentName.normalise(long) == String(long.prefix(40)))
        #expect(EnvironmentName.normalise("langfuse-" + long) == String(long.prefix(40)))
        let exactly40 = String(repeating: "x", count: 40)
        #expect(EnvironmentName.normalise(exactly40) == exactly40)
    }

    @Test func invalidCharactersAfterTheCutDoNotMatter() {
        // §3.6 validates the truncated name, so a bad character at position 41+ is cut away first.
        let name = String(repeating: "a", count: 40) + " bad!"
        #expect(EnvironmentName.normalise(name) == String(repeating: "a", count: 40))
    }

    @Test(arguments: [
        nil, "", "langfuse", "langfuse-", "Langfuse_", "has space", "dev.1", "prod/eu", "ümlaut", "prod!", "tab\t",
        "new\nline", "東京", "emoji😀",
    ] as [String?])
    func missingOrInvalidNamesBecomeDefault(raw: String?) {
        #expect(EnvironmentName.normalise(raw) == "default")
    }
}
