/// The `masked` input/output policy: personal data in trace and observation input, output and
/// metadata is replaced by a typed placeholder before it is stored.
///
/// The scan is one left-to-right pass over the UTF-8 bytes. Every pattern is ASCII, so
/// placeholders replace ASCII bytes only and all other text stays byte-identical; text outside
/// ASCII never matches and acts as a separator. At each position the kinds are tried in the order
/// email, API key with a known prefix (and JWT, Bearer token), phone starting with `+` or `(`,
/// IPv4, IPv6, card, other phone, generic API key; the first match wins and scanning resumes
/// after it.
///
/// A match never starts inside a *word*, i.e. right after one of `A-Z a-z 0-9 _ -` (so nothing is
/// found inside identifiers, hashes or ids), nor right after `.` `,` `/` `:` that follow a digit
/// (the tail of a date, time, version or decimal: `2026/12/02/…`, `10:30:…`, `1.2.…`); numbers
/// also not right after `+`. A number must end cleanly: not before a letter, digit or `_`, nor
/// before `.` `,` `/` `:` and a digit, nor before `-` and a letter, digit or `_`.
///
/// - `[EMAIL]`: `local@domain`. The local part is a run of `A-Z a-z 0-9 . _ % + -` (leading
///   `.` `+` `-` `%` are left outside the match); the domain has at least two dot-separated
///   labels of `A-Z a-z 0-9 -`, the last of two or more letters (a trailing `.` or non-letter
///   label is left out). Not masked: `user@localhost`, `@mention`, `name@1.2.3`, IDN domains.
/// - `[PHONE]`, formatted numbers only (a bare digit run is never a phone):
///   - international: `+` and 8–15 digits (E.164), in groups separated by single spaces, dots or
///     dashes, optionally with a parenthesised group: `+14155552671`, `+1 (415) 555-2671`,
///     `+44 (0)20 7946 0958`, `+33 1 23 45 67 89`;
///   - North American: `NXX-NXX-XXXX` with N = 2–9, separators space, dot or dash, the area
///     code optionally in parentheses, optionally after `1` and a separator:
///     `(415) 555-2671`, `415.555.2671`, `1-800-555-0199`;
///   - trunk-prefix national: a first group of 2–5 digits starting with `0` (or `(0…)`), then
///     groups of 2–8 digits, one separator kind throughout (space, dash, slash; dot only with
///     3+ groups), 9–12 digits in all (15 after `00`): `020 7946 0958`, `030/1234567`,
///     `01.23.45.67.89`.
///   The longest group sequence that ends cleanly is taken. Not masked: `4155552671`, dates
///   (`2026-12-02`, `02.12.2026`), times, years, prices, versions, `0.123456789`.
/// - `[CARD]`: 13–19 digits, bare or in groups separated by one kind of single separator (space
///   or dash; first group of 4, the others 3–6 digits, e.g. `4111 1111 1111 1111`,
///   `3782 822463 10005`), that pass the Luhn check and start like a card network (2221–2720,
///   3, 4, 5 or 6). So epoch-millisecond timestamps and 18–19 digit snowflake ids (which start
///   with 1) and Luhn-invalid numbers are not masked; a bare Luhn-valid 16-digit id starting
///   with 3–6 is.
/// - `[IP_ADDRESS]`:
///   - IPv4: four dot-separated decimal octets 0–255 without leading zeros (`192.168.1.10`;
///     a following `:port` or `/prefix` is kept). Not masked: `1.45.2`, `v1.2.3.4`,
///     `1.2.3.4.5`, `256.1.1.1`;
///   - IPv6: RFC 4291 text forms with 1–4 hex digits per group, either all eight groups or a
///     `::` form with at least two groups, at least one group four hex digits long, and a
///     decimal digit somewhere (`2001:db8::1`, `fe80::1%eth0`, `::ffff:192.0.2.1`). The
///     address ends before a ninth group and before a `:` whose next group is not clean (more
///     than four hex digits, or followed by a letter, digit, `_` or `-`). Not masked:
///     `10:37:02`, `::1`, `1::2` (a Python slice), `std::vector`, MAC addresses, SSH
///     fingerprints (`43:51:43:a1:…`).
/// - `[API_KEY]`:
///   - a word (a run of `A-Z a-z 0-9 _ -`, replaced whole) that starts with `sk-` or `pk-`
///     (covers `sk-lf-`, `pk-lf-`, `sk-proj-`, `sk-ant-`) and has 16+ more characters
///     including a digit; with `sk_live_` `sk_test_` `rk_live_` `rk_test_` and 16+ more;
///     `xoxb-` `xoxp-` `xoxa-` `xoxr-` `xoxs-` `xapp-` and 10+ more; `glpat-` and 20+ more;
///     `ghp_` `gho_` `ghu_` `ghs_` `ghr_` `npm_` `hf_` and 30+ letters and digits;
///     `github_pat_` and 30+ more; `AKIA` or `ASIA` and exactly 16 of `A-Z 0-9`; `AIza` and
///     exactly 35 more;
///   - a JWT: `eyJ…` `.` `eyJ…` `.` signature (each of the first two segments 10+ characters);
///   - `Bearer` (any case) and spaces, then a token of RFC 6750 `b64token` characters, 16+
///     long with a digit: only the token is replaced (`Bearer [API_KEY]`);
///   - generic: any other run of 32+ of `A-Z a-z 0-9 _ -` that has a digit, an upper-case and
///     a lower-case letter, and fewer than half of its letters and digits in runs of 3+
///     lower-case letters (so identifiers like `getUserProfileByIdV2AndCacheResult` stay),
///     unless it is id-like: every part between `-` and `_` is hex in one case or letters only
///     (UUIDs in either case, hex trace, span and observation ids, sha1/sha256 hashes, also
///     after a word like `trace-`), or it starts with an LLM API id prefix (`chatcmpl-`,
///     `cmpl-`, `resp_`, `msg_`, `toolu_`, `call_`, `req_`, `batch_`, `file-`, `run_`,
///     `thread_`, `asst_`, `step_`). Runs in one case only (lower-case hex of any length
///     included) are never masked.
///
/// Runs of 256 or more base64 characters (`A-Z a-z 0-9 + / = _ -`) that contain `+` or `/`
/// (data URLs, embedded images) are left untouched, because masking pieces of them would only
/// corrupt the payload.
///
/// Masking is idempotent (tested over random mixtures): placeholders never match; the rules read
/// the last bytes of a match as the placeholder's (`]`) so text after it is judged the same in
/// a second pass; and a rule that looks past the end of a number or address only looks where
/// no other match can start.
package enum PIIMasker {
    /// The kinds of personal data that are masked, for docs and counters.
    package enum Kind: String, CaseIterable, Sendable {
        case email, phone, card, ipAddress, apiKey

        /// The text that replaces a match.
        package var placeholder: String {
            switch self {
            case .email: "[EMAIL]"
            case .phone: "[PHONE]"
            case .card: "[CARD]"
            case .ipAddress: "[IP_ADDRESS]"
            case .apiKey: "[API_KEY]"
            }
        }
    }

    /// `text` with every match replaced by its placeholder; the same string, not a copy, when
    /// nothing matched.
    package static func mask(_ text: String) -> String {
        masked(text) ?? text
    }

    /// Masks every string in `value`: object keys are kept, and numbers, booleans and null are
    /// untouched (a JSON number is never masked). Unchanged parts are not rebuilt.
    package static func mask(_ value: JSONValue) -> JSONValue {
        masked(value) ?? value
    }

    /// The masked text, or nil when nothing matched.
    static func masked(_ text: String) -> String? {
        var text = text
        let bytes: [UInt8]? = text.withUTF8 { utf8 in
            characterClasses.withUnsafeBufferPointer { table in
                var scanner = PIIScanner(utf8, classes: table)
                return scanner.scan()
            }
        }
        return bytes.map { String(decoding: $0, as: UTF8.self) }
    }

    /// The masked value, or nil when nothing in it matched.
    static func masked(_ value: JSONValue) -> JSONValue? {
        switch value {
        case .null, .bool, .number:
            return nil
        case .string(let text):
            return masked(text).map(JSONValue.string)
        case .array(let elements):
            var result: [JSONValue]?
            for (index, element) in elements.enumerated() {
                if let changed = masked(element) {
                    if result == nil { result = elements }
                    result![index] = changed
                }
            }
            return result.map(JSONValue.array)
        case .object(let members):
            var result: [(String, JSONValue)]?
            for (index, (key, member)) in members.enumerated() {
                if let changed = masked(member) {
                    if result == nil { result = members }
                    result![index] = (key, changed)
                }
            }
            return result.map(JSONValue.object)
        case .raw(let text):
            // Stored JSON text: masking the text itself could turn a JSON number into a bare
            // placeholder or miss `\u0040`-escaped text, so mask its parsed value. It was written
            // by this process and parses; if it ever does not, it is left as it is.
            guard let parsed = try? JSONParser.parse(text) else { return nil }
            return masked(parsed)
        }
    }

    // MARK: Character classes

    static let digit: UInt8 = 1
    static let upper: UInt8 = 2
    static let lower: UInt8 = 4
    /// `A-F a-f`.
    static let hexLetter: UInt8 = 8
    /// `_` and `-`, which join letters and digits into one word.
    static let joiner: UInt8 = 16
    /// `.` `%` `+`, which an email local part also holds.
    static let localPunctuation: UInt8 = 32
    /// `+` `/` `=`, which a base64 run also holds.
    static let base64Punctuation: UInt8 = 64

    static let letter = upper | lower
    static let alphanumeric = digit | letter
    static let hex = digit | hexLetter
    /// `A-Z a-z 0-9 _ -`: a word, and the body of an API key.
    static let word = alphanumeric | joiner
    /// `A-Z a-z 0-9 . _ % + -`: an email local part.
    static let local = word | localPunctuation
    static let base64 = word | base64Punctuation

    /// Class bits per byte; bytes outside ASCII have none.
    static let characterClasses: [UInt8] = (0..<256).map { value in
        let byte = UInt8(value)
        var bits: UInt8 = 0
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): bits = digit
        case UInt8(ascii: "A")...UInt8(ascii: "F"): bits = upper | hexLetter
        case UInt8(ascii: "G")...UInt8(ascii: "Z"): bits = upper
        case UInt8(ascii: "a")...UInt8(ascii: "f"): bits = lower | hexLetter
        case UInt8(ascii: "g")...UInt8(ascii: "z"): bits = lower
        case UInt8(ascii: "_"), UInt8(ascii: "-"): bits = joiner
        case UInt8(ascii: "."), UInt8(ascii: "%"): bits = localPunctuation
        case UInt8(ascii: "+"): bits = localPunctuation | base64Punctuation
        case UInt8(ascii: "/"), UInt8(ascii: "="): bits = base64Punctuation
        default: break
        }
        return bits
    }
}
