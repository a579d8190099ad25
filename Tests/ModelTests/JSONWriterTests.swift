import Model
import Testing

/// `JSONWriter` / `JSONValue.jsonText`: compact output that parses back to the same value, with
/// number text and key order preserved.
@Suite("JSON writer")
struct JSONWriterTests {
    @Test(arguments: [
        #"{"a":1,"b":[true,false,null],"c":{"d":"e"}}"#,
        #"[1e3,-0,2.5E-7,123456789012345678901234567890]"#,
        #"{"z":1,"a":2,"m":3}"#,
        #""Lisbon 21°C — 東京 😀""#,
        #"[[],{},"",[[]],{"":{}}]"#,
        #""quote \" backslash \\ newline \n tab \t cr \r bs \b ff \f nul \u0000 us \u001f""#,
    ])
    func compactDocumentsRoundTripByteForByte(document: String) throws {
        let value = try JSONParser.parse(document)
        #expect(value.jsonText == document)
        #expect(try JSONParser.parse(value.jsonText) == value)
    }

    @Test func reformatsWhitespaceAndNormalisesEscapes() throws {
        let value = try JSONParser.parse(" { \"a\" : [ 1 , \"\\u0041\\/\" ] } ")
        #expect(value.jsonText == #"{"a":[1,"A/"]}"#)
    }

    @Test func fixtureBatchRoundTripsThroughTheWriter() throws {
        for name in ["ingestion-batch-1.json", "ingestion-batch-2.json"] {
            let value = try Fixtures.json("langfuse-python-2.60.10/\(name)")
            let again = try JSONParser.parse(value.jsonText)
            #expect(again == value)
            #expect(again.jsonText == value.jsonText)
        }
    }

    @Test func everyControlCharacterIsEscaped() throws {
        let text = String(decoding: (0..<0x20).map { UInt8($0) }, as: UTF8.self)
        let written = JSONValue.string(text).jsonText
        #expect(!written.utf8.contains { $0 < 0x20 })
        #expect(try JSONParser.parse(written).stringValue == text)
    }

    @Test func keysAreEscapedLikeValues() throws {
        let value = JSONValue.object([("a\"b\n", .string("x"))])
        #expect(value.jsonText == #"{"a\"b\n":"x"}"#)
        #expect(try JSONParser.parse(value.jsonText)["a\"b\n"]?.stringValue == "x")
    }

    @Test func doublesAreWrittenShortestWithoutTrailingZeroFraction() {
        #expect(JSONValue(1.0) == .number("1"))
        #expect(JSONValue(1.0).jsonText == "1")
        #expect(JSONValue(-3.0).jsonText == "-3")
        #expect(JSONValue(2.4e-05).jsonText == "2.4e-05")
        #expect(JSONValue(0.1).jsonText == "0.1")
        #expect(Double(JSONValue(1e300).jsonText) == 1e300)
    }

    @Test func nonFiniteDoublesBecomeNull() {
        #expect(JSONValue(Double.nan) == .null)
        #expect(JSONValue(Double.infinity) == .null)
        #expect(JSONValue(-Double.infinity).jsonText == "null")
    }

    @Test func writtenDoublesParseBackToTheSameDouble() throws {
        for number in [2.4e-05, 4.5e-05, 6.3e-05, 0.15e-6, 1.0 / 3.0, -1234.5678, Double.leastNonzeroMagnitude, 1.7976931348623157e308] {
            let value = try JSONParser.parse(JSONValue(number).jsonText)
            #expect(value.doubleValue == number)
        }
    }
}
