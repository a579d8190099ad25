/// One left-to-right pass of `PIIMasker` over a string's UTF-8 bytes (the rules are in its doc
/// comment). Output is only allocated at the first match.
///
/// Linear time: a detector starts only where its class of characters starts (a word, an email
/// local part, a base64 run), so each run is scanned once per detector, and the numeric
/// detectors look at most a few dozen bytes ahead. No detector backtracks.
struct PIIScanner {
    private typealias Kind = PIIMasker.Kind

    private let bytes: UnsafeBufferPointer<UInt8>
    private let classes: UnsafeBufferPointer<UInt8>
    private let count: Int
    private var output: [UInt8] = []
    private var changed = false
    /// End of the last match, and of the text already copied to `output`.
    private var matchEnd = 0
    /// The run of email local-part characters found last, so that the words of one run
    /// (`a.b.c…`) do not each scan the rest of it.
    private var localRun = 0..<0

    init(_ bytes: UnsafeBufferPointer<UInt8>, classes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        self.classes = classes
        self.count = bytes.count
    }

    /// The masked bytes, or nil when nothing matched.
    mutating func scan() -> [UInt8]? {
        var index = 0
        while index < count {
            let byte = bytes[index]
            let bits = classOf(byte)
            // Spaces, most punctuation and everything outside ASCII start nothing.
            guard bits != 0 || byte == UInt8(ascii: "(") || byte == UInt8(ascii: ":") else {
                index += 1
                continue
            }
            let previousBits = classOf(behind(index - 1))
            if bits & PIIMasker.word != 0 && previousBits & PIIMasker.word != 0 {
                // Inside a word nothing starts: skip the rest of it (most of prose).
                index += 1
                while index < count && classOf(bytes[index]) & PIIMasker.word != 0 { index += 1 }
                continue
            }
            let wordEnd = bits & PIIMasker.word != 0 ? run(from: index, PIIMasker.word) : index
            if bits & PIIMasker.base64 != 0 && previousBits & PIIMasker.base64 == 0,
                let end = base64Payload(at: index, wordEnd: wordEnd)
            {
                index = end
                continue
            }
            if bits & PIIMasker.letter != 0 && isPlainWord(index..<wordEnd) {
                index = wordEnd
                continue
            }
            if let (start, end, kind) = match(at: index, bits: bits, previousBits: previousBits, wordEnd: wordEnd) {
                replace(start..<end, with: kind)
                index = end
            } else {
                index += 1
            }
        }
        guard changed else { return nil }
        output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[matchEnd..<count]))
        return output
    }

    /// Whether no match can start in the word `range`, which starts with a letter: decided
    /// here, without calling the detectors, for most words of prose. It is not `Bearer`, not
    /// long enough for a generic key (32), not a JWT or well-known key prefix, not an IPv6
    /// group (up to 4 characters before `:`), and not the start of an email's local part.
    @inline(__always)
    private mutating func isPlainWord(_ range: Range<Int>) -> Bool {
        let length = range.count
        let first = bytes[range.lowerBound]
        guard length < 32 && !(length == 6 && first | 0x20 == UInt8(ascii: "b")) else { return false }
        if length >= 10 {
            let second = bytes[range.lowerBound + 1]
            if first == UInt8(ascii: "e") && second == UInt8(ascii: "y") { return false }
            if length >= 15 && Self.mayStartKey(first, second) { return false }
        }
        let next = at(range.upperBound)
        if next == UInt8(ascii: ":") { return length > 4 }
        if next == UInt8(ascii: "@") { return false }
        return classOf(next) & PIIMasker.localPunctuation == 0 || at(localRunEnd(from: range.upperBound)) != UInt8(ascii: "@")
    }

    /// The end of the run of email local-part characters that holds `position`.
    @inline(__always)
    private mutating func localRunEnd(from position: Int) -> Int {
        if !localRun.contains(position) {
            localRun = position..<run(from: position, PIIMasker.local)
        }
        return localRun.upperBound
    }

    /// The end of the base64 run starting at `index` if it is a payload: 256+ characters with a
    /// `+` or `/`. `wordEnd` is where its leading word ends; a word not followed by `+` `/` `=`
    /// is the whole run, so most words cost nothing more here.
    private func base64Payload(at index: Int, wordEnd: Int) -> Int? {
        let next = at(wordEnd)
        guard wordEnd - index >= Self.base64BlobLength || next == UInt8(ascii: "+") || next == UInt8(ascii: "/")
            || next == UInt8(ascii: "=")
        else { return nil }
        let end = run(from: wordEnd, PIIMasker.base64)
        guard end - index >= Self.base64BlobLength,
            bytes[index..<end].contains(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "/") })
        else { return nil }
        return end
    }

    /// A base64 run this long (with `+` or `/`) is a payload, not text; API keys are shorter.
    private static let base64BlobLength = 256

    // MARK: Bytes

    @inline(__always)
    private func classOf(_ byte: UInt8) -> UInt8 { classes[Int(byte)] }

    @inline(__always)
    private func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

    /// The byte at `index`, or 0 past the end.
    @inline(__always)
    private func at(_ index: Int) -> UInt8 { index < count ? bytes[index] : 0 }

    /// The byte at `index` (< the scan position) as a second pass would see it: the last byte of
    /// a match reads as the placeholder's `]`, the one before as a placeholder letter, and the
    /// start of the text as `]` too. Rules look back at most two bytes.
    @inline(__always)
    private func behind(_ index: Int) -> UInt8 {
        if index >= matchEnd { return bytes[index] }
        return index == matchEnd - 1 ? UInt8(ascii: "]") : UInt8(ascii: "X")
    }

    /// The end of the run of bytes in `mask` that starts at `start`.
    @inline(__always)
    private func run(from start: Int, _ mask: UInt8) -> Int {
        var end = start
        while end < count && classes[Int(bytes[end])] & mask != 0 { end += 1 }
        return end
    }

    /// The end of the run of digits that starts at `start`, looking at no more than `limit`.
    @inline(__always)
    private func digits(from start: Int, limit: Int) -> Int {
        var end = start
        while end < count && end - start < limit && isDigit(bytes[end]) { end += 1 }
        return end
    }

    private mutating func replace(_ range: Range<Int>, with kind: Kind) {
        if !changed {
            changed = true
            output.reserveCapacity(count + 16)
        }
        output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[matchEnd..<range.lowerBound]))
        output.append(contentsOf: kind.placeholder.utf8)
        matchEnd = range.upperBound
    }

    // MARK: Dispatch

    /// The match starting at `index`; `wordEnd` is the end of the word starting there (`index`
    /// when none does).
    private mutating func match(at index: Int, bits: UInt8, previousBits: UInt8, wordEnd: Int) -> (Int, Int, Kind)? {
        let byte = bytes[index]
        let previous = behind(index - 1)
        // Nothing starts after `.` `,` `/` `:` that follow a digit: that is the tail of a date,
        // time, version or decimal. It also keeps masking idempotent: a number's end may then
        // look at the byte after such a separator, which no other match can have replaced.
        if Self.isNumberPunctuation(previous) && isDigit(behind(index - 2)) { return nil }
        if bits & PIIMasker.local != 0 && previousBits & PIIMasker.local == 0,
            let (start, end) = email(at: index, wordEnd: wordEnd)
        {
            return (start, end, .email)
        }
        let wordStart = wordEnd > index
        if wordStart, let (start, end) = prefixedKey(at: index, wordEnd: wordEnd) {
            return (start, end, .apiKey)
        }
        if previousBits & PIIMasker.word == 0 {
            let ipv6Start = previous != UInt8(ascii: ":") && previous != UInt8(ascii: ".")
            if byte == UInt8(ascii: "+") {
                if let end = internationalPhone(at: index) { return (index, end, .phone) }
            } else if byte == UInt8(ascii: "(") {
                if let end = nationalPhone(at: index) { return (index, end, .phone) }
            } else if isDigit(byte) {
                // After `+` the international phone rule has had its try.
                if previous != UInt8(ascii: "+"), let match = number(at: index, ipv6Start: ipv6Start) {
                    return match
                }
            } else if (bits & PIIMasker.hex != 0 || byte == UInt8(ascii: ":")) && ipv6Start {
                if let end = ipv6(at: index) { return (index, end, .ipAddress) }
            }
        }
        if wordStart && isGenericKey(index..<wordEnd) {
            return (index, wordEnd, .apiKey)
        }
        return nil
    }

    /// An IP address, card or phone number starting with the digit at `index`. The digits there
    /// and the byte after them rule out most detectors before they run (most numbers in text
    /// are years, counts and prices).
    private func number(at index: Int, ipv6Start: Bool) -> (Int, Int, Kind)? {
        // 20 is one past the longest card number.
        let digitsEnd = digits(from: index, limit: 20)
        let length = digitsEnd - index
        let next = at(digitsEnd)
        let separated = Self.isPhoneSeparator(next)
        if length <= 3 && next == UInt8(ascii: "."), let end = ipv4(at: index) { return (index, end, .ipAddress) }
        if ipv6Start && length <= 4 && (next == UInt8(ascii: ":") || classOf(next) & PIIMasker.hexLetter != 0),
            let end = ipv6(at: index)
        {
            return (index, end, .ipAddress)
        }
        if (13...19).contains(length) || (length == 4 && (next == UInt8(ascii: " ") || next == UInt8(ascii: "-"))),
            let end = card(at: index)
        {
            return (index, end, .card)
        }
        let mayBeNorthAmerican = (length == 1 && bytes[index] == UInt8(ascii: "1") && separated) || (length == 3 && separated)
        if mayBeNorthAmerican, let end = northAmericanPhone(at: index) { return (index, end, .phone) }
        let mayHaveTrunkPrefix = bytes[index] == UInt8(ascii: "0") && (2...5).contains(length)
            && (separated || next == UInt8(ascii: "/"))
        if mayHaveTrunkPrefix, let end = trunkPrefixPhone(at: index) { return (index, end, .phone) }
        return nil
    }

    @inline(__always)
    private static func isNumberPunctuation(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: ".") || byte == UInt8(ascii: ",") || byte == UInt8(ascii: "/") || byte == UInt8(ascii: ":")
    }

    /// Whether a number (which ends in a digit) may end at `end`: not before a letter, digit or
    /// `_`, nor before `.` `,` `/` `:` and a digit (it goes on as a decimal, date or time), nor
    /// before `-` and a word character (it is part of an id). No match can start at the byte
    /// after such a separator or a `-`, so a second pass sees the same bytes here.
    private func numberMayEnd(at end: Int) -> Bool {
        guard end < count else { return true }
        let next = bytes[end]
        if classOf(next) & PIIMasker.alphanumeric != 0 || next == UInt8(ascii: "_") { return false }
        let after = at(end + 1)
        if Self.isNumberPunctuation(next) { return !isDigit(after) }
        if next == UInt8(ascii: "-") { return classOf(after) & PIIMasker.word == 0 }
        return true
    }

    // MARK: Email

    /// The email whose local part is the run starting at `index`, which must end at an `@`.
    private mutating func email(at index: Int, wordEnd: Int) -> (Int, Int)? {
        // The local part starts with the word at `index`, if any.
        let atSign = localRunEnd(from: wordEnd)
        guard at(atSign) == UInt8(ascii: "@") else { return nil }
        var start = index
        while start < atSign, classOf(bytes[start]) & PIIMasker.word == 0 || bytes[start] == UInt8(ascii: "-") {
            start += 1
        }
        guard start < atSign else { return nil }
        // Labels of letters, digits and hyphens; the domain ends after the last label that is
        // all letters (2+) and has a label before it.
        var position = atSign + 1
        var labels = 0
        var end: Int?
        while true {
            let labelStart = position
            var letters = true
            while position < count {
                let bits = classOf(bytes[position])
                guard bits & PIIMasker.alphanumeric != 0 || bytes[position] == UInt8(ascii: "-") else { break }
                if bits & PIIMasker.letter == 0 { letters = false }
                position += 1
            }
            guard position > labelStart else { break }
            labels += 1
            if labels >= 2 && letters && position - labelStart >= 2 { end = position }
            guard at(position) == UInt8(ascii: "."), position + 1 < count else { break }
            position += 1
        }
        return end.map { (start, $0) }
    }

    // MARK: Phone

    /// `+` and 8–15 digits (E.164) in groups.
    private func internationalPhone(at index: Int) -> Int? {
        guard isDigit(at(index + 1)) else { return nil }
        var position = index + 1
        var total = 0
        var best: Int?
        var afterParenthesis = false
        for _ in 0..<16 {
            if at(position) == UInt8(ascii: "(") {
                let end = digits(from: position + 1, limit: 6)
                guard (1...5).contains(end - position - 1), at(end) == UInt8(ascii: ")") else { break }
                total += end - position - 1
                position = end + 1
                afterParenthesis = true
            } else {
                let end = digits(from: position, limit: 16)
                guard end > position else { break }
                total += end - position
                position = end
                afterParenthesis = false
            }
            guard total <= 15 else { break }
            // The number ends after digits, never after `)`.
            if total >= 8 && !afterParenthesis && numberMayEnd(at: position) { best = position }
            let next = at(position)
            if next == UInt8(ascii: " ") || next == UInt8(ascii: ".") || next == UInt8(ascii: "-") {
                let after = at(position + 1)
                guard isDigit(after) || after == UInt8(ascii: "(") else { break }
                position += 1
            } else if !(next == UInt8(ascii: "(") || (afterParenthesis && isDigit(next))) {
                break
            }
        }
        return best
    }

    /// A North American number, else a number with a trunk prefix `0`.
    private func nationalPhone(at index: Int) -> Int? {
        northAmericanPhone(at: index) ?? trunkPrefixPhone(at: index)
    }

    private static func isPhoneSeparator(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
    }

    /// Three digits, the first 2–9 (the NANP's `NXX`), at `position`.
    private func isNXX(at position: Int) -> Bool {
        let first = at(position)
        return first >= UInt8(ascii: "2") && first <= UInt8(ascii: "9") && isDigit(at(position + 1))
            && isDigit(at(position + 2))
    }

    /// `(NXX) NXX-XXXX`, `NXX-NXX-XXXX` (space, dot or dash), optionally after `1` and a separator.
    private func northAmericanPhone(at index: Int) -> Int? {
        var position = index
        if at(position) == UInt8(ascii: "1") && Self.isPhoneSeparator(at(position + 1)) {
            position += 2
        }
        if at(position) == UInt8(ascii: "(") {
            guard isNXX(at: position + 1), at(position + 4) == UInt8(ascii: ")") else { return nil }
            position += 5
            if at(position) == UInt8(ascii: " ") { position += 1 }
        } else {
            guard isNXX(at: position), Self.isPhoneSeparator(at(position + 3)) else { return nil }
            position += 4
        }
        guard isNXX(at: position), Self.isPhoneSeparator(at(position + 3)) else { return nil }
        position += 4
        guard digits(from: position, limit: 5) == position + 4 else { return nil }
        position += 4
        return numberMayEnd(at: position) ? position : nil
    }

    /// `0` and 1–4 digits (or the same in parentheses), then groups of 2–8 digits with one
    /// separator kind throughout; 9–12 digits, or up to 15 after the international `00`.
    private func trunkPrefixPhone(at index: Int) -> Int? {
        var position = index
        var total: Int
        var separator: UInt8?
        if at(position) == UInt8(ascii: "(") {
            let end = digits(from: position + 1, limit: 6)
            guard at(position + 1) == UInt8(ascii: "0"), (1...5).contains(end - position - 1),
                at(end) == UInt8(ascii: ")")
            else { return nil }
            total = end - position - 1
            position = end + 1
            if at(position) == UInt8(ascii: " ") { position += 1 }
            // The group after the parenthesis follows directly.
            guard isDigit(at(position)) else { return nil }
        } else {
            let end = digits(from: position, limit: 6)
            guard at(position) == UInt8(ascii: "0"), (2...5).contains(end - position) else { return nil }
            total = end - position
            position = end
            let next = at(position)
            guard Self.isPhoneSeparator(next) || next == UInt8(ascii: "/"), isDigit(at(position + 1)) else {
                return nil
            }
            separator = next
            position += 1
        }
        let limit = at(index) == UInt8(ascii: "0") && at(index + 1) == UInt8(ascii: "0") ? 15 : 12
        var groups = 1
        var best: Int?
        for _ in 0..<8 {
            let end = digits(from: position, limit: 9)
            guard (2...8).contains(end - position), total + end - position <= limit else { break }
            total += end - position
            position = end
            groups += 1
            let enoughGroups = groups >= (separator == UInt8(ascii: ".") ? 3 : 2)
            if total >= 9 && enoughGroups && numberMayEnd(at: position) { best = position }
            let next = at(position)
            guard isDigit(at(position + 1)) else { break }
            if let separator {
                guard next == separator else { break }
            } else {
                guard Self.isPhoneSeparator(next) || next == UInt8(ascii: "/") else { break }
                separator = next
            }
            position += 1
        }
        return best
    }

    // MARK: Card

    /// 13–19 digits, bare or grouped, passing the Luhn check with a card network's first digits.
    private func card(at index: Int) -> Int? {
        // Digit limits here and below are one past the longest allowed, to see a run too long.
        var end = digits(from: index, limit: 20)
        let firstLength = end - index
        if (13...19).contains(firstLength) {
            return numberMayEnd(at: end) && isCardNumber(index..<end) ? end : nil
        }
        guard firstLength == 4 else { return nil }
        let separator = at(end)
        guard separator == UInt8(ascii: " ") || separator == UInt8(ascii: "-") else { return nil }
        var total = 4
        var groups = 1
        while groups < 6 && at(end) == separator {
            let groupEnd = digits(from: end + 1, limit: 7)
            guard (3...6).contains(groupEnd - end - 1) else { break }
            total += groupEnd - end - 1
            end = groupEnd
            groups += 1
        }
        // The longest grouping that is a card and ends cleanly.
        while groups > 1 {
            if (13...19).contains(total) && numberMayEnd(at: end) && isCardNumber(index..<end) { return end }
            var groupStart = end
            while isDigit(bytes[groupStart - 1]) { groupStart -= 1 }
            total -= end - groupStart
            end = groupStart - 1
            groups -= 1
        }
        return nil
    }

    /// Whether the digits in `range` (separators skipped) make a card number: a card network's
    /// prefix (2221–2720 for Mastercard's 2-series; 3 for Amex, Diners and JCB; 4 Visa;
    /// 5 Mastercard and Maestro; 6 Discover, UnionPay and Maestro) and the Luhn checksum
    /// (ISO/IEC 7812-1, Annex B).
    private func isCardNumber(_ range: Range<Int>) -> Bool {
        switch bytes[range.lowerBound] {
        case UInt8(ascii: "3")...UInt8(ascii: "6"): break
        case UInt8(ascii: "2"):
            // The first group has four digits whether or not the number is grouped.
            var prefix = 0
            for index in range.lowerBound..<range.lowerBound + 4 { prefix = prefix * 10 + Int(bytes[index] &- UInt8(ascii: "0")) }
            guard (2221...2720).contains(prefix) else { return false }
        default: return false
        }
        var sum = 0
        var double = false
        for index in range.reversed() where isDigit(bytes[index]) {
            var value = Int(bytes[index] &- UInt8(ascii: "0"))
            if double {
                value *= 2
                if value > 9 { value -= 9 }
            }
            sum += value
            double.toggle()
        }
        return sum % 10 == 0
    }

    // MARK: IP addresses

    /// Four decimal octets 0–255 without leading zeros, ending cleanly.
    private func ipv4(at index: Int) -> Int? {
        guard let end = dottedQuad(at: index), dottedQuadEndsCleanly(at: end) else { return nil }
        return end
    }

    private func dottedQuad(at index: Int) -> Int? {
        var position = index
        for octet in 0..<4 {
            if octet > 0 {
                guard at(position) == UInt8(ascii: ".") else { return nil }
                position += 1
            }
            let end = digits(from: position, limit: 4)
            let length = end - position
            guard (1...3).contains(length), length == 1 || bytes[position] != UInt8(ascii: "0") else { return nil }
            var value = 0
            for digit in position..<end { value = value * 10 + Int(bytes[digit] &- UInt8(ascii: "0")) }
            guard value <= 255 else { return nil }
            position = end
        }
        return position
    }

    /// Not before a word character, nor before `.` and a digit (a fifth part: a version).
    /// A `:port` or `/prefix` may follow.
    private func dottedQuadEndsCleanly(at end: Int) -> Bool {
        let next = at(end)
        if classOf(next) & PIIMasker.word != 0 { return false }
        return !(next == UInt8(ascii: ".") && isDigit(at(end + 1)))
    }

    /// RFC 4291 §2.2 text forms: eight groups of 1–4 hex digits, or fewer around one `::`, the
    /// last two possibly written as a dotted quad, with an optional `%zone` (RFC 4007 §11).
    ///
    /// The address ends before a `:` whose next group is not clean (more than four hex digits,
    /// or followed by a word character), and before a ninth group: it is what is left when that
    /// group is another match, so a second pass over the masked text ends it at the same place.
    private func ipv6(at index: Int) -> Int? {
        var end = index
        var next = index
        var groups = 0
        var compressed = false
        var longGroup = false
        var decimalDigit = false
        if at(index) == UInt8(ascii: ":") {
            guard at(index + 1) == UInt8(ascii: ":") else { return nil }
            compressed = true
            end = index + 2
            next = end
        }
        while groups < (compressed ? 7 : 8) {
            var position = next
            var decimal = true
            while position < count && position - next < 5 && classOf(bytes[position]) & PIIMasker.hex != 0 {
                if !isDigit(bytes[position]) { decimal = false }
                position += 1
            }
            let length = position - next
            guard length > 0 else { break }
            let after = at(position)
            if after == UInt8(ascii: ".") {
                if decimal && groups <= (compressed ? 5 : 6), let quadEnd = dottedQuad(at: next),
                    dottedQuadEndsCleanly(at: quadEnd)
                {
                    groups += 2
                    end = quadEnd
                    decimalDigit = true
                    break
                }
                // A failed dotted quad.
                if isDigit(bytes[position - 1]) && isDigit(at(position + 1)) { break }
            }
            guard length <= 4 && classOf(after) & PIIMasker.word == 0 else { break }
            groups += 1
            if length == 4 { longGroup = true }
            for digit in next..<position where isDigit(bytes[digit]) { decimalDigit = true }
            end = position
            guard after == UInt8(ascii: ":") else { break }
            if at(position + 1) == UInt8(ascii: ":") {
                guard !compressed else { break }
                compressed = true
                end = position + 2
                next = end
            } else {
                next = position + 1
            }
        }
        let valid = compressed ? groups >= 2 : groups == 8
        guard valid && longGroup && decimalDigit else { return nil }
        // A zone (an interface name or index, 15 characters at most here as in Linux's
        // IFNAMSIZ) is kept with the address only when it ends cleanly.
        if at(end) == UInt8(ascii: "%") {
            var zoneEnd = end + 1
            while zoneEnd < count && zoneEnd - end <= 16 && classOf(bytes[zoneEnd]) & PIIMasker.alphanumeric != 0 {
                zoneEnd += 1
            }
            if (2...16).contains(zoneEnd - end) && classOf(at(zoneEnd)) & PIIMasker.word == 0 { end = zoneEnd }
        }
        return end
    }

    // MARK: API keys

    private struct KeyPrefix {
        let text: [UInt8]
        /// Characters required after the prefix (exactly so many when `exact`).
        let body: Int
        var exact = false
        /// The body holds only letters and digits (and, with `upperOnly`, no lower-case letter).
        var alphanumericOnly = false
        var upperOnly = false
        var needsDigit = false

        init(
            _ text: String, body: Int, exact: Bool = false, alphanumericOnly: Bool = false, upperOnly: Bool = false,
            needsDigit: Bool = false
        ) {
            self.text = Array(text.utf8)
            self.body = body
            self.exact = exact
            self.alphanumericOnly = alphanumericOnly
            self.upperOnly = upperOnly
            self.needsDigit = needsDigit
        }
    }

    /// Well-known key prefixes. `sk-` and `pk-` need a digit so hyphenated words stay.
    private static let keyPrefixes: [KeyPrefix] = [
        KeyPrefix("sk-", body: 16, needsDigit: true),
        KeyPrefix("pk-", body: 16, needsDigit: true),
        KeyPrefix("sk_live_", body: 16), KeyPrefix("sk_test_", body: 16),
        KeyPrefix("rk_live_", body: 16), KeyPrefix("rk_test_", body: 16),
        KeyPrefix("xoxb-", body: 10), KeyPrefix("xoxp-", body: 10), KeyPrefix("xoxa-", body: 10),
        KeyPrefix("xoxr-", body: 10), KeyPrefix("xoxs-", body: 10), KeyPrefix("xapp-", body: 10),
        KeyPrefix("glpat-", body: 20),
        KeyPrefix("ghp_", body: 30, alphanumericOnly: true), KeyPrefix("gho_", body: 30, alphanumericOnly: true),
        KeyPrefix("ghu_", body: 30, alphanumericOnly: true), KeyPrefix("ghs_", body: 30, alphanumericOnly: true),
        KeyPrefix("ghr_", body: 30, alphanumericOnly: true),
        KeyPrefix("github_pat_", body: 30),
        KeyPrefix("npm_", body: 30, alphanumericOnly: true),
        KeyPrefix("hf_", body: 30, alphanumericOnly: true),
        // AWS access key ids: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html
        KeyPrefix("AKIA", body: 16, exact: true, alphanumericOnly: true, upperOnly: true),
        KeyPrefix("ASIA", body: 16, exact: true, alphanumericOnly: true, upperOnly: true),
        // Google API keys: 39 characters in all.
        KeyPrefix("AIza", body: 35, exact: true),
    ]

    /// A key with a well-known prefix, a JWT or a `Bearer` token, starting at the word `index..<wordEnd`.
    private func prefixedKey(at index: Int, wordEnd: Int) -> (Int, Int)? {
        let first = bytes[index]
        if first == UInt8(ascii: "B") || first == UInt8(ascii: "b") {
            if let token = bearerToken(at: index, wordEnd: wordEnd) { return token }
        } else if first == UInt8(ascii: "e") {
            if let end = jwt(at: index, wordEnd: wordEnd) { return (index, end) }
        }
        // Every prefix plus its shortest body is 15+ characters; most words are shorter.
        guard wordEnd - index >= 15 else { return nil }
        guard Self.mayStartKey(first, bytes[index + 1]) else { return nil }
        for prefix in Self.keyPrefixes where prefix.text[0] == first {
            let bodyStart = index + prefix.text.count
            guard bodyStart <= wordEnd,
                prefix.text.indices.allSatisfy({ bytes[index + $0] == prefix.text[$0] })
            else { continue }
            let length = wordEnd - bodyStart
            guard prefix.exact ? length == prefix.body : length >= prefix.body else { continue }
            var digit = false
            var plain = true
            for position in bodyStart..<wordEnd {
                let bits = classOf(bytes[position])
                if bits & PIIMasker.digit != 0 { digit = true }
                if bits & PIIMasker.alphanumeric == 0 || (prefix.upperOnly && bits & PIIMasker.lower != 0) {
                    plain = false
                }
            }
            if (!prefix.needsDigit || digit) && (!prefix.alphanumericOnly || plain) { return (index, wordEnd) }
        }
        return nil
    }

    /// Whether a word starting with these two bytes may have a prefix of `keyPrefixes`.
    @inline(__always)
    private static func mayStartKey(_ first: UInt8, _ second: UInt8) -> Bool {
        switch (first, second) {
        case (UInt8(ascii: "s"), UInt8(ascii: "k")), (UInt8(ascii: "p"), UInt8(ascii: "k")),
            (UInt8(ascii: "r"), UInt8(ascii: "k")), (UInt8(ascii: "x"), UInt8(ascii: "o")),
            (UInt8(ascii: "x"), UInt8(ascii: "a")), (UInt8(ascii: "g"), UInt8(ascii: "l")),
            (UInt8(ascii: "g"), UInt8(ascii: "h")), (UInt8(ascii: "g"), UInt8(ascii: "i")),
            (UInt8(ascii: "n"), UInt8(ascii: "p")), (UInt8(ascii: "h"), UInt8(ascii: "f")),
            (UInt8(ascii: "A"), UInt8(ascii: "K")), (UInt8(ascii: "A"), UInt8(ascii: "S")),
            (UInt8(ascii: "A"), UInt8(ascii: "I")):
            return true
        default:
            return false
        }
    }

    private static let bearer = Array("bearer".utf8)

    /// `Bearer <token>` (RFC 6750 §2.1): the token's range, 16+ `b64token` characters with a digit.
    private func bearerToken(at index: Int, wordEnd: Int) -> (Int, Int)? {
        guard wordEnd - index == 6,
            (0..<6).allSatisfy({ bytes[index + $0] | 0x20 == Self.bearer[$0] })
        else { return nil }
        var start = wordEnd
        while at(start) == UInt8(ascii: " ") || at(start) == UInt8(ascii: "\t") { start += 1 }
        guard start > wordEnd else { return nil }
        var end = start
        var digit = false
        while end < count {
            let byte = bytes[end]
            let bits = classOf(byte)
            guard bits & PIIMasker.word != 0 || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "~")
                || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "/")
            else { break }
            if bits & PIIMasker.digit != 0 { digit = true }
            end += 1
        }
        guard end - start >= 16 && digit else { return nil }
        while at(end) == UInt8(ascii: "=") { end += 1 }
        return (start, end)
    }

    /// `eyJ…` `.` `eyJ…` `.` and an optional signature (RFC 7519 §3: the base64url of a JSON
    /// header and payload, which both start with `{"`).
    private func jwt(at index: Int, wordEnd: Int) -> Int? {
        func startsJSON(_ position: Int) -> Bool {
            at(position) == UInt8(ascii: "e") && at(position + 1) == UInt8(ascii: "y") && at(position + 2) == UInt8(ascii: "J")
        }
        guard startsJSON(index), wordEnd - index >= 10, at(wordEnd) == UInt8(ascii: ".") else { return nil }
        let payload = wordEnd + 1
        let payloadEnd = run(from: payload, PIIMasker.word)
        guard startsJSON(payload), payloadEnd - payload >= 10, at(payloadEnd) == UInt8(ascii: ".") else { return nil }
        return run(from: payloadEnd + 1, PIIMasker.word)
    }

    /// Prefixes of LLM API object ids (OpenAI, Anthropic) that appear in output metadata and
    /// are not secrets, e.g. `chatcmpl-9yQ3kFzXbT2NqLmW8vR5sPdEhGjK1a`.
    private static let idPrefixes = [
        "chatcmpl-", "cmpl-", "resp_", "msg_", "toolu_", "call_", "req_", "batch_", "file-", "run_", "thread_",
        "asst_", "step_",
    ].map { Array($0.utf8) }

    /// The generic rule: 32+ characters with a digit, both cases, not word-like and not id-like.
    private func isGenericKey(_ range: Range<Int>) -> Bool {
        guard range.count >= 32 else { return false }
        for prefix in Self.idPrefixes where range.count > prefix.count {
            if prefix.indices.allSatisfy({ bytes[range.lowerBound + $0] == prefix[$0] }) { return false }
        }
        var seen: UInt8 = 0
        var alphanumerics = 0
        var wordLike = 0
        var lowerRun = 0
        var idLike = true
        // Per part between `-`/`_`: which classes it holds, and whether all letters are a-f.
        var partBits: UInt8 = 0
        var partHex = true
        func endPart() {
            let oneCase = partBits & PIIMasker.letter != PIIMasker.letter
            let lettersOnly = partBits & PIIMasker.digit == 0
            if partBits != 0 && !lettersOnly && !(oneCase && partHex) { idLike = false }
            partBits = 0
            partHex = true
        }
        for position in range {
            let bits = classOf(bytes[position])
            if bits & PIIMasker.lower != 0 {
                lowerRun += 1
            } else {
                if lowerRun >= 3 { wordLike += lowerRun }
                lowerRun = 0
            }
            if bits & PIIMasker.joiner != 0 {
                endPart()
                continue
            }
            alphanumerics += 1
            seen |= bits
            partBits |= bits
            if bits & PIIMasker.letter != 0 && bits & PIIMasker.hexLetter == 0 { partHex = false }
        }
        if lowerRun >= 3 { wordLike += lowerRun }
        endPart()
        let mixed = seen & PIIMasker.alphanumeric == PIIMasker.alphanumeric
        return mixed && !idLike && wordLike * 2 < alphanumerics
    }
}
