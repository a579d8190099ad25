import Model
import Testing

/// The `masked` input/output policy (`PIIMasker`'s doc comment lists the rules): what each kind
/// catches, what it must leave alone, idempotency, JSON traversal and pathological inputs.
@Suite("PII masker")
struct PIIMaskerTests {
    /// Where a sample is embedded: alone, in a sentence, at the start and end, next to
    /// punctuation, quotes, newlines and non-ASCII text. `%@` is the sample.
    static let contexts = [
        "%@", "Please contact %@ today.", "%@ is the one", "it was %@", "(%@)", "'%@'", "\"%@\",", "%@.",
        "a; %@; b", "line one\n%@\nline two", "é %@ 😀", "x=%@&y=1", "\t%@\t",
    ]

    static func embed(_ sample: String, in context: String) -> String {
        context.split(separator: "%@", omittingEmptySubsequences: false).joined(separator: sample)
    }

    static func expectMasked(_ sample: String, as kind: PIIMasker.Kind, sourceLocation: SourceLocation = #_sourceLocation) {
        for context in contexts {
            let text = embed(sample, in: context)
            #expect(PIIMasker.mask(text) == embed(kind.placeholder, in: context), sourceLocation: sourceLocation)
        }
    }

    static func expectUnmasked(_ sample: String, sourceLocation: SourceLocation = #_sourceLocation) {
        for context in contexts {
            let text = embed(sample, in: context)
            #expect(PIIMasker.mask(text) == text, sourceLocation: sourceLocation)
        }
    }

    // MARK: Positive cases

    static let emails = [
        "john.doe@example.com", "j_smith+newsletter@mail.example.co.uk", "ALICE@EXAMPLE.ORG", "a@b.io",
        "first.last-99@sub.domain-name.travel", "user%team@example.com", "x1@x2.de",
    ]

    static let phones = [
        // International (E.164 with formatting).
        "+14155552671", "+1 415 555 2671", "+1 (415) 555-2671", "+1-415-555-2671", "+44 20 7946 0958",
        "+44 (0)20 7946 0958", "+33 1 23 45 67 89", "+49 30 1234567", "+49.30.1234567", "+91 98765 43210",
        "+61 2 9876 5432",
        // North American.
        "(415) 555-2671", "(415)555-2671", "415-555-2671", "415.555.2671", "415 555 2671", "1-800-555-0199",
        "1 (800) 555-0199",
        // Trunk prefix 0.
        "020 7946 0958", "030 1234567", "030/1234567", "01 23 45 67 89", "01.23.45.67.89", "06-12345678",
        "(030) 1234567", "0044 20 7946 0958",
    ]

    static let cards = [
        "4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111", "5500 0000 0000 0004",
        "5555555555554444", "2223000048400011", "378282246310005", "3782 822463 10005", "6011111111111117",
        "3530111333300000", "30569309025904", "4222222222222", "6200000000000005", "4012 8888 8888 1881",
    ]

    static let ipAddresses = [
        "192.168.1.10", "10.0.0.1", "8.8.8.8", "255.255.255.255", "0.0.0.0", "2001:db8::1",
        "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "2001:db8:85a3::8a2e:370:7334", "fe80::1ff:fe23:4567:890a",
        "fe80::1%eth0", "::ffff:192.0.2.128", "2001:db8::", "FE80::0202:B3FF:FE1E:8329",
    ]

    static let apiKeys = [
        "sk-proj-abc123DEF456ghi789JKL012mno345PQR", "sk-lf-1234abcd-5678-90ef-abcd-1234567890ab",
        "pk-lf-1234abcd-5678-90ef-abcd-1234567890ab", "sk-ant-api03-AbCdEf123456_GhIjKl-7890MnOpQr",
        "sk-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGhIj", "sk_live_51H8AbCdEfGhIjKlMnOpQrSt",
        "ghp_16C7e42F292c6912E7710c838347Ae178B4a", "gho_16C7e42F292c6912E7710c838347Ae178B4a",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN",
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "xoxp-1234-5678-abcdef",
        "glpat-AbCdEf1234567890xYzW", "npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
        "hf_AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh", "AKIAIOSFODNN7EXAMPLE", "ASIAY34FZKBOKMUTVV7A",
        "AIzaSyA-1234567890abcdefghijklmnopqrstu",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        // Generic high-entropy tokens.
        "AbCdEfGh12345678IjKlMnOp90123456QrSt", "9yQ3kFzXbT2NqLmW8vR5sPdEhGjK1aZ7", "Xk3_9fQ-2mVb7LpR4tWz8nYc1sHd6gJe",
        "session-9yQ3kFzXbT2NqLmW8vR5sPdEhGjK1a",
    ]

    @Test(arguments: emails) func masksEmailAddresses(_ sample: String) {
        Self.expectMasked(sample, as: .email)
    }

    @Test(arguments: phones) func masksFormattedPhoneNumbers(_ sample: String) {
        Self.expectMasked(sample, as: .phone)
    }

    @Test(arguments: cards) func masksLuhnValidCardNumbers(_ sample: String) {
        Self.expectMasked(sample, as: .card)
    }

    @Test(arguments: ipAddresses) func masksIPAddresses(_ sample: String) {
        Self.expectMasked(sample, as: .ipAddress)
    }

    @Test(arguments: apiKeys) func masksAPIKeys(_ sample: String) {
        Self.expectMasked(sample, as: .apiKey)
    }

    @Test(arguments: [
        ("Authorization: Bearer abc123DEF456ghi789", "Authorization: Bearer [API_KEY]"),
        ("authorization: bearer   sk-proj-abc123DEF456ghi789JKL", "authorization: bearer   [API_KEY]"),
        ("BEARER dGhpcyBpcyBhIHRlc3QgdG9rZW4x==;", "BEARER [API_KEY];"),
        ("Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.abc", "Bearer [API_KEY]"),
    ])
    func masksBearerTokensButKeepsTheScheme(text: String, masked: String) {
        #expect(PIIMasker.mask(text) == masked)
    }

    @Test(arguments: [
        ("http://192.168.1.10:8080/path", "http://[IP_ADDRESS]:8080/path"),
        ("http://[2001:db8::1]:443/", "http://[[IP_ADDRESS]]:443/"),
        ("allow 10.0.0.0/8 and 172.16.0.0/12", "allow [IP_ADDRESS]/8 and [IP_ADDRESS]/12"),
        ("client=203.0.113.7, proxy=2001:db8:85a3::8a2e:370:7334", "client=[IP_ADDRESS], proxy=[IP_ADDRESS]"),
    ])
    func masksIPAddressesInURLsAndLists(text: String, masked: String) {
        #expect(PIIMasker.mask(text) == masked)
    }

    @Test func masksEveryKindInOneText() {
        let text = """
            Hi, I'm Jane (jane.doe@example.com, +1 415 555 2671). My card is 4111 1111 1111 1111 and \
            I log in from 203.0.113.7 with key sk-proj-abc123DEF456ghi789JKL012mno345PQR.
            """
        #expect(PIIMasker.mask(text) == """
            Hi, I'm Jane ([EMAIL], [PHONE]). My card is [CARD] and \
            I log in from [IP_ADDRESS] with key [API_KEY].
            """)
    }

    @Test func adjacentMatchesAreMaskedSeparately() {
        #expect(PIIMasker.mask("a@b.com,c@d.org") == "[EMAIL],[EMAIL]")
        #expect(PIIMasker.mask("10.0.0.1 10.0.0.2") == "[IP_ADDRESS] [IP_ADDRESS]")
        #expect(PIIMasker.mask("4111111111111111; 5555555555554444") == "[CARD]; [CARD]")
        #expect(PIIMasker.mask("+14155552671;+442079460958") == "[PHONE];[PHONE]")
    }

    @Test func anEmailTakesPrecedenceOverTheNumbersInIt() {
        #expect(PIIMasker.mask("4155552671@txt.example.com") == "[EMAIL]")
        #expect(PIIMasker.mask("git@github.com:org/repo.git") == "[EMAIL]:org/repo.git")
        // A trailing dot or non-letter label is not part of the domain.
        #expect(PIIMasker.mask("mail a@b.com.") == "mail [EMAIL].")
        #expect(PIIMasker.mask("a@b.com.123") == "[EMAIL].123")
        #expect(PIIMasker.mask("..john@example.com") == "..[EMAIL]")
    }

    // MARK: Negative cases

    static let notPersonalData = [
        // Dates, timestamps and times.
        "2026-12-02", "02.12.2026", "12/02/2026", "2026/12/02", "Dec 2, 2026", "2026-12-02T10:37:02Z",
        "2026-12-02T10:37:02.123456+01:00", "2026-12-02 10:37:02", "02.12.2026 10:37", "10:37:02", "10:37",
        "23:59:59.999", "1764672000", "1764672000123", "1764672000123456", "1764672000123456789",
        // Versions, prices, counts, years and other numbers.
        "1.45.2", "v1.2.3.4", "1.2.3.4.5", "10.0.19041.1", "256.1.1.1", "01.02.03.04", "$1,299.99",
        "€ 12.345,67", "1299.99 USD", "+12.5%", "2026", "in 1999 and 2026", "42", "1 2 3 4 5 6 7 8 9 10",
        "1,234,567,890", "1234567890", "4155552671", "12345678901234567890", "0.30000000000000004",
        "0.123456789", "3.141592653589793", "-4111111111111111", "+0100", "100 200 3000", "123 456 789",
        // Luhn-invalid and non-card numbers.
        "4111111111111112", "4111 1111 1111 1112", "1234 5678 9012 3456", "9111111111111111",
        // Ids and hashes.
        "550e8400-e29b-41d4-a716-446655440000", "550E8400-E29B-41D4-A716-446655440000",
        "trace-550e8400-e29b-41d4-a716-446655440000", "Trace_550E8400-E29B-41D4-A716-446655440000",
        "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331", "01HV6BKQZ8XJ5Y0S7M3T2N4R9P",
        "cm4abc12300001l08f9xyz123", "chatcmpl-9yQ3kFzXbT2NqLmW8vR5sPdEhGjK1a",
        "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b", "toolu_01A09q90qw90lq917835lq9AbCdEfGh",
        // Words with @.
        "@mention", "user@localhost", "name@1.2.3", "foo@bar", "@", "a @ b", "@types/node", "x@y.z",
        // Code and model names.
        "std::vector<int>", "arr[1::2]", "x[::2]", "a::b", "Foo::Bar::baz()", "u8::MAX", "x :: Int",
        "getUserProfileByIdV2AndCacheResult", "handleOAuth2CallbackWithPKCEVerifier",
        "OPENAI_API_KEY_FOR_PROJECT_X2_PRODUCTION_ENV", "meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo",
        "Meta-Llama-3-1-405B-Instruct-Turbo-2024", "claude-3-5-sonnet-20241022", "gpt-4o-mini-2024-07-18",
        "anthropic.claude-3-5-sonnet-20240620-v1:0", "langchain_core_runnables_base_runnablesequence_v2",
        "00:1a:2b:3c:4d:5e", "dead::beef",
        // Key prefixes without a key.
        "sk-learn", "pk-12", "sk-abcdefghijklmnopqrstuvwxyz", "task-management-system-overview-2",
        "Bearer authentication", "Bearer YOUR_ACCESS_TOKEN_HERE", "AKIA", "AKIAIOSFODNN7EXAMPLEX",
        // Placeholders themselves.
        "[EMAIL]", "[PHONE]", "[CARD]", "[IP_ADDRESS]", "[API_KEY]", "Bearer [API_KEY]",
        "",
    ]

    @Test(arguments: notPersonalData) func leavesNonPersonalDataAlone(_ sample: String) {
        Self.expectUnmasked(sample)
    }

    @Test func leavesProseAndNonASCIITextByteIdentical() {
        let prose = """
            The quick brown fox jumps over the lazy dog. In 2026, about 42% of 1,200 users said: \
            "it works!" — see chapter 3.2, page 17. Ça coûte 12,50 € à 10:30. 東京は晴れ。😀👍🏽 e\u{301}
            """
        #expect(PIIMasker.mask(prose) == prose)
        #expect(Array(PIIMasker.mask(prose + " a@b.com").utf8) == Array((prose + " [EMAIL]").utf8))
    }

    @Test func doesNotMaskInsideWords() {
        #expect(PIIMasker.mask("id_4111111111111111") == "id_4111111111111111")
        #expect(PIIMasker.mask("order-4111111111111111") == "order-4111111111111111")
        #expect(PIIMasker.mask("ab192.168.1.1") == "ab192.168.1.1")
        #expect(PIIMasker.mask("xsk-abc123DEF456ghi789") == "xsk-abc123DEF456ghi789")
        #expect(PIIMasker.mask("xAKIAIOSFODNN7EXAMPLE") == "xAKIAIOSFODNN7EXAMPLE")
    }

    @Test func leavesLongBase64PayloadsAlone() {
        let chunk = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg/"
        let image = "data:image/png;base64," + String(repeating: chunk, count: 4) + "=="
        #expect(PIIMasker.mask(image) == image)
        // A short run with the same characters is not a payload.
        #expect(PIIMasker.mask("k=AbCdEfGh12345678IjKlMnOp90123456QrSt/") == "k=[API_KEY]/")
    }

    // MARK: Properties

    static let positiveSamples = emails + phones + cards + ipAddresses + apiKeys

    @Test func maskingIsIdempotent() {
        for sample in Self.positiveSamples {
            for context in Self.contexts {
                let once = PIIMasker.mask(Self.embed(sample, in: context))
                #expect(PIIMasker.mask(once) == once, "\(sample) in \(context)")
            }
        }
    }

    /// Random mixtures of samples, near-misses and separators: masking twice changes nothing,
    /// and text outside matches survives.
    @Test func randomMixturesAreIdempotent() {
        let pieces = Self.positiveSamples + Self.notPersonalData + [
            " ", ".", "-", ":", "::", "@", "+", "(", ")", "/", "_", "1", "12", "123", "4111", "a", "Z", "é", "😀",
            "\n", ",", "=", "[", "]", "0", "00", "eyJ", "sk-", "Bearer ", "%",
        ]
        var generator = SeededGenerator(seed: 0x5EED)
        for _ in 0..<3000 {
            var text = ""
            for _ in 0..<Int.random(in: 1...8, using: &generator) {
                text += pieces.randomElement(using: &generator)!
            }
            let once = PIIMasker.mask(text)
            #expect(PIIMasker.mask(once) == once, "\(text)")
            #expect(once.unicodeScalars.filter { !$0.isASCII } == text.unicodeScalars.filter { !$0.isASCII })
        }
    }

    /// Random strings over the characters the rules look at, where matches and near-misses
    /// overlap in every way: masking twice changes nothing.
    @Test func randomCharacterSoupIsIdempotent() {
        let alphabets: [[Character]] = [
            Array("0123456789abcdefABCXYZxyz.:-/ +()@%_=[]"), Array("0123456789 .-()+"), Array("0123456789abcdef:.% "),
            Array("0123456789aAbBzZ_-./:"), Array("0123456789.@abc-"),
        ]
        var generator = SeededGenerator(seed: 0xC0FFEE)
        for _ in 0..<3000 {
            let alphabet = alphabets.randomElement(using: &generator)!
            let text = String((0..<Int.random(in: 1...60, using: &generator)).map { _ in
                alphabet.randomElement(using: &generator)!
            })
            let once = PIIMasker.mask(text)
            #expect(PIIMasker.mask(once) == once, "\(text)")
        }
    }

    @Test func kindsHaveTheirPlaceholders() {
        #expect(PIIMasker.Kind.allCases.map(\.placeholder) == ["[EMAIL]", "[PHONE]", "[CARD]", "[IP_ADDRESS]", "[API_KEY]"])
        #expect(PIIMasker.Kind.allCases.map(\.rawValue) == ["email", "phone", "card", "ipAddress", "apiKey"])
    }

    // MARK: JSON

    @Test func masksEveryStringInAJSONValueButNotKeysOrNumbers() throws {
        let value = try json("""
            {"user@example.com": "write to user@example.com", "card": 4111111111111111, "ok": true, "none": null,
             "nested": [{"ip": "10.0.0.1", "n": 1.5}, ["+1 415 555 2671", "plain"], 4111111111111111],
             "meta": {"trace": "4bf92f3577b34da6a3ce929d0e0e4736", "key": "sk-proj-abc123DEF456ghi789JKL012"}}
            """)
        let masked = PIIMasker.mask(value)
        #expect(masked.jsonText == (try json("""
            {"user@example.com": "write to [EMAIL]", "card": 4111111111111111, "ok": true, "none": null,
             "nested": [{"ip": "[IP_ADDRESS]", "n": 1.5}, ["[PHONE]", "plain"], 4111111111111111],
             "meta": {"trace": "4bf92f3577b34da6a3ce929d0e0e4736", "key": "[API_KEY]"}}
            """)).jsonText)
        #expect(PIIMasker.mask(masked) == masked)
    }

    @Test func leavesJSONWithoutPersonalDataUnchanged() throws {
        let value = try json(#"{"a": [1, "two", {"b": "2026-12-02T10:37:02Z"}], "c": "550e8400-e29b-41d4-a716-446655440000"}"#)
        #expect(PIIMasker.mask(value).jsonText == value.jsonText)
        #expect(PIIMasker.mask(JSONValue.number("4111111111111111")) == .number("4111111111111111"))
        #expect(PIIMasker.mask(JSONValue.string("")) == .string(""))
    }

    @Test func masksStoredRawJSONThroughItsParsedValue() {
        let raw = JSONValue.raw(#"{"email":"a\u0040b.com","n":4111111111111111}"#)
        #expect(PIIMasker.mask(raw).jsonText == #"{"email":"[EMAIL]","n":4111111111111111}"#)
        let clean = JSONValue.raw(#"{"n":1}"#)
        #expect(PIIMasker.mask(clean) == clean)
    }

    // MARK: Pathological input

    @Test(arguments: [
        ("digits", "1"), ("at signs", "@"), ("letters", "a"), ("colons", ":"), ("dots", "."), ("pluses", "+"),
        ("spaced digits", "1 "), ("digit groups", "4111 "), ("emails without domain", "a@"), ("dotted words", "a."),
        ("hex groups", "ab12:"), ("key prefixes", "sk-"), ("bearer", "Bearer "), ("jwt", "eyJabcdefghij."),
        ("plus digits", "+1 "), ("dash digits", "0-"), ("parentheses", "(0)"), ("mixed token", "aB3"),
        ("base64", "aB3+"), ("emoji", "😀"), ("combining", "e\u{301}"), ("local parts", "a.b@"),
        ("domains", "@a."), ("decimals", "1."), ("times", "1:"), ("double colons", "::"), ("zones", "fe80::1%"),
        ("addresses", "1.1.1.1 "), ("trunk prefixes", "0 "), ("emails", "a@a."), ("bearer dots", "Bearer a."),
    ])
    func finishesOnLongRepetition(name: String, unit: String) {
        // 128 KiB: a scanner that backtracks quadratically would need about 10^10 steps here and
        // never finish, while a linear one takes a fraction of a second even in a debug build
        // (1 MB took 1.5 s per case and held a pool thread the other suites needed).
        let text = String(repeating: unit, count: 131_072 / unit.utf8.count)
        let once = PIIMasker.mask(text)
        #expect(PIIMasker.mask(once) == once, "\(name)")
    }

    @Test func keepsLongUnmatchedRunsIntact() {
        let digits = String(repeating: "7", count: 1_000_000)
        #expect(PIIMasker.mask(digits) == digits)
        let ats = String(repeating: "@", count: 1_000_000)
        #expect(PIIMasker.mask(ats) == ats)
        let letters = String(repeating: "a", count: 1_000_000)
        #expect(PIIMasker.mask(letters) == letters)
    }

    @Test func survivesRandomBytes() {
        var generator = SeededGenerator(seed: 42)
        for length in [0, 1, 2, 3, 7, 64, 1000, 100_000] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let text = String(decoding: bytes, as: UTF8.self)
            let once = PIIMasker.mask(text)
            #expect(PIIMasker.mask(once) == once)
            // Mostly ASCII, so that patterns have a chance to form.
            let ascii = String(decoding: bytes.map { $0 & 0x7F }, as: UTF8.self)
            let masked = PIIMasker.mask(ascii)
            #expect(PIIMasker.mask(masked) == masked)
        }
    }
}
