import Model
import Testing

/// The streaming writer used by large read responses must produce exactly what the tree
/// writer produces for the same document, commas and nesting included.
@Suite("JSON stream")
struct JSONStreamTests {
    @Test func nestedDocumentMatchesTheTreeWriter() throws {
        var stream = JSONStream(capacity: 16)
        stream.beginObject()
        stream.member("id", .string("a\"b\\c\n"))
        stream.dynamicMember("dynamic key \u{1}", .number("1.5"))
        stream.key("items")
        stream.beginArray()
        stream.beginObject()
        stream.member("children", .array([]))
        stream.endObject()
        stream.value(.null)
        stream.beginArray()
        stream.endArray()
        stream.value(.raw("{\"x\":[1,2]}"))
        stream.endArray()
        stream.key("empty")
        stream.beginObject()
        stream.endObject()
        stream.member("last", .bool(true))
        stream.endObject()

        let tree = JSONValue.object([
            ("id", .string("a\"b\\c\n")), ("dynamic key \u{1}", .number("1.5")),
            ("items", .array([.object([("children", .array([]))]), .null, .array([]), .raw("{\"x\":[1,2]}")])),
            ("empty", .object([])), ("last", .bool(true)),
        ])
        #expect(stream.bytes == tree.jsonBytes)
        // And it is valid JSON that reads back to the same value.
        #expect(try JSONParser.parse(stream.bytes) == JSONParser.parse(tree.jsonBytes))
    }

    @Test func escapedAndPlainStringsAreWrittenAlike() {
        for text in ["plain ascii", "ünïcödé ✓", "tab\there", "quote\"", "back\\slash", "\u{0}nul", ""] {
            var bytes: [UInt8] = []
            JSONWriter.writeString(text, into: &bytes)
            #expect((try? JSONParser.parse(bytes))?.stringValue == text)
        }
    }
}

@Suite("UTF-8 search")
struct UTF8SearchTests {
    @Test(arguments: [
        ("input_tokens", "input", true), ("cache_read_input", "input", true), ("total", "input", false),
        ("in", "input", false), ("", "x", false), ("abc", "", true), ("ababc", "abc", true), ("ünï", "nï", true),
    ])
    func containsUTF8(haystack: String, needle: String, expected: Bool) {
        #expect(haystack.containsUTF8(needle) == expected)
        #expect(haystack.containsUTF8(needle) == haystack.contains(needle))
    }

    @Test func containsByteSeesACarriageReturnInsideCRLF() {
        // "\r\n" is one Character, so Character-based `contains("\r")` misses it.
        #expect("a\r\nb".containsByte(UInt8(ascii: "\r")))
        #expect(!"a\nb".containsByte(UInt8(ascii: "\r")))
    }
}
