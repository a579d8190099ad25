import Testing
@testable import Transport

@Suite("HTTPHeaders")
struct HTTPHeadersTests {
    @Test
    func looksUpFirstValueIgnoringNameCase() {
        let headers: HTTPHeaders = ["Content-Type": "a", "content-type": "b"]
        #expect(headers["CONTENT-TYPE"] == "a")
        #expect(headers["Content-Length"] == nil)
        #expect(headers.contains("content-TYPE"))
        #expect(!headers.contains("Content"))
    }

    @Test
    func returnsEveryValueInArrivalOrder() {
        var headers = HTTPHeaders()
        headers.add("Via", "1")
        headers.add("Host", "h")
        headers.add("VIA", "2")
        headers.add("via", "3")
        #expect(headers.values("Via") == ["1", "2", "3"])
        #expect(headers.count == 4)
        #expect(headers.map(\.name) == ["Via", "Host", "VIA", "via"])
    }

    @Test
    func setReplacesEveryFieldOfThatName() {
        var headers: HTTPHeaders = ["A": "1", "B": "2", "a": "3"]
        headers.set("a", "new")
        #expect(headers.values("A") == ["new"])
        #expect(headers.map(\.name) == ["B", "a"])
    }

    @Test
    func removeDropsEveryFieldOfThatName() {
        var headers: HTTPHeaders = ["Content-Encoding": "gzip", "Host": "h", "content-encoding": "br"]
        headers.remove("CONTENT-ENCODING")
        #expect(headers.map(\.name) == ["Host"])
    }

    @Test
    func splitsListValuesIntoTrimmedLowercasedTokens() {
        // RFC 9110 §5.6.1: empty list elements are ignored.
        let headers: HTTPHeaders = ["Connection": " Keep-Alive ,, Upgrade\t", "connection": "CLOSE", "X": "y"]
        #expect(headers.tokens("Connection") == ["keep-alive", "upgrade", "close"])
        #expect(headers.tokens("Missing").isEmpty)
    }

    @Test
    func comparesOnlyASCIILettersCaseInsensitively() {
        #expect("Content-Length".equalsIgnoringASCIICase("cONTENT-lENGTH"))
        #expect(!"Content-Length".equalsIgnoringASCIICase("Content-Lengt"))
        // Bytes that differ only in bit 0x20 but are not letters must not match.
        #expect(!"@".equalsIgnoringASCIICase("`"))
        #expect(!"[".equalsIgnoringASCIICase("{"))
        #expect(!"-".equalsIgnoringASCIICase("\r"))
        #expect(!"\u{C3}".equalsIgnoringASCIICase("\u{E3}"))
    }

    @Test
    func trimsOnlySpacesAndTabs() {
        #expect(" \t a b \t ".trimmingOWS() == "a b")
        #expect("\u{0B}x\u{0B}".trimmingOWS() == "\u{0B}x\u{0B}")
        #expect(" \t ".trimmingOWS() == "")
    }
}
