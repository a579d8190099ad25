/// A regular expression from a safe subset, matched in linear time (a Pike VM: every thread of
/// the automaton advances in lock step, so no input can make it backtrack).
///
/// Model prices carry regexes (`matchPattern`, a tier's `usageDetailPattern`), and a project can
/// POST its own: a backtracking engine would let one pattern such as `(a+)+$` stall the writer
/// for minutes on a 30-character model name. The subset (docs/DATA_MODEL.md, "Model prices")
/// is what Langfuse's published table uses:
///
/// * a leading `(?i)` (case-insensitive, ASCII letters);
/// * literals, `.`, escapes of punctuation (`\.`, `\/`, `\-`, …), `\d \D \w \W \s \S`;
/// * classes `[a-z0-9_]`, `[^…]`, with ranges and the same escapes;
/// * groups `( … )` and `(?: … )`, alternation `|`;
/// * quantifiers `? * +` and `{n}`, `{n,}`, `{n,m}` up to `maxRepeat`, optionally lazy (`*?`),
///   which changes nothing for a yes/no match;
/// * anchors `^` and `$`.
///
/// Anything else (back-references, look-around, named groups, possessive quantifiers, `\b`, …)
/// is refused with a reason. Matching is a search, like PostgreSQL's `~` and JavaScript's
/// `test`: the pattern may match anywhere unless anchored. Its cost is at most
/// `program size × text length` steps; both are bounded (`maxLength`, `maxProgram`).
package struct SafePattern: Sendable, Equatable, CustomStringConvertible {
    /// Longest pattern accepted, in Unicode scalars.
    package static let maxLength = 1_000
    /// Largest `n` or `m` in `{n,m}`.
    package static let maxRepeat = 100
    /// Largest compiled program (instructions): counted repeats copy their operand.
    package static let maxProgram = 10_000

    /// The pattern as written.
    package let source: String
    /// True when the pattern started with `(?i)`, or when compiled case-insensitive.
    package let caseInsensitive: Bool
    private let program: [Instruction]
    /// True when the pattern starts with `^`: threads start at position 0 only, so a pattern
    /// that cannot match a name's beginning costs a few steps, not one pass per position.
    private let anchored: Bool

    package var description: String { source }

    package static func == (lhs: SafePattern, rhs: SafePattern) -> Bool {
        lhs.source == rhs.source && lhs.caseInsensitive == rhs.caseInsensitive
    }

    /// Why a pattern was refused.
    package struct SyntaxError: Error, Equatable, CustomStringConvertible {
        package let message: String
        package var description: String { message }
    }

    /// Compiles `source`; `caseInsensitive` applies as if the pattern began with `(?i)`.
    package init(_ source: String, caseInsensitive: Bool = false) throws(SyntaxError) {
        let scalars = Array(source.unicodeScalars)
        guard scalars.count <= Self.maxLength else {
            throw SyntaxError(message: "pattern is longer than \(Self.maxLength) characters")
        }
        var parser = Parser(scalars: scalars)
        var insensitive = caseInsensitive
        if parser.consume("(?i)") { insensitive = true }
        let node = try parser.parseAlternation()
        guard parser.index == scalars.count else {
            throw SyntaxError(message: "unexpected \")\" at offset \(parser.index)")
        }
        var compiler = Compiler(caseInsensitive: insensitive)
        try compiler.emit(node)
        compiler.program.append(.match)
        self.source = source
        self.caseInsensitive = insensitive
        self.program = compiler.program
        if case .assertStart = compiler.program[0] { anchored = true } else { anchored = false }
    }

    /// The compiled program's size (instructions): a match costs at most this many steps per
    /// character of the text.
    package var programSize: Int { program.count }

    /// True when the pattern matches somewhere in `text`.
    package func matches(_ text: String) -> Bool {
        matches(Array(text.unicodeScalars).map(\.value))
    }

    /// True when the pattern matches somewhere in `text` (Unicode scalar values).
    package func matches(_ text: [UInt32]) -> Bool {
        var budget = Int.max
        return matches(text, budget: &budget) ?? false
    }

    /// Whether the pattern matches somewhere in `text`, spending at most `budget` automaton steps
    /// (each instruction a thread visits); nil when the budget ran out first. `budget` is left
    /// with what remains, so one budget can be shared by many patterns.
    package func matches(_ text: [UInt32], budget: inout Int) -> Bool? {
        let input = caseInsensitive ? text.map(Self.lower) : text
        var marks = [Int](repeating: -1, count: program.count)
        var current: [Int] = []
        var next: [Int] = []
        var stack: [Int] = []
        current.reserveCapacity(program.count)
        next.reserveCapacity(program.count)
        for position in 0...input.count {
            // Unanchored search: a new thread starts at every position (only at 0 when anchored).
            if position == 0 || !anchored {
                if addThread(0, at: position, length: input.count, into: &current, marks: &marks, stack: &stack, budget: &budget) {
                    return true
                }
            } else if current.isEmpty {
                return false
            }
            guard budget > 0 else { return nil }
            guard position < input.count else { break }
            let scalar = input[position]
            next.removeAll(keepingCapacity: true)
            budget -= current.count
            for pc in current {
                let advances: Bool
                switch program[pc] {
                case .scalar(let expected): advances = scalar == expected
                case .any: advances = true
                case .set(let set): advances = set.contains(scalar, caseInsensitive: caseInsensitive)
                default: advances = false
                }
                if advances, addThread(pc + 1, at: position + 1, length: input.count, into: &next, marks: &marks, stack: &stack,
                                       budget: &budget) {
                    return true
                }
            }
            guard budget > 0 else { return nil }
            swap(&current, &next)
        }
        return false
    }

    /// Adds `start` and every instruction reachable from it without consuming input (the
    /// epsilon closure) to `list`, each once per position; true when that reaches `match`.
    private func addThread(
        _ start: Int, at position: Int, length: Int, into list: inout [Int], marks: inout [Int], stack: inout [Int],
        budget: inout Int
    ) -> Bool {
        stack.append(start)
        while let pc = stack.popLast() {
            guard marks[pc] != position else { continue }
            marks[pc] = position
            budget -= 1
            switch program[pc] {
            case .match:
                stack.removeAll(keepingCapacity: true)
                return true
            case .jump(let target): stack.append(target)
            case .split(let first, let second):
                stack.append(second)
                stack.append(first)
            case .assertStart: if position == 0 { stack.append(pc + 1) }
            case .assertEnd: if position == length { stack.append(pc + 1) }
            case .scalar, .any, .set: list.append(pc)
            }
        }
        return false
    }

    static func lower(_ scalar: UInt32) -> UInt32 {
        (65...90).contains(scalar) ? scalar + 32 : scalar
    }

    static func upper(_ scalar: UInt32) -> UInt32 {
        (97...122).contains(scalar) ? scalar - 32 : scalar
    }

    // MARK: Program

    enum Instruction: Sendable {
        case scalar(UInt32)
        case any
        case set(ScalarSet)
        case split(Int, Int)
        case jump(Int)
        case assertStart
        case assertEnd
        case match
    }

    struct ScalarSet: Sendable {
        var ranges: [ClosedRange<UInt32>] = []
        var negated = false

        func contains(_ scalar: UInt32, caseInsensitive: Bool) -> Bool {
            var found = ranges.contains { $0.contains(scalar) }
            if !found && caseInsensitive {
                // The input was lowered; a class may name upper-case letters only.
                let other = SafePattern.upper(scalar)
                found = other != scalar && ranges.contains { $0.contains(other) }
            }
            return found != negated
        }

        static let digits = ScalarSet(ranges: [48...57])
        static let word = ScalarSet(ranges: [48...57, 65...90, 95...95, 97...122])
        static let space = ScalarSet(ranges: [9...13, 32...32])
    }

    indirect enum Node {
        case empty
        case scalar(UInt32)
        case any
        case set(ScalarSet)
        case sequence([Node])
        case alternation([Node])
        case repeated(Node, min: Int, max: Int?)
        case start
        case end
    }

    // MARK: Parser

    struct Parser {
        let scalars: [Unicode.Scalar]
        var index = 0
        var depth = 0

        /// Groups nest at most this deep, so parsing and compiling recurse a bounded amount.
        static let maxDepth = 50

        var peek: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

        mutating func consume(_ text: String) -> Bool {
            let wanted = Array(text.unicodeScalars)
            guard index + wanted.count <= scalars.count, Array(scalars[index..<index + wanted.count]) == wanted else { return false }
            index += wanted.count
            return true
        }

        func error(_ message: String) -> SyntaxError {
            SyntaxError(message: "\(message) at offset \(index)")
        }

        mutating func parseAlternation() throws(SyntaxError) -> Node {
            var branches = [try parseSequence()]
            while peek == "|" {
                index += 1
                branches.append(try parseSequence())
            }
            return branches.count == 1 ? branches[0] : .alternation(branches)
        }

        mutating func parseSequence() throws(SyntaxError) -> Node {
            var items: [Node] = []
            while let scalar = peek, scalar != "|", scalar != ")" {
                var atom = try parseAtom()
                atom = try parseQuantifiers(atom)
                items.append(atom)
            }
            return items.isEmpty ? .empty : (items.count == 1 ? items[0] : .sequence(items))
        }

        mutating func parseQuantifiers(_ atom: Node) throws(SyntaxError) -> Node {
            var node = atom
            var quantified = false
            while let scalar = peek {
                let bounds: (Int, Int?)
                switch scalar {
                case "?": bounds = (0, 1); index += 1
                case "*": bounds = (0, nil); index += 1
                case "+": bounds = (1, nil); index += 1
                case "{":
                    guard let parsed = try parseBraces() else { return node }
                    bounds = parsed
                default: return node
                }
                if quantified { throw error("a quantifier cannot follow another") }
                if case .start = node { throw error("nothing to repeat") }
                if case .end = node { throw error("nothing to repeat") }
                node = .repeated(node, min: bounds.0, max: bounds.1)
                quantified = true
                if peek == "?" { index += 1 }  // lazy: the same yes/no answer
                if peek == "+" { throw error("possessive quantifiers are not supported") }
            }
            return node
        }

        /// `{n}`, `{n,}`, `{n,m}`; nil (and nothing consumed) when the brace is a literal.
        mutating func parseBraces() throws(SyntaxError) -> (Int, Int?)? {
            let start = index
            index += 1
            func number(_ parser: inout Parser) -> Int? {
                var value = 0
                var digits = 0
                while let scalar = parser.peek, ("0"..."9").contains(scalar) {
                    value = min(value * 10 + Int(scalar.value - 48), 1_000_000)
                    digits += 1
                    parser.index += 1
                }
                return digits > 0 ? value : nil
            }
            guard let low = number(&self) else {
                index = start
                return nil
            }
            var high: Int? = low
            if peek == "," {
                index += 1
                high = number(&self)
            }
            guard peek == "}" else {
                index = start
                return nil
            }
            index += 1
            guard low <= SafePattern.maxRepeat, (high ?? 0) <= SafePattern.maxRepeat else {
                throw error("a repeat count is larger than \(SafePattern.maxRepeat)")
            }
            if let high, high < low { throw error("a repeat range is reversed") }
            return (low, high)
        }

        mutating func parseAtom() throws(SyntaxError) -> Node {
            guard let scalar = peek else { throw error("unexpected end") }
            index += 1
            switch scalar {
            case ".": return .any
            case "^": return .start
            case "$": return .end
            case "[": return .set(try parseClass())
            case "\\": return try parseEscape(inClass: false).node
            case "*", "+", "?": throw error("nothing to repeat")
            case "(":
                if peek == "?" {
                    guard consume("?:") else { throw error("only (?: …) groups and a leading (?i) are supported") }
                }
                depth += 1
                guard depth <= Self.maxDepth else { throw error("groups nest deeper than \(Self.maxDepth)") }
                let inner = try parseAlternation()
                depth -= 1
                guard peek == ")" else { throw error("missing \")\"") }
                index += 1
                return inner
            default: return .scalar(scalar.value)
            }
        }

        enum Escape {
            case scalar(UInt32)
            case set(ScalarSet)
            var node: Node {
                switch self {
                case .scalar(let value): .scalar(value)
                case .set(let set): .set(set)
                }
            }
        }

        mutating func parseEscape(inClass: Bool) throws(SyntaxError) -> Escape {
            guard let scalar = peek else { throw error("a pattern cannot end with \\") }
            index += 1
            switch scalar {
            case "d": return .set(.digits)
            case "w": return .set(.word)
            case "s": return .set(.space)
            case "D": return .set(ScalarSet(ranges: ScalarSet.digits.ranges, negated: true))
            case "W": return .set(ScalarSet(ranges: ScalarSet.word.ranges, negated: true))
            case "S": return .set(ScalarSet(ranges: ScalarSet.space.ranges, negated: true))
            case "n": return .scalar(10)
            case "t": return .scalar(9)
            default:
                // Escaped punctuation is a literal; letters and digits would be back-references,
                // word boundaries or other classes this subset does not have.
                guard scalar.isASCII, !scalar.properties.isAlphabetic, !("0"..."9").contains(scalar) else {
                    throw error("unsupported escape \\\(scalar)")
                }
                return .scalar(scalar.value)
            }
        }

        mutating func parseClass() throws(SyntaxError) -> ScalarSet {
            var set = ScalarSet()
            if peek == "^" {
                set.negated = true
                index += 1
            }
            var first = true
            while true {
                guard let scalar = peek else { throw error("missing \"]\"") }
                if scalar == "]" && !first {
                    index += 1
                    return set
                }
                first = false
                index += 1
                let low: UInt32
                if scalar == "\\" {
                    switch try parseEscape(inClass: true) {
                    case .scalar(let value): low = value
                    case .set(let inner):
                        guard !inner.negated else { throw error("negated classes inside a class are not supported") }
                        set.ranges += inner.ranges
                        continue
                    }
                } else if scalar == "[" && peek == ":" {
                    throw error("POSIX classes are not supported")
                } else {
                    low = scalar.value
                }
                // A range `a-z`; a `-` first or last is a literal.
                if peek == "-", index + 1 < scalars.count, scalars[index + 1] != "]" {
                    index += 1
                    guard let end = peek else { throw error("missing \"]\"") }
                    index += 1
                    var high = end.value
                    if end == "\\" {
                        guard case .scalar(let value) = try parseEscape(inClass: true) else {
                            throw error("a range cannot end with a class")
                        }
                        high = value
                    }
                    guard low <= high else { throw error("a class range is reversed") }
                    set.ranges.append(low...high)
                } else {
                    set.ranges.append(low...low)
                }
            }
        }
    }

    // MARK: Compiler

    struct Compiler {
        let caseInsensitive: Bool
        var program: [Instruction] = []

        mutating func append(_ instruction: Instruction) throws(SyntaxError) {
            guard program.count < SafePattern.maxProgram else {
                throw SyntaxError(message: "pattern is too complex (more than \(SafePattern.maxProgram) steps)")
            }
            program.append(instruction)
        }

        mutating func emit(_ node: Node) throws(SyntaxError) {
            switch node {
            case .empty: break
            case .scalar(let value): try append(.scalar(caseInsensitive ? SafePattern.lower(value) : value))
            case .any: try append(.any)
            case .set(let set): try append(.set(set))
            case .start: try append(.assertStart)
            case .end: try append(.assertEnd)
            case .sequence(let items):
                for item in items { try emit(item) }
            case .alternation(let branches):
                // split L1, next; L1: branch; jump end; next: split L2, … ; last branch
                var jumps: [Int] = []
                for (offset, branch) in branches.enumerated() {
                    if offset < branches.count - 1 {
                        let split = program.count
                        try append(.split(split + 1, -1))
                        try emit(branch)
                        jumps.append(program.count)
                        try append(.jump(-1))
                        program[split] = .split(split + 1, program.count)
                    } else {
                        try emit(branch)
                    }
                }
                for jump in jumps { program[jump] = .jump(program.count) }
            case .repeated(let inner, let low, let high):
                for _ in 0..<low { try emit(inner) }
                if let high {
                    // Each optional copy: split body, end.
                    var splits: [Int] = []
                    for _ in low..<high {
                        splits.append(program.count)
                        try append(.split(program.count + 1, -1))
                        try emit(inner)
                    }
                    for split in splits { program[split] = .split(split + 1, program.count) }
                } else {
                    // loop: split body, end; body; jump loop
                    let loop = program.count
                    try append(.split(loop + 1, -1))
                    try emit(inner)
                    try append(.jump(loop))
                    program[loop] = .split(loop + 1, program.count)
                }
            }
        }
    }
}
