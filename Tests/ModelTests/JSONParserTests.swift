import Model
import Testing

/// The strict RFC 8259 parser: what it accepts, and that every kind of hostile input becomes a
/// `JSONParseError` rather than a crash.
@Suite("JSON parser")
struct JSONParserTests {
    // MARK: Valid documents

    @Test func parsesLiteralsAtTopLevel() throws {
        #expect(try JSONParser.parse("null") == .null)
        #expect(try JSONParser.parse("true") == .bool(true))
        #expect(try JSONParser.parse("false") == .bool(false))
        #expect(try JSONParser.parse(" \t\r\n\"x\" \n") == .string("x"))
    }

    @Test(arguments: ["0", "-0", "7", "-12", "3.25", "1e3", "1E+3", "2.5e-7", "-0.0e0", "123456789"])
    func numbersKeepTheirExactText(text: String) throws {
        guard case .number(let kept) = try JSONParser.parse(text) else {
            Issue.record("\(text) did not parse as a number")
            return
        }
        #expect(kept == text)
    }

    @Test func parsesNestedContainersInDocumentOrder() throws {
        let value = try JSONParser.parse(#"{"b": [1, {"c": null}, []], "a": {}, "d": "e"}"#)
        let members = try #require(value.objectValue)
        #expect(members.map(\.0) == ["b", "a", "d"])
        #expect(value["b"]?.arrayValue?.count == 3)
        #expect(value["b"]?.arrayValue?[1]["c"] == .null)
        #expect(value["a"]?.objectValue?.isEmpty == true)
        #expect(value["d"]?.stringValue == "e")
    }

    @Test func decodesEveryEscape() throws {
        let value = try JSONParser.parse(#""\"\\\/\b\f\n\r\t\u0041\u00e9\u20ac""#)
        #expect(value.stringValue == "\"\\/\u{08}\u{0C}\n\r\tAé€")
    }

    @Test func decodesSurrogatePairsIntoOneScalar() throws {
        let value = try JSONParser.parse(#""smile \ud83d\ude00 \uD83D\uDE00""#)
        #expect(value.stringValue == "smile 😀 😀")
    }

    @Test func keepsRawMultiByteUTF8() throws {
        let text = "\"Lisbon 21°C — 東京 😀\""
        #expect(try JSONParser.parse(Array(text.utf8)).stringValue == "Lisbon 21°C — 東京 😀")
    }

    @Test func escapedNULStaysInsideTheString() throws {
        let value = try JSONParser.parse(#""a\u0000b""#)
        #expect(value.stringValue == "a\u{0}b")
        #expect(value.stringValue?.utf8.count == 3)
    }

    @Test func duplicateKeysKeepTheLastValueAtTheFirstPosition() throws {
        let value = try JSONParser.parse(#"{"a": 1, "b": 2, "a": 3}"#)
        let members = try #require(value.objectValue)
        #expect(members.count == 2)
        #expect(members.map(\.0) == ["a", "b"])
        #expect(value["a"] == .number("3"))
        #expect(value.jsonText == #"{"a":3,"b":2}"#)
    }

    @Test func hugeNumbersAreKeptAsTextNotRounded() throws {
        let big = "123456789012345678901234567890"
        let document = #"{"id": \#(big), "tiny": 1e-400, "huge": 1e400, "precise": 0.1000000000000000055511151231257827}"#
        let value = try JSONParser.parse(document)
        #expect(value["id"] == .number(big))
        #expect(value["tiny"] == .number("1e-400"))
        #expect(value["huge"] == .number("1e400"))
        #expect(value.jsonText == #"{"id":\#(big),"tiny":1e-400,"huge":1e400,"precise":0.1000000000000000055511151231257827}"#)
    }

    @Test func numbersUpTo1000CharactersAreAcceptedAndLongerOnesRejected() throws {
        let limit = String(repeating: "9", count: 1000)
        #expect(try JSONParser.parse(limit) == .number(limit))
        #expect(throws: JSONParseError.self) { try JSONParser.parse(limit + "9") }
    }

    @Test func nestingUpToTheLimitParses() throws {
        let depth = JSONParser.defaultMaxDepth
        let arrays = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        #expect(try JSONParser.parse(arrays).arrayValue != nil)
        let objects = String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth)
        #expect(try JSONParser.parse(objects)["a"] != nil)
    }

    // MARK: Rejections

    @Test func nestingOneBeyondTheLimitIsRejected() throws {
        let depth = JSONParser.defaultMaxDepth + 1
        let arrays = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(arrays) }
        #expect(throws: JSONParseError.self) { try JSONParser.parse("[[[1]]]", maxDepth: 2) }
        #expect(try JSONParser.parse("[[1]]", maxDepth: 2).arrayValue != nil)
    }

    @Test(arguments: ["[", "{\"a\":", "[{\"a\":"])
    func hundredThousandLevelsOfNestingAreAnErrorNotACrash(opener: String) {
        let hostile = String(repeating: opener, count: 100_000)
        let closed = hostile + String(repeating: opener.hasPrefix("[") && opener.count == 1 ? "]" : "}", count: 100_000)
        for document in [hostile, closed] {
            #expect(throws: JSONParseError.self) { try JSONParser.parse(document) }
        }
    }

    @Test(arguments: [
        [0xFF] as [UInt8],  // never valid in UTF-8
        [0xC0, 0x80],  // overlong NUL
        [0xE2, 0x82],  // truncated three-byte sequence
        [0xED, 0xA0, 0x80],  // a UTF-16 surrogate encoded as UTF-8
        [0xF4, 0x90, 0x80, 0x80],  // above U+10FFFF
        [0x80],  // continuation byte alone
    ])
    func invalidUTF8InAStringIsRejected(bad: [UInt8]) {
        let plain = Array("\"ok ".utf8) + bad + Array(" ok\"".utf8)
        let escaped = Array("\"\\n ".utf8) + bad + Array("\"".utf8)  // the escape-decoding path
        let asKey = Array("{\"".utf8) + bad + Array("\": 1}".utf8)
        for document in [plain, escaped, asKey] {
            #expect(throws: JSONParseError.self) { try JSONParser.parse(document) }
        }
    }

    @Test func invalidUTF8OutsideStringsIsRejected() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0xFF]) }
        #expect(throws: JSONParseError.self) { try JSONParser.parse(Array("[1,".utf8) + [0xC3] + Array("]".utf8)) }
    }

    @Test(arguments: [
        #""\ud800""#,  // high surrogate at the end
        #""\udc00""#,  // low surrogate alone
        #""\ud800x""#,  // high surrogate followed by a plain character
        #""\ud800\u0041""#,  // high surrogate followed by a non-surrogate escape
        #""\ud800\ud800""#,  // two high surrogates
        #""\ude00\ud83d""#,  // pair in the wrong order
    ])
    func loneSurrogatesAreRejected(document: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(document) }
    }

    @Test(arguments: [0x00, 0x01, 0x09, 0x0A, 0x0D, 0x1F] as [UInt8])
    func unescapedControlCharactersInStringsAreRejected(control: UInt8) {
        let fast = Array("\"a".utf8) + [control] + Array("b\"".utf8)
        let slow = Array("\"\\t".utf8) + [control] + Array("\"".utf8)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(fast) }
        #expect(throws: JSONParseError.self) { try JSONParser.parse(slow) }
    }

    @Test(arguments: ["{} x", "1 2", "[]]", "{}{}", "null,", "\"a\"\"b\"", "true false", "{}\u{0}"])
    func trailingDataIsRejected(document: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(document) }
    }

    @Test(arguments: [
        "", "   ", "01", "-", "+1", "1.", ".5", "1e", "1e+", "0x10", "NaN", "Infinity", "-Infinity", "1.e3", "--1",
    ])
    func malformedNumbersAndEmptyInputAreRejected(document: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(document) }
    }

    @Test(arguments: [
        "tru", "nul", "True", "NULL", "falsey", "[1,]", "[,1]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "{'a':1}",
        "{\"a\":}", "[1 2]", "{\"a\":1 \"b\":2}", "\"abc", "[1", "{\"a\":1", "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"",
        "\u{0C}1", "{1:2}",
    ])
    func malformedSyntaxIsRejected(document: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(document) }
    }

    @Test func errorsReportWhereTheInputWentWrong() {
        do {
            _ = try JSONParser.parse("{} x")
            Issue.record("parsed trailing data")
        } catch {
            #expect(error.offset == 3)
            #expect(error.reason == "unexpected data after the JSON value")
        }
        do {
            _ = try JSONParser.parse(#"{"a": [1, 2,, 3]}"#)
            Issue.record("parsed a double comma")
        } catch {
            #expect(error.offset == 12)
        }
    }
}
