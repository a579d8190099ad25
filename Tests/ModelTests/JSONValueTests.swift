import Model
import Testing

/// `JSONValue` accessors and equality: numbers compare by value without losing precision,
/// objects by members regardless of order.
@Suite("JSON value")
struct JSONValueTests {
    @Test(arguments: [
        ("1", "1.0"), ("100", "1e2"), ("0.5", "5E-1"), ("-0", "0"), ("1.500", "1.5"), ("12300", "1.23e+4"),
        ("0.001", "1e-3"), ("123456789012345678901234567890", "1.2345678901234567890123456789e29"),
    ])
    func equalNumbersWrittenDifferentlyAreEqual(lhs: String, rhs: String) {
        #expect(JSONValue.number(lhs) == JSONValue.number(rhs))
        #expect(JSONValue.number(rhs) == JSONValue.number(lhs))
    }

    @Test(arguments: [
        ("12345678901234567890", "12345678901234567891"),  // equal as Double, different numbers
        ("9007199254740993", "9007199254740992"),
        ("1e400", "2e400"),  // both overflow Double to infinity
        ("1e-400", "2e-400"),  // both underflow to zero
        ("0.1", "0.10000000000000001"),
        ("1", "-1"),
        ("10", "1"),
    ])
    func differentNumbersAreNotEqualEvenWhenTheirDoublesAre(lhs: String, rhs: String) {
        #expect(JSONValue.number(lhs) != JSONValue.number(rhs))
    }

    @Test func objectsCompareByMembersInAnyOrder() throws {
        #expect(try JSONParser.parse(#"{"a":1,"b":[2,{"c":3}]}"#) == JSONParser.parse(#"{"b":[2,{"c":3}],"a":1}"#))
        #expect(try JSONParser.parse(#"{"a":1}"#) != JSONParser.parse(#"{"a":1,"b":2}"#))
        #expect(try JSONParser.parse(#"{"a":1,"b":2}"#) != JSONParser.parse(#"{"a":1}"#))
        #expect(try JSONParser.parse("[1,2]") != JSONParser.parse("[2,1]"))
        #expect(JSONValue.string("1") != JSONValue.number("1"))
        #expect(JSONValue.null != JSONValue.bool(false))
    }

    @Test func integerAccessorAcceptsOnlyWholeNumbersInRange() {
        #expect(JSONValue.number("42").intValue == 42)
        #expect(JSONValue.number("1e3").intValue == 1000)
        #expect(JSONValue.number("2.0").intValue == 2)
        #expect(JSONValue.number("-7").intValue == -7)
        #expect(JSONValue.number("9223372036854775807").intValue == Int64.max)
        #expect(JSONValue.number("1.5").intValue == nil)
        #expect(JSONValue.number("1e19").intValue == nil)
        #expect(JSONValue.string("42").intValue == nil)
    }

    @Test func accessorsReturnNilForOtherKinds() {
        let value = JSONValue.string("x")
        #expect(value.doubleValue == nil)
        #expect(value.boolValue == nil)
        #expect(value.arrayValue == nil)
        #expect(value.objectValue == nil)
        #expect(value["key"] == nil)
        #expect(!value.isNull)
        #expect(JSONValue.null.isNull)
        #expect(JSONValue.number("2.5").doubleValue == 2.5)
    }

    @Test func intAndStringInitialisersBuildTheObviousValues() {
        #expect(JSONValue(7) == .number("7"))
        #expect(JSONValue(-7).jsonText == "-7")
        #expect(JSONValue("text") == .string("text"))
    }

    @Test func withUniqueKeysReadsRepeatedKeysAsTheParserDoes() throws {
        let built = JSONValue.object([
            ("a", JSONValue(1)), ("b", .array([.object([("x", JSONValue(1)), ("x", .null)])])),
            ("a", .object([("y", JSONValue(2)), ("z", JSONValue(3)), ("y", JSONValue(4))])),
        ])
        let unique = built.withUniqueKeys
        #expect(unique.jsonText == #"{"a":{"y":4,"z":3},"b":[{"x":null}]}"#)
        #expect(unique.jsonText == (try JSONParser.parse(built.jsonText)).jsonText)
        let plain = try JSONParser.parse(#"{"a":[1,{"b":2}],"c":{"d":null}}"#)
        #expect(plain.withUniqueKeys.jsonText == plain.jsonText)
    }
}
