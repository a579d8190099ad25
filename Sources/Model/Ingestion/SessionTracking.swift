/// The session-tracking attributes of one trace (one turn), read from its metadata.
///
/// Apps instrumented for session tracking send `session.*`, `conversation.*`, `turn.*`,
/// `user.tier`/`user.org_id`, `journey.*`, `dropoff.*` and `context.*` as span attributes (OTLP)
/// or as trace metadata (`/api/public/ingestion`). Both paths keep them in the trace's metadata
/// under their own names; this type lifts the ones analytics need into typed values, which the
/// store writes to columns (docs/DATA_MODEL.md, "Session-tracking columns").
///
/// A key may be flat (`{"turn.number": 3}`, the OTel form) or nested (`{"turn": {"number": 3}}`,
/// what a Python dict of dicts gives); flat wins. Numbers sent as text (`"3"`, as OTLP/JSON
/// does for 64-bit integers) are accepted; a value of the wrong kind, or a number outside its
/// `ValueBounds` range, is ignored (it stays in the metadata as sent), never an error.
package struct SessionTracking: Sendable, Equatable {
    package var sessionType: String?
    package var sessionChannel: String?
    package var sessionClientVersion: String?
    package var sessionLocale: String?
    package var sessionEndReason: String?

    package var conversationID: String?
    package var conversationTopic: String?
    package var conversationTotalTurns: Int64?

    /// `turn.number`, else `conversation.turn_number` (also the bare `turn_number` and `turn`
    /// keys older clients send).
    package var turnNumber: Int64?
    package var turnID: String?
    package var turnRole: String?
    package var turnInputType: String?
    package var turnOutputType: String?
    /// The latency the app measured for the turn, when it sent one.
    package var turnLatencyMs: Int64?
    /// A count, or the length of a list of calls.
    package var turnToolCalls: Int64?

    package var contextTokens: Int64?
    package var contextLimit: Int64?
    /// Percent of the context window in use, 0–100.
    package var contextWindowPercent: Double?
    package var contextPruned: Bool?
    package var contextMessagesPruned: Int64?

    package var userTier: String?
    package var userOrgID: String?

    package var journeyName: String?
    package var journeyStage: String?
    package var journeyStageNumber: Int64?
    package var journeyTotalStages: Int64?
    package var journeyConverted: Bool?
    package var journeyConversionTurn: Int64?
    package var journeyTimeInStageMs: Int64?

    package var dropoffLastIntent: String?
    package var dropoffAgentLastAction: String?

    package init() {}

    /// Reads the attributes from a trace's merged metadata (a JSON object, or nil).
    package init(metadata: JSONValue?) {
        self.init()
        guard let metadata, metadata.objectValue != nil else { return }
        let m = Lookup(metadata)
        sessionType = m.text("session.type")
        sessionChannel = m.text("session.channel") ?? m.text("channel")
        sessionClientVersion = m.text("session.client_version")
        sessionLocale = m.text("session.locale")
        sessionEndReason = m.text("session.end_reason")

        conversationID = m.text("conversation.id")
        conversationTopic = m.text("conversation.topic")
        conversationTotalTurns = m.int("conversation.total_turns", in: ValueBounds.ordinal)

        turnNumber = m.int("turn.number", in: ValueBounds.ordinal) ?? m.int("conversation.turn_number", in: ValueBounds.ordinal)
            ?? m.int("turn_number", in: ValueBounds.ordinal) ?? m.int("turn", in: ValueBounds.ordinal)
        turnID = m.text("turn.id")
        turnRole = m.text("turn.role")
        turnInputType = m.text("turn.input_type")
        turnOutputType = m.text("turn.output_type")
        turnLatencyMs = m.int("turn.latency_ms", in: ValueBounds.durationMs)
        turnToolCalls = m.int("turn.tool_calls", in: ValueBounds.ordinal) ?? m.count("turn.tool_calls")

        contextTokens = m.int("conversation.context_tokens", in: ValueBounds.tokens) ?? m.int("context.tokens", in: ValueBounds.tokens)
            ?? m.int("context.token_count", in: ValueBounds.tokens)
        contextLimit = m.int("conversation.context_limit", in: ValueBounds.tokens) ?? m.int("conversation.context_window", in: ValueBounds.tokens)
            ?? m.int("context.limit", in: ValueBounds.tokens) ?? m.int("context.window", in: ValueBounds.tokens)
            ?? m.int("context.max_tokens", in: ValueBounds.tokens)
        contextWindowPercent = m.double("conversation.context_window_pct", in: ValueBounds.percent)
            ?? m.double("context.window_pct", in: ValueBounds.percent) ?? m.double("context.utilization_pct", in: ValueBounds.percent)
        contextPruned = m.bool("conversation.context_pruned") ?? m.bool("context.pruned")
        contextMessagesPruned = m.int("conversation.context_messages_pruned", in: ValueBounds.ordinal)
            ?? m.int("context.messages_pruned", in: ValueBounds.ordinal)

        userTier = m.text("user.tier")
        userOrgID = m.text("user.org_id")

        journeyName = m.text("journey.name")
        journeyStage = m.text("journey.stage")
        journeyStageNumber = m.int("journey.stage_number", in: ValueBounds.ordinal)
        journeyTotalStages = m.int("journey.total_stages", in: ValueBounds.ordinal)
        journeyConverted = m.bool("journey.converted")
        journeyConversionTurn = m.int("journey.conversion_turn", in: ValueBounds.ordinal)
        journeyTimeInStageMs = m.int("journey.time_in_stage_ms", in: ValueBounds.durationMs)

        dropoffLastIntent = m.text("dropoff.last_intent")
        dropoffAgentLastAction = m.text("dropoff.agent_last_action")
    }

    /// Finds a dotted key flat or nested, and coerces its value.
    private struct Lookup {
        let root: JSONValue

        init(_ root: JSONValue) { self.root = root }

        /// `key` flat (`{"turn.number": 3}`) or as a path of nested objects
        /// (`{"turn": {"number": 3}}`). The path is walked on UTF-8 dots and gives up at the first
        /// missing part, without building the parts first: these lookups run about 40 times per
        /// trace write, and splitting every key into an array was a tenth of single-event
        /// ingestion (docs/BENCHMARKS.md; splitting by Character, before that, a third).
        func value(_ key: String) -> JSONValue? {
            if let flat = root[key], !flat.isNull { return flat }
            var rest = key.utf8[...]
            // Without a dot the nested form is the flat one, already looked up.
            guard rest.contains(UInt8(ascii: ".")) else { return nil }
            var current = root
            while true {
                let dot = rest.firstIndex(of: UInt8(ascii: ".")) ?? rest.endIndex
                guard let next = current[String(Substring(rest[..<dot]))] else { return nil }
                current = next
                guard dot < rest.endIndex else { break }
                rest = rest[rest.index(after: dot)...]
            }
            return current.isNull ? nil : current
        }

        func text(_ key: String) -> String? {
            switch value(key) {
            case .string(let text)?: text.isEmpty ? nil : text
            case .number(let text)?: text
            case .bool(let flag)?: flag ? "true" : "false"
            default: nil
            }
        }

        /// A number within `bounds`; anything else counts as not sent.
        func double(_ key: String, in bounds: ClosedRange<Double>) -> Double? {
            switch value(key) {
            case .number(let text)?: Double(text).flatMap { bounds.contains($0) ? $0 : nil }
            case .string(let text)?: Double(text.trimmingSpaces).flatMap { bounds.contains($0) ? $0 : nil }
            default: nil
            }
        }

        /// A whole number within `bounds`; anything else counts as not sent.
        func int(_ key: String, in bounds: ClosedRange<Int64>) -> Int64? {
            int(key).flatMap { bounds.contains($0) ? $0 : nil }
        }

        private func int(_ key: String) -> Int64? {
            switch value(key) {
            case let number?:
                if let whole = number.intValue { return whole }
                guard case .string(let text) = number else { return nil }
                let trimmed = text.trimmingSpaces
                if let whole = Int64(trimmed) { return whole }
                guard let double = Double(trimmed), double.rounded() == double, abs(double) < 9.2e18 else { return nil }
                return Int64(double)
            case nil: return nil
            }
        }

        func bool(_ key: String) -> Bool? {
            switch value(key) {
            case .bool(let flag)?: flag
            case .number(let text)?: Double(text).map { $0 != 0 }
            case .string(let text)?:
                switch text.lowercased() {
                case "true", "yes", "1": true
                case "false", "no", "0": false
                default: nil
                }
            default: nil
            }
        }

        func count(_ key: String) -> Int64? {
            value(key)?.arrayValue.map { Int64($0.count) }
        }
    }
}

extension String {
    fileprivate var trimmingSpaces: Substring {
        let start = firstIndex { $0 != " " } ?? endIndex
        let end = lastIndex { $0 != " " }.map(index(after:)) ?? start
        return self[start..<max(start, end)]
    }
}
